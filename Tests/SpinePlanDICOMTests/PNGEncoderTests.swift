import Foundation
import SpinePlanDICOM
import SpinePlanGeometry
import SpinePlanTestSupport
import Testing

/// The PNG writer against an independent reader: a hand-written zlib decoder and Pillow (`Tests/Peers/check_png.py`).
@Suite(.enabled(if: PythonPeer.isAvailable, "needs the peer venv: run scripts/bootstrap.sh"))
struct PNGEncoderTests {
    /// Bytes of the stored-block encoding this writer replaced: the raw rows, one filter byte each, plus headers.
    static func storedSize(width: Int, height: Int) -> Int { height * (width * 3 + 1) + 57 }

    static func decode(_ png: [UInt8]) async throws -> (json: [String: Any], pixels: [UInt8]) {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let path = tmp.appending("image.png"), raw = tmp.appending("image.rgb")
        try Data(png).write(to: URL(fileURLWithPath: path))
        let out = try await PythonPeer.run([path, raw], script: "check_png.py")
        #expect(out.status == 0, "\(out.stderr)")
        return (try out.json(), [UInt8](try Data(contentsOf: URL(fileURLWithPath: raw))))
    }

    @Test("noise, odd sizes and a single pixel decode to the same bytes", arguments: [(1, 1), (7, 5), (33, 20)])
    func roundTrip(width: Int, height: Int) async throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let pixels = (0..<(width * height * 3)).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        let (json, decoded) = try await Self.decode(PNGEncoder.rgb(width: width, height: height, pixels: pixels))
        #expect(decoded == pixels)
        #expect(json["crc_ok"] as? Bool == true)
        #expect(json["pil_equals_zlib"] as? Bool == true)
    }

    @Test("an overlay is deflated (not stored), filtered, read back exactly, and at least 5 times smaller than stored blocks")
    func overlay() async throws {
        let source = OverlayImageWriterTests.sagittal()
        let stacks = samplePlanes().map { p in
            OverlayImageWriter.Stack(label: p.level?.name ?? "?", centre: Vector3(0, p.centre.y, p.centre.z) * 0.5, normal: p.row.cross(p.column),
                                     fieldOfView: p.fov, slices: p.slices, spacing: p.spacing)
        }
        let rendering = OverlayImageWriter.render(midSagittal: source, stacks: stacks, notes: ["coronal tilt not measured"])
        let canvas = rendering.canvas
        let (json, decoded) = try await Self.decode(rendering.png)
        #expect(decoded == canvas.pixels)
        #expect(json["pil_equals_zlib"] as? Bool == true)
        #expect(json["stored_blocks"] as? Bool == false)
        #expect((json["filters"] as? [Int])?.contains { $0 != 0 } == true, "some rows use the Sub or Up filter")
        let stored = Self.storedSize(width: canvas.width, height: canvas.height)
        #expect(rendering.png.count * 5 <= stored, "\(rendering.png.count) bytes deflated against \(stored) stored")
    }
}
