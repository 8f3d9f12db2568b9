import Foundation
import SpinePlanDICOM
import SpinePlanGeometry
import SpinePlanScanner
import SpinePlanTestSupport

/// A virtual-scanner session written to a temporary directory, with its sagittal slices decoded.
struct SyntheticSession {
    var directory: TemporaryDirectory
    var summary: SessionSummary
    /// The first sagittal series, as `grid.py` picks it.
    var sagittal: [Slice]

    init(seed: UInt64, labels: Bool = false) throws {
        directory = try TemporaryDirectory("spineplan-model")
        let options = SynthesisOptions(outputDirectory: directory.path, seed: seed, count: 1, exportVolume: false, exportLabels: labels)
        summary = try VirtualScanner.synthesize(options: options)[0]
        var slices: [Slice] = []
        for file in summary.dicomFiles.sorted() {
            let path = file.hasPrefix("/") ? file : (summary.directory as NSString).appendingPathComponent(file)
            slices += try SliceDecoder.slices(from: DICOMObject(contentsOfFile: path)).filter { $0.plane.orientation == .sagittal }
        }
        let ordered = slices.sorted { ($0.seriesInstanceUID, $0.instanceNumber ?? 0) < ($1.seriesInstanceUID, $1.instanceNumber ?? 0) }
        let series = ordered.first?.seriesInstanceUID
        sagittal = ordered.filter { $0.seriesInstanceUID == series }
    }

    func remove() { directory.remove() }

    /// The truth label map of the sagittal stack (`--export-labels`), one `[rows × columns]` map per slice in
    /// acquisition order, and the label scheme (name → value).
    func sagittalLabels() throws -> (maps: [[Float]], scheme: [String: Int]) {
        let folder = (summary.directory as NSString).appendingPathComponent("labels")
        let array = try NumpyFloatArray.read((folder as NSString).appendingPathComponent("sag.npy"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("labels.json"))))
        let scheme = ((json as? [String: Any])?["label_scheme"] as? [String: Int]) ?? [:]
        let plane = array.shape[1] * array.shape[2]
        return ((0..<array.shape[0]).map { Array(array.values[($0 * plane)..<(($0 + 1) * plane)]) }, scheme)
    }
}

/// Reads a little-endian float32 or uint8 C-order `.npy` file (what `grid.py` and the label export write).
enum NumpyFloatArray {
    struct Unsupported: Error, CustomStringConvertible {
        var description: String
    }

    static func read(_ path: String) throws -> (shape: [Int], values: [Float]) {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard data.count > 10, data.prefix(6) == Data([0x93]) + Data("NUMPY".utf8) else { throw Unsupported(description: "\(path) is not .npy") }
        let major = data[6]
        let headerLength = major == 1 ? Int(data[8]) | Int(data[9]) << 8
            : Int(data[8]) | Int(data[9]) << 8 | Int(data[10]) << 16 | Int(data[11]) << 24
        let start = major == 1 ? 10 : 12
        let header = String(decoding: data[start..<(start + headerLength)], as: UTF8.self)
        let bytes = header.contains("'|u1'") ? 1 : 4
        guard header.contains("'<f4'") || bytes == 1, header.contains("'fortran_order': False") else {
            throw Unsupported(description: "\(path): \(header)")
        }
        let shapeText = header.components(separatedBy: "'shape': (")[1].components(separatedBy: ")")[0]
        let shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let body = data[(start + headerLength)...]
        let values = bytes == 1 ? body.map(Float.init) : body.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        return (shape, values)
    }
}
