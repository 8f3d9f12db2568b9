import Testing
import SpinePlanModel

@Suite struct ModelErrorTests {
    @Test("a model error describes itself by its message")
    func describes() {
        let error = ModelError(.truncatedFile, "weights.safetensors ends at byte 12 of 400")
        #expect("\(error)" == "weights.safetensors ends at byte 12 of 400")
        #expect(error.code == .truncatedFile)
    }
}
