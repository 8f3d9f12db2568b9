import Foundation
import Testing
import SpinePlanDICOM
import SpinePlanGeometry
import SpinePlanModel
import SpinePlanTestSupport

/// Pre- and post-processing: input checks, the model grid against the numpy reference, and argmax.
@Suite struct PreprocessorTests {
    /// A small grid: these checks are about input validation, not resampling cost.
    let preprocessor = Preprocessor(modelGrid: ModelGrid(shape: SIMD3(16, 16, 4), inPlaneSpacing: 2.5))

    func slice(_ uid: String, x: Double, column: Vector3 = Vector3(0, 0, -1), pixels: Float = 100) -> LocalizerImage {
        let plane = ImagePlane(position: Vector3(x, -100, 100), rowDirection: Vector3(0, 1, 0), columnDirection: column,
                               pixelSpacing: SIMD2(1, 1), rows: 64, columns: 64)
        return LocalizerImage(plane: plane, pixels: [Float](repeating: pixels, count: 64 * 64))
    }

    func code(_ body: () throws(ModelError) -> Void) -> ModelError.Code? {
        do {
            try body()
            return nil
        } catch {
            return error.code
        }
    }

    @Test("no slices, tilted slices, a plane that does not match its pixels or no signal are bad input")
    func badInput() {
        #expect(code { () throws(ModelError) in _ = try preprocessor.prepare([]) } == .badInput)
        let tilted = slice("2", x: 4, column: Vector3(0.2, 0, -1).normalized)
        #expect(code { () throws(ModelError) in _ = try preprocessor.prepare([slice("1", x: 0), tilted]) } == .badInput)
        var cropped = slice("2", x: 4)
        cropped.pixels.removeLast(64)
        #expect(code { () throws(ModelError) in _ = try preprocessor.prepare([slice("1", x: 0), cropped]) } == .badInput)
        #expect(code { () throws(ModelError) in _ = try preprocessor.prepare([slice("1", x: 0, pixels: 0)]) } == .badInput)
        #expect(code { () throws(ModelError) in _ = try preprocessor.prepare([slice("1", x: 0), slice("2", x: 4)]) } == nil)
    }

    @Test("the argmax and its probability per voxel become labels and confidence")
    func postprocess() throws {
        let grid = try #require(VoxelGrid(size: SIMD3(3, 1, 1), origin: .zero, axes: .identity))
        // Channels-last [voxels, classes]: voxel 0 → class 2, voxel 1 → class 0, voxel 2 → class 1.
        let probabilities: [Float] = [0.1, 0.3, 0.6, 0.7, 0.2, 0.1, 0.2, 0.5, 0.3]
        let segmentation = Postprocessor(classNames: ["background", "L4", "L4/L5"]).segmentation(probabilities: probabilities, grid: grid)
        #expect(segmentation.labels.voxels == [2, 0, 1])
        #expect(segmentation.confidence == [0.6, 0.7, 0.5])
        #expect(segmentation.classNames == ["background", "L4", "L4/L5"])
    }

    @Test("confidence is the probability of the argmax's kind: a disc spread over two level names is still sure")
    func postprocessKinds() throws {
        let grid = try #require(VoxelGrid(size: SIMD3(2, 1, 1), origin: .zero, axes: .identity))
        let names = ["background", "L4", "L5", "L4/L5", "L5/S1", "S1"]
        // Voxel 0: disc 0.45 + 0.4 over two names; voxel 1: L5 0.35, S1 0.3 (different kinds), background 0.35 - 1e-3.
        let probabilities: [Float] = [0.05, 0.05, 0.05, 0.45, 0.4, 0.0,
                                      0.349, 0.0, 0.351, 0.0, 0.0, 0.3]
        let segmentation = Postprocessor(classNames: names).segmentation(probabilities: probabilities, grid: grid)
        #expect(segmentation.labels.voxels == [3, 2])
        let confidence = try #require(segmentation.confidence)
        #expect(abs(confidence[0] - 0.85) < 1e-6)
        #expect(abs(confidence[1] - 0.351) < 1e-6)
    }

    @Test("normalisation by selection gives exactly ModelGrid.normalise's result, ties and zeros included",
          arguments: [1, 2, 7, 1000, 65_537])
    func normaliseBySelection(count: Int) {
        var generator = SplitMix(seed: UInt64(count))
        // Few distinct values (many ties), some zeros and negatives.
        let values = (0..<count).map { _ in Float(Int(generator.next() % 97) - 10) / 3 }
        #expect(Preprocessor.normalise(values) == ModelGrid.normalise(values))
        let smooth = (0..<count).map { _ in Float(generator.next() % 1_000_000) / 1000 }
        #expect(Preprocessor.normalise(smooth) == ModelGrid.normalise(smooth))
    }

    static var gridScript: String { PythonPeer.packageRoot.appendingPathComponent("Training/spineplan_train/grid.py").path }

    @Test("the Swift model grid of a virtual-scanner session matches grid.py (numpy) to 1e-4",
          .enabled(if: PythonPeer.isAvailable && FileManager.default.fileExists(atPath: gridScript), "no venv or no grid.py"),
          arguments: [UInt64(11), 12])
    func gridParity(seed: UInt64) async throws {
        let session = try SyntheticSession(seed: seed)
        defer { session.remove() }
        let swift = try Preprocessor(modelGrid: ModelGrid()).prepare(session.sagittal.map(\.image))
        let out = session.directory.appending("grid.npy")
        let run = try await Subprocess.run(PythonPeer.python, [Self.gridScript, session.summary.directory + "/localizer", "--out", out])
        try #require(run.status == 0, "grid.py: \(run.stderr)")
        let numpy = try NumpyFloatArray.read(out)
        let size = swift.grid.size
        #expect(numpy.shape == [size.z, size.y, size.x])
        try #require(numpy.values.count == swift.values.count)
        var worst: Float = 0
        for i in 0..<numpy.values.count { worst = max(worst, abs(numpy.values[i] - swift.values[i])) }
        #expect(worst <= 1e-4, "max |swift − numpy| = \(worst)")
        #expect(swift.values.contains { $0 > 0.5 }, "the grid holds signal")
    }
}

/// A small seeded generator, so the cases are the same on every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
