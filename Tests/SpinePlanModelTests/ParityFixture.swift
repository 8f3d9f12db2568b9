import Foundation
import SpinePlanModel

/// PyTorch's input, logits and probabilities for the shipped weights (`Docs/model-contract.md` §6).
struct ParityFixture {
    /// (D, H, W).
    var size: SIMD3<Int>
    var classes: Int
    var input: [Float]
    /// `[classes, D, H, W]`.
    var logits: [Float]
    var probabilities: [Float]

    /// Reads the first safetensors file in `directory` that holds `input`, `logits` and `probabilities`.
    static func load(from directory: URL) throws -> ParityFixture {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".safetensors") }.sorted()
        for name in files {
            let file = try SafeTensorsFile(path: directory.appendingPathComponent(name).path)
            guard let input = file.entries["input"], let logits = file.entries["logits"], file.entries["probabilities"] != nil else { continue }
            guard input.shape.count == 5, logits.shape.count == 5 else { continue }
            return ParityFixture(size: SIMD3(input.shape[2], input.shape[3], input.shape[4]), classes: logits.shape[1],
                                 input: try file.floats("input"), logits: try file.floats("logits"),
                                 probabilities: try file.floats("probabilities"))
        }
        throw FixtureMissing(directory: directory.path)
    }

    struct FixtureMissing: Error, CustomStringConvertible {
        var directory: String
        var description: String { "no parity fixture (input, logits, probabilities) in \(directory)" }
    }

    /// Voxel count of one class plane.
    var voxels: Int { size.x * size.y * size.z }

    /// Fraction of voxels whose argmax over classes agrees between two `[classes, voxels]` arrays.
    func argmaxAgreement(_ a: [Float], _ b: [Float]) -> Double {
        var agree = 0
        for v in 0..<voxels {
            var ia = 0, ib = 0
            for c in 1..<classes {
                if a[c * voxels + v] > a[ia * voxels + v] { ia = c }
                if b[c * voxels + v] > b[ib * voxels + v] { ib = c }
            }
            if ia == ib { agree += 1 }
        }
        return Double(agree) / Double(voxels)
    }

    /// max|a − b| / max|b|: the error relative to the reference's scale, so near-zero logits do not blow it up.
    static func relativeError(_ a: [Float], reference b: [Float]) -> Double {
        precondition(a.count == b.count)
        var worst: Float = 0, scale: Float = 0
        for i in 0..<a.count {
            worst = max(worst, abs(a[i] - b[i]))
            scale = max(scale, abs(b[i]))
        }
        return Double(worst / scale)
    }
}
