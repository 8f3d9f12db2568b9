import Foundation
import Testing
import SpinePlanModel
import SpinePlanTestSupport

/// The weights loader against the shipped file and against broken copies of it made in a temporary directory.
@Suite(.enabled(if: ModelFiles.haveWeights, "no weights in Sources/SpinePlanModel/Weights"))
struct ModelWeightsTests {
    /// The shipped tensors in the architecture's order, ready to be rewritten.
    func shippedTensors() throws -> [SafeTensorsWriter.Tensor] {
        let weights = try ModelWeights.load(weights: ModelFiles.weights)
        return weights.architecture.tensors.map { SafeTensorsWriter.Tensor(name: $0.name, shape: $0.shape, values: weights.tensors[$0.name]!) }
    }

    /// A temporary copy: `weights` bytes and the sidecar (original or replaced). Returns the weights path.
    func copy(weights: Data? = nil, sidecar: Data? = nil, in directory: TemporaryDirectory) throws -> String {
        let path = directory.appending("spineplan-vnet.safetensors")
        try (weights ?? Data(contentsOf: URL(fileURLWithPath: ModelFiles.weights))).write(to: URL(fileURLWithPath: path))
        let sidecarBytes = try sidecar ?? Data(contentsOf: URL(fileURLWithPath: ModelWeights.sidecarPath(for: ModelFiles.weights)))
        try sidecarBytes.write(to: URL(fileURLWithPath: ModelWeights.sidecarPath(for: path)))
        return path
    }

    func loadError(_ path: String) -> ModelError? {
        do {
            _ = try ModelWeights.load(weights: path)
            return nil
        } catch {
            return error
        }
    }

    @Test("the shipped weights hold every tensor the sidecar's architecture names, with finite values")
    func loadsShipped() throws {
        let weights = try ModelWeights.load(weights: ModelFiles.weights)
        let file = try SafeTensorsFile(path: ModelFiles.weights)
        #expect(Set(weights.architecture.tensors.map(\.name)) == Set(file.entries.keys))
        for (name, shape) in weights.architecture.tensors {
            #expect(weights.tensors[name]?.count == shape.reduce(1, *), "\(name)")
            #expect(weights.tensors[name]?.allSatisfy(\.isFinite) == true, "\(name)")
        }
        #expect(weights.modelName == "\(weights.sidecar.name)@\(weights.sidecar.version)")
        #expect(weights.sidecar.classes.first == "background")
    }

    @Test("a missing weights file or sidecar is a missingFile error naming the file")
    func missingFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let absent = directory.appending("nothing.safetensors")
        let error = loadError(absent)
        #expect(error?.code == .missingFile)
        #expect(error?.message.contains("nothing.json") == true, "sidecar is read first: \(error?.message ?? "")")
        let path = try copy(in: directory)
        try FileManager.default.removeItem(atPath: path)
        let noWeights = loadError(path)
        #expect(noWeights?.code == .missingFile)
        #expect(noWeights?.message.contains(path) == true)
    }

    @Test("a file cut short is a truncatedFile error naming the file and the first tensor it cuts")
    func truncated() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: ModelFiles.weights))
        let file = try SafeTensorsFile(path: ModelFiles.weights)
        // Cut inside the tensor whose data ends last.
        let last = try #require(file.entries.max { $0.value.range.upperBound < $1.value.range.upperBound })
        let path = try copy(weights: bytes.prefix(bytes.count - 6), in: directory)
        let error = loadError(path)
        #expect(error?.code == .truncatedFile)
        #expect(error?.message.contains(last.key) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains(path) == true)
        // Cut inside the header, and before the header length.
        #expect(loadError(try copy(weights: bytes.prefix(40), in: directory))?.code == .truncatedFile)
        #expect(loadError(try copy(weights: bytes.prefix(5), in: directory))?.code == .truncatedFile)
    }

    @Test("a header that is not JSON is a malformedHeader error")
    func corruptHeader() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: ModelFiles.weights))
        bytes[8] = UInt8(ascii: "#")
        bytes[9] = UInt8(ascii: "!")
        #expect(loadError(try copy(weights: bytes, in: directory))?.code == .malformedHeader)
    }

    @Test("a tensor with the wrong shape, dtype, or missing, or an extra tensor, is a mismatchedTensor error naming it")
    func mismatchedTensors() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let tensors = try shippedTensors()
        func check(_ name: String, _ change: (inout [SafeTensorsWriter.Tensor]) -> Void) throws {
            var changed = tensors
            change(&changed)
            let error = loadError(try copy(weights: SafeTensorsWriter(tensors: changed).bytes(), in: directory))
            #expect(error?.code == .mismatchedTensor, "\(name): \(error?.message ?? "no error")")
            #expect(error?.message.contains(name) == true, "\(error?.message ?? "")")
        }
        // The same bytes under a transposed shape.
        try check("head.conv.weight") { t in
            let i = t.firstIndex { $0.name == "head.conv.weight" }!
            t[i].shape = [t[i].shape[1], t[i].shape[0], 1, 1, 1]
        }
        try check("dec0.out_act.weight") { t in t.removeAll { $0.name == "dec0.out_act.weight" } }
        try check("in.act.weight") { t in t[t.firstIndex { $0.name == "in.act.weight" }!].dtype = "F64" }
        try check("down2.conv.bias") { t in t[t.firstIndex { $0.name == "down2.conv.bias" }!].values[1] = .nan }
        try check("enc0.block.7.conv.weight") { t in t.append(.init(name: "enc0.block.7.conv.weight", shape: [2], values: [1, 2])) }
        // The untouched tensors rewritten by the test writer load: the writer is not what fails.
        #expect(loadError(try copy(weights: SafeTensorsWriter(tensors: tensors).bytes(), in: directory)) == nil)
    }

    @Test("the shipped sidecar carries an abstention threshold in 0...1; one outside it is a malformedHeader error")
    func levelProbabilityThreshold() throws {
        let shipped = try ModelSidecar.read(path: ModelWeights.sidecarPath(for: ModelFiles.weights))
        let threshold = try #require(shipped.minimumLevelProbability, "the shipped model has no minimum_level_probability")
        // 0 is a valid choice: it says the calibration found no threshold needed beyond the count's own checks.
        #expect((0..<1).contains(threshold))
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let original = try Data(contentsOf: URL(fileURLWithPath: ModelWeights.sidecarPath(for: ModelFiles.weights)))
        var json = try #require(try JSONSerialization.jsonObject(with: original) as? [String: Any])
        json["minimum_level_probability"] = 1.5
        let error = loadError(try copy(sidecar: try JSONSerialization.data(withJSONObject: json), in: directory))
        #expect(error?.code == .malformedHeader)
        #expect(error?.message.contains("minimum_level_probability") == true, "\(error?.message ?? "no error")")
        json["minimum_level_probability"] = nil
        let older = try copy(sidecar: try JSONSerialization.data(withJSONObject: json), in: directory)
        #expect(try ModelWeights.load(weights: older).sidecar.minimumLevelProbability == nil, "older sidecars still load")
    }

    @Test("a sidecar describing another architecture fails: wider channels name a tensor, an unknown topology is refused")
    func mismatchedSidecar() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let original = try Data(contentsOf: URL(fileURLWithPath: ModelWeights.sidecarPath(for: ModelFiles.weights)))
        var json = try #require(try JSONSerialization.jsonObject(with: original) as? [String: Any])
        let channels = try #require(json["channels"] as? [Int])
        json["channels"] = channels.map { $0 * 2 }
        let wider = loadError(try copy(sidecar: try JSONSerialization.data(withJSONObject: json), in: directory))
        #expect(wider?.code == .mismatchedTensor)
        #expect(wider?.message.contains("in.conv.weight") == true, "\(wider?.message ?? "")")
        json["channels"] = channels
        let classes = try #require(json["classes"] as? [String])
        json["classes"] = classes + [classes[1]]
        #expect(loadError(try copy(sidecar: try JSONSerialization.data(withJSONObject: json), in: directory))?.code == .unsupportedArchitecture)
        json["classes"] = classes
        json["architecture"] = "UNet3D"
        let other = loadError(try copy(sidecar: try JSONSerialization.data(withJSONObject: json), in: directory))
        #expect(other?.code == .unsupportedArchitecture)
        json.removeValue(forKey: "architecture")
        let incomplete = loadError(try copy(sidecar: try JSONSerialization.data(withJSONObject: json), in: directory))
        #expect(incomplete?.code == .malformedHeader)
        #expect(incomplete?.message.contains("architecture") == true, "\(incomplete?.message ?? "")")
    }

    @Test("Localizer.load refuses broken weights with the loader's error, so the daemon cannot start on them")
    func localizerRefuses() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: ModelFiles.weights))
        let path = try copy(weights: bytes.prefix(bytes.count / 2), in: directory)
        let error = await #expect(throws: ModelError.self) {
            _ = try await Localizer.load(weights: path, precision: .auto, logger: ModelFiles.logger)
        }
        #expect(error?.code == .truncatedFile)
    }

    @Test("the weights ship as a package resource, byte for byte the files in Sources/SpinePlanModel/Weights")
    func bundled() throws {
        let source = PythonPeer.packageRoot.appendingPathComponent("Sources/SpinePlanModel/Weights/spineplan-vnet.safetensors").path
        let bundled = try #require(Localizer.bundledWeightsPath)
        #expect(FileManager.default.contentsEqual(atPath: bundled, andPath: source))
        #expect(FileManager.default.contentsEqual(atPath: ModelWeights.sidecarPath(for: bundled), andPath: ModelWeights.sidecarPath(for: source)))
    }
}
