import Foundation
import SpinePlanGeometry

/// The published references for real volumes (`references.json`): per case, vertebral-body centroids
/// and discs, in LPS millimetres on the image's own grid.
struct ReferenceSet: Decodable {
    struct Case: Decodable {
        var `case`: String
        var discs: [Disc]
        var vertebrae: [Vertebra]
    }

    struct Disc: Decodable {
        var level: String
        var centre: Vector3
        var normal: Vector3

        enum CodingKeys: String, CodingKey {
            case level
            case centre = "centre_lps_mm"
            case normal = "normal_lps"
        }
    }

    struct Vertebra: Decodable {
        var level: String
        var label: Int?
        var centre: Vector3

        enum CodingKeys: String, CodingKey {
            case level, label
            case centre = "centroid_lps_mm"
        }
    }

    var cases: [Case]

    static func load(_ path: String) throws(ScannerError) -> ReferenceSet {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScannerError(.referencesUnreadable, "cannot read references \(path)")
        }
        do {
            return try JSONDecoder().decode(ReferenceSet.self, from: data)
        } catch {
            throw ScannerError(.referencesUnreadable, "\(path) is not a references file: \(error)")
        }
    }

    /// The case a volume file belongs to: its file name up to `_image` or the NIfTI extension.
    static func caseName(forVolume path: String) -> String {
        var name = URL(fileURLWithPath: path).lastPathComponent
        for suffix in [".gz", ".nii"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        for suffix in ["_image", "_labels"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        return name
    }

    /// The references for this volume, checked to lie inside its grid.
    func matching(volume: Volume<UInt8>, path: String) throws(ScannerError) -> Case {
        let name = Self.caseName(forVolume: path)
        guard let found = cases.first(where: { $0.case == name }) else {
            throw ScannerError(.referencesMismatch, "the references have no case named \(name)")
        }
        guard !found.discs.isEmpty else { throw ScannerError(.referencesMismatch, "case \(name) has no discs") }
        let points = found.discs.map(\.centre) + found.vertebrae.map(\.centre)
        for p in points where !volume.grid.contains(index: volume.grid.index(of: p)) {
            throw ScannerError(.referencesMismatch, "reference point \(p) of case \(name) lies outside the volume grid")
        }
        return found
    }
}
