import Foundation

/// A weights file and its sidecar, checked tensor by tensor against the architecture the sidecar describes.
public struct ModelWeights: Sendable {
    public var sidecar: ModelSidecar
    public var architecture: VNetArchitecture
    /// F32 values in PyTorch layout, keyed by tensor name.
    public var tensors: [String: [Float]]
    public var path: String

    /// `name@version`, as logs and reports show it.
    public var modelName: String { "\(sidecar.name)@\(sidecar.version)" }

    /// The sidecar path for a weights path: same stem, `.json`.
    public static func sidecarPath(for weightsPath: String) -> String {
        URL(fileURLWithPath: weightsPath).deletingPathExtension().appendingPathExtension("json").path
    }

    /// Loads `weights` (`.safetensors`) and its sidecar; throws naming the file and tensor on any mismatch.
    public static func load(weights path: String) throws(ModelError) -> ModelWeights {
        let sidecarPath = sidecarPath(for: path)
        let sidecar = try ModelSidecar.read(path: sidecarPath)
        let architecture = try VNetArchitecture(sidecar, path: sidecarPath)
        let grid = sidecar.inputGrid.shapeDHW
        let total = architecture.totalStride
        guard grid.count == 3, grid[0] % total.x == 0, grid[1] % total.y == 0, grid[2] % total.z == 0 else {
            throw ModelError(.unsupportedArchitecture,
                             "model sidecar \(sidecarPath): input_grid.shape_dhw \(grid) is not a multiple of the total stride \([total.x, total.y, total.z])")
        }
        guard sidecar.inputGrid.inPlaneSpacingMillimetres > 0 else {
            throw ModelError(.unsupportedArchitecture, "model sidecar \(sidecarPath): input_grid.in_plane_spacing_mm must be positive")
        }
        guard Set(sidecar.classes).count == sidecar.classes.count else {
            throw ModelError(.unsupportedArchitecture, "model sidecar \(sidecarPath): class names must be unique")
        }
        let file = try SafeTensorsFile(path: path)
        var tensors: [String: [Float]] = [:]
        for (name, shape) in architecture.tensors {
            guard let entry = file.entries[name] else {
                throw ModelError(.mismatchedTensor, "weights file \(path) has no tensor \(name) (expected shape \(shape))")
            }
            guard entry.dtype == "F32" else {
                throw ModelError(.mismatchedTensor, "weights file \(path): tensor \(name) is \(entry.dtype), expected F32")
            }
            guard entry.shape == shape else {
                throw ModelError(.mismatchedTensor, "weights file \(path): tensor \(name) has shape \(entry.shape), expected \(shape)")
            }
            let values = try file.floats(name)
            // A flipped bit in an exponent is not a shape error, but it would silently poison every output.
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw ModelError(.mismatchedTensor, "weights file \(path): tensor \(name) holds a non-finite value at element \(bad)")
            }
            tensors[name] = values
        }
        let expected = Set(architecture.tensors.map(\.name))
        if let extra = file.entries.keys.sorted().first(where: { !expected.contains($0) }) {
            throw ModelError(.mismatchedTensor, "weights file \(path) has tensor \(extra), which \(sidecar.architecture) does not use")
        }
        return ModelWeights(sidecar: sidecar, architecture: architecture, tensors: tensors, path: path)
    }

    subscript(_ name: String) -> [Float] { tensors[name]! }
}
