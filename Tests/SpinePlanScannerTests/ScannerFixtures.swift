import Foundation
import SpinePlanGeometry
@testable import SpinePlanScanner

/// Shared helpers for the scanner tests.
enum ScannerFixtures {
    /// `../shared/data/real` next to the package root, found from this file's path.
    static let realDataDirectory: String = {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/data/real").path
    }()

    static func realCase(_ name: String) -> (image: String, references: String) {
        ((realDataDirectory as NSString).appendingPathComponent("\(name)_image.nii.gz"),
         (realDataDirectory as NSString).appendingPathComponent("references.json"))
    }

    static func hasRealData(_ name: String) -> Bool {
        let paths = realCase(name)
        return FileManager.default.fileExists(atPath: paths.image) && FileManager.default.fileExists(atPath: paths.references)
    }

    static func temporaryDirectory(_ tag: String) -> String {
        let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("spineplan-\(tag)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A minimal uncompressed NIfTI-1 file with an sform, for reader and error tests.
    static func niftiBytes(size: SIMD3<Int>, srow: [[Float]], voxels: [UInt8], datatype: Int16 = 2) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 352)
        func put16(_ v: Int16, _ o: Int) { withUnsafeBytes(of: v.littleEndian) { header.replaceSubrange(o..<o + 2, with: $0) } }
        func put32(_ v: Int32, _ o: Int) { withUnsafeBytes(of: v.littleEndian) { header.replaceSubrange(o..<o + 4, with: $0) } }
        func putF(_ v: Float, _ o: Int) { put32(Int32(bitPattern: v.bitPattern), o) }
        put32(348, 0)
        put16(3, 40); put16(Int16(size.x), 42); put16(Int16(size.y), 44); put16(Int16(size.z), 46)
        put16(1, 48); put16(1, 50); put16(1, 52); put16(1, 54)
        put16(datatype, 70); put16(8, 72)
        for d in 0..<4 { putF(1, 76 + 4 * d) }
        putF(352, 108)
        putF(1, 112)
        put16(2, 254)
        for (row, base) in zip(srow, [280, 296, 312]) { for (c, v) in row.enumerated() { putF(v, base + 4 * c) } }
        header.replaceSubrange(344..<348, with: Array("n+1".utf8) + [0])
        return header + voxels
    }

    static func write(_ bytes: [UInt8], to path: String) {
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }

    /// The label value a truth disc must carry in the phantom label map ("L4/L5" -> disc below L4).
    static func discLabel(_ name: String) -> UInt8? {
        let upper = name.split(separator: "/").first.map(String.init)
        return SpineLevel.allCases.first { $0.name == upper }?.discLabelBelow
    }

    static func vertebraLabel(_ name: String) -> UInt8? { SpineLevel.allCases.first { $0.name == name }?.rawValue }

    /// Label-map acquisition of a stack: nearest neighbour on each slice plane.
    static func labelMap(_ stack: LocalizerStack, labels: Volume<UInt8>) -> [[Float]] {
        LocalizerAcquisition.acquire(stack, stackIndex: 0, from: VolumeSampler(volume: labels, lookup: (0..<256).map(Float.init)),
                                     settings: .labels())
    }

    /// Label at the pixel nearest to the projection of `p` onto slice `k`.
    static func label(at p: Vector3, in stack: LocalizerStack, slice k: Int, map: [[Float]]) -> UInt8? {
        let uv = stack.plane(k).pixelCoordinate(of: p)
        let c = Int(uv.x.rounded()), r = Int(uv.y.rounded())
        guard c >= 0, r >= 0, c < stack.columns, r < stack.rows else { return nil }
        return UInt8(map[k][r * stack.columns + c])
    }
}
