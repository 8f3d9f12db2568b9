import Foundation
import SpinePlanDICOM
import SpinePlanGeometry
import SpinePlanTestSupport
import Testing

func toolPath(_ name: String) -> String? { DICOMTools.path(name) }

/// dciodvfy's error lines; the tests that call this are enabled only where dciodvfy is installed.
func dciodvfyErrors(_ file: String) async throws -> [String] {
    try #require(try await DICOMTools.dciodvfyErrors(file))
}

/// Planned stacks with known geometry: an oblique L4/L5, a wedge-tilted L5/S1 and an unnamed disc.
func samplePlanes() -> [(level: DiscLevel?, centre: Vector3, row: Vector3, column: Vector3, fov: SIMD2<Double>, slices: Int, thickness: Double, spacing: Double, confidence: Double)] {
    func axes(_ sagittal: Double, _ coronal: Double) -> (Vector3, Vector3) {
        let r = Matrix3.rotation(axis: Vector3(1, 0, 0), degrees: sagittal) * Matrix3.rotation(axis: Vector3(0, 1, 0), degrees: coronal)
        return (r * Vector3(-1, 0, 0), r * Vector3(0, 1, 0))
    }
    let a = axes(12.5, 3.25), b = axes(24, -6.5), c = axes(-4, 0)
    return [(.l4L5, Vector3(-2.345, 10.5, -61.25), a.0, a.1, SIMD2(200, 200), 5, 4, 4.4, 0.93),
            (.l5S1, Vector3(-1.5, 28.75, -95.125), b.0, b.1, SIMD2(220, 180), 3, 3.5, 4.0, 0.61),
            (nil, Vector3(3.0, -4.25, -20.5), c.0, c.1, SIMD2(200, 200), 5, 4, 4.4, 0.2)]
}

@Suite(.enabled(if: PythonPeer.isAvailable, "needs the peer venv: run scripts/bootstrap.sh"))
struct StructuredReportWriterTests {
    static func report(comments: [String] = ["coronal tilt not measured for L5/S1"]) throws -> (DICOMObject, Slice, [Slice]) {
        var evidence = (0..<3).map(sampleSlice)
        for i in evidence.indices { evidence[i].patientStudy = evidence[0].patientStudy }
        let planes = samplePlanes().map { p in
            StructuredReportWriter.Plane(level: p.level, corners: StructuredReportWriter.Plane.rectangle(
                centre: p.centre, row: p.row, column: p.column, fieldOfView: p.fov),
                thickness: p.thickness, spacing: p.spacing, slices: p.slices, confidence: p.confidence)
        }
        let sr = try StructuredReportWriter.make(
            planes: planes, source: evidence[1], evidence: evidence + [evidence[0]],
            device: .init(uid: "2.25.1234", modelName: "spineplan-vnet@test", softwareVersion: "0.0-test"), comments: comments)
        return (sr, evidence[1], evidence)
    }

    @Test("the SR passes dciodvfy without errors and dsrdump renders it", .enabled(if: DICOMTools.isInstalled("dciodvfy") && DICOMTools.isInstalled("dsrdump")))
    func validates() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let (sr, _, _) = try Self.report()
        let path = tmp.appending("sr.dcm")
        try sr.write(toFile: path)
        let errors = try await dciodvfyErrors(path)
        #expect(errors.isEmpty, "\(errors)")
        let dump = try await Subprocess.run(try #require(toolPath("dsrdump")), [path])
        #expect(dump.status == 0, "\(dump.stderr)")
        #expect(dump.stdout.contains("Imaging Measurement Report"))
        #expect(dump.stdout.contains("L4/L5 oblique axial"))
        #expect(dump.stdout.contains("coronal tilt not measured"))
    }

    @Test("transitional discs carry SpinePlan's private finding-site codes, which highdicom reads and dciodvfy accepts",
          .enabled(if: DICOMTools.isInstalled("dciodvfy")))
    func transitionalFindingSites() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let source = sampleSlice(0)
        let levels: [DiscLevel] = [.l4L5, .l5L6, .l6S1]
        let planes = levels.enumerated().map { i, level in
            StructuredReportWriter.Plane(level: level, corners: StructuredReportWriter.Plane.rectangle(
                centre: Vector3(0, 10, -60 - 35 * Double(i)), row: Vector3(-1, 0, 0), column: Vector3(0, 1, 0), fieldOfView: SIMD2(200, 200)),
                thickness: 4, spacing: 4.4, slices: 5, confidence: 0.8)
        }
        let sr = try StructuredReportWriter.make(planes: planes, source: source, evidence: [source],
                                                 device: .init(uid: "2.25.1234", modelName: "spineplan-vnet@test", softwareVersion: "0.0-test"))
        let path = tmp.appending("sr.dcm")
        try sr.write(toFile: path)
        #expect(try await dciodvfyErrors(path).isEmpty)
        let out = try await PythonPeer.run([path], script: "read_sr.py")
        #expect(out.status == 0, "\(out.stderr)")
        let groups = try #require(try out.json()["groups"] as? [[String: Any]])
        #expect(groups.compactMap { $0["finding_site"] as? String } == ["84020006", "DISC-L5-L6", "DISC-L6-S1"])
        #expect(groups.compactMap { $0["finding_site_scheme"] as? String } == ["SCT", "99SPINEPLAN", "99SPINEPLAN"])
        #expect(groups.compactMap { ($0["finding_site"] as? String).flatMap(StructuredReportWriter.level(ofFindingSite:)) } == levels)
    }

    @Test("highdicom finds one planar ROI group per plane, and the polygons give back the planes")
    func readBack() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let (sr, source, evidence) = try Self.report()
        let path = tmp.appending("sr.dcm")
        try sr.write(toFile: path)
        let out = try await PythonPeer.run([path], script: "read_sr.py")
        #expect(out.status == 0, "\(out.stderr)")
        let json = try out.json()
        #expect(json["sop_class"] as? String == SOPClass.comprehensive3DSR)
        #expect(json["template"] as? String == "1500")
        #expect(json["root"] as? String == "Imaging Measurement Report")
        #expect(json["procedure"] as? [String] == ["363679005"])
        #expect(json["observer_uid"] as? [String] == ["2.25.1234"])
        #expect(json["study"] as? String == source.studyInstanceUID)
        #expect(json["patient_id"] as? String == source.patientStudy.patientID)
        #expect(json["series"] as? String != source.seriesInstanceUID)
        #expect(json["evidence"] as? [String] == evidence.map(\.sopInstanceUID).sorted())
        let groups = try #require(json["groups"] as? [[String: Any]])
        let planes = samplePlanes()
        #expect(groups.count == planes.count)
        let sct: [DiscLevel: String] = [.l4L5: "84020006", .l5S1: "715056000"]
        for (group, plane) in zip(groups, planes) {
            #expect((group["tracking_identifier"] as? String)?.hasSuffix("oblique axial") == true)
            if let level = plane.level {
                #expect(group["tracking_identifier"] as? String == "\(level) oblique axial")
                #expect(group["finding_site"] as? String == sct[level])
            } else {
                #expect(group["finding_site"] is NSNull)
            }
            #expect(group["graphic_type"] as? String == "POLYGON")
            #expect(group["frame_of_reference"] as? String == source.frameOfReferenceUID)
            #expect((group["points"] as? [[Double]])?.count == 5)
            let c = try #require(group["centre"] as? [Double]), n = try #require(group["normal"] as? [Double])
            let centre = Vector3(c[0], c[1], c[2]), normal = Vector3(n[0], n[1], n[2])
            #expect((centre - plane.centre).length < 0.01, "centre \(centre) vs \(plane.centre)")
            #expect(normal.angleDegrees(to: plane.row.cross(plane.column)) < 0.01)
            let m = try #require(group["measurements"] as? [String: [String: Any]])
            #expect(m["Slice Thickness"]?["value"] as? Double == plane.thickness)
            #expect(m["Slice Thickness"]?["unit"] as? String == "mm")
            #expect(m["Spacing between slices"]?["value"] as? Double == plane.spacing)
            #expect(m["Number of slices"]?["value"] as? Double == Double(plane.slices))
            #expect(abs((m["Plane confidence"]?["value"] as? Double ?? -1) - plane.confidence) < 1e-6)
        }
    }

    @Test("an empty plan still makes a valid SR with its comments", .enabled(if: DICOMTools.isInstalled("dciodvfy")))
    func emptyPlan() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let source = sampleSlice()
        let sr = try StructuredReportWriter.make(planes: [], source: source, evidence: [source],
                                                 device: .init(uid: "2.25.99", modelName: "m", softwareVersion: "v"),
                                                 comments: ["Levels not named: no sacrum in view"])
        let path = tmp.appending("empty.dcm")
        try sr.write(toFile: path)
        #expect(try await dciodvfyErrors(path).isEmpty)
        let out = try await PythonPeer.run([path], script: "read_sr.py")
        #expect(out.status == 0, "\(out.stderr)")
        #expect((try out.json()["groups"] as? [Any])?.isEmpty == true)
    }
}

@Suite(.enabled(if: PythonPeer.isAvailable, "needs the peer venv: run scripts/bootstrap.sh"))
struct OverlayImageWriterTests {
    /// A 128×128 sagittal slice with a bright band, so the overlay has something to draw on.
    static func sagittal() -> Slice {
        var s = sampleSlice()
        s.plane = ImagePlane(position: Vector3(0, -120, 120), rowDirection: Vector3(0, 1, 0), columnDirection: Vector3(0, 0, -1),
                             pixelSpacing: SIMD2(2, 2), rows: 128, columns: 128)
        s.pixels = (0..<(128 * 128)).map { (i: Int) -> Float in
            let row = i / 128, column = i % 128
            return row % 20 < 4 ? 900 : Float(300 + column)
        }
        return s
    }

    @Test("the overlay is a valid Secondary Capture that pydicom reads, with the stacks drawn and a matching PNG",
          .enabled(if: DICOMTools.isInstalled("dciodvfy")))
    func overlay() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let source = Self.sagittal()
        let stacks = samplePlanes().map { p in
            OverlayImageWriter.Stack(label: p.level?.name ?? "?", centre: Vector3(0, p.centre.y, p.centre.z) * 0.5, normal: p.row.cross(p.column),
                                     fieldOfView: p.fov, slices: p.slices, spacing: p.spacing)
        }
        let bare = OverlayImageWriter.render(midSagittal: source, stacks: [], notes: [])
        let rendering = OverlayImageWriter.render(midSagittal: source, stacks: stacks, notes: ["coronal tilt not measured"])
        let object = try OverlayImageWriter.make(rendering, source: source)
        let path = tmp.appending("overlay.dcm"), png = tmp.appending("overlay.png"), barePNG = tmp.appending("bare.png")
        try object.write(toFile: path)
        try Data(rendering.png).write(to: URL(fileURLWithPath: png))
        try Data(bare.png).write(to: URL(fileURLWithPath: barePNG))
        #expect(try await dciodvfyErrors(path).isEmpty)
        let out = try await PythonPeer.run([path, png], script: "check_overlay.py")
        #expect(out.status == 0, "\(out.stderr)")
        let json = try out.json()
        #expect(json["sop_class"] as? String == SOPClass.secondaryCaptureImageStorage)
        #expect(json["study"] as? String == source.studyInstanceUID)
        #expect(json["series"] as? String != source.seriesInstanceUID)
        #expect(json["photometric"] as? String == "RGB")
        #expect(json["burned_in"] as? String == "YES")
        #expect(json["png_equals_dicom"] as? Bool == true)
        // Lines and labels are drawn in colour: far more coloured pixels than the header text alone.
        let bareOut = try await PythonPeer.run([path, barePNG], script: "check_overlay.py")
        let drawn = json["coloured_pixels"] as? Int ?? 0, background = try bareOut.json()["coloured_pixels"] as? Int ?? 0
        #expect(drawn > background + 500, "\(drawn) coloured pixels with stacks, \(background) without")
    }
}
