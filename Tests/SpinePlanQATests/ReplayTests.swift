import Foundation
import Logging
import Testing
import SpinePlanScanner
import SpinePlanDICOM
import SpinePlanGeometry
import SpinePlanPlanner
import SpinePlanTestSupport
@testable import SpinePlanQA
@testable import SpinePlanService

@Suite struct ReplayTests {
    @Test("a 2 mm shift is a regression, 0.5 mm is not; the tolerance is configurable")
    func centreTolerance() {
        let recorded = RecordingFixtures.plan()
        let small = PlanComparison(recorded: recorded, replayed: RecordingFixtures.plan(shift: Vector3(0.5, 0, 0)))
        #expect(!small.isRegression)
        #expect(abs(small.maxCentreMillimetres - 0.5) < 1e-9)
        let large = PlanComparison(recorded: recorded, replayed: RecordingFixtures.plan(shift: Vector3(0, 2, 0)))
        #expect(large.isRegression)
        #expect(large.regressions.count == 3)
        #expect(large.regressions[0].contains("L3/L4") && large.regressions[0].contains("2.00 mm"))
        let lenient = PlanComparison(recorded: recorded, replayed: RecordingFixtures.plan(shift: Vector3(0, 2, 0)),
                                     tolerance: ReplayTolerance(centreMillimetres: 3, normalDegrees: 1))
        #expect(!lenient.isRegression)
    }

    @Test("a 2° tilt is a regression, 0.5° is not")
    func angleTolerance() {
        let recorded = RecordingFixtures.plan()
        #expect(!PlanComparison(recorded: recorded, replayed: RecordingFixtures.plan(tilt: 0.5)).isRegression)
        let tilted = PlanComparison(recorded: recorded, replayed: RecordingFixtures.plan(tilt: 2))
        #expect(tilted.isRegression)
        #expect(abs(tilted.maxNormalDegrees - 2) < 1e-6)
        #expect(tilted.regressions.allSatisfy { $0.contains("normal turned") })
    }

    @Test("level names, slice counts, FOV and abstention are compared")
    func structure() {
        let recorded = RecordingFixtures.plan()
        let renamed = PlanComparison(recorded: recorded, replayed: RecordingFixtures.plan(levels: [.l2L3, .l3L4, .l4L5]))
        #expect(renamed.isRegression)
        #expect(renamed.regressions.contains { $0.hasPrefix("levels differ") })
        #expect(renamed.regressions.contains { $0.contains("L5/S1: plane missing") })
        var fewer = RecordingFixtures.plan()
        fewer.planes[1].slices = 7
        fewer.planes[2].fieldOfView = SIMD2(180, 200)
        let changed = PlanComparison(recorded: recorded, replayed: fewer)
        #expect(changed.regressions.contains { $0.contains("5 slices became 7") })
        #expect(changed.regressions.contains { $0.contains("FOV") })
        var abstained = RecordingFixtures.plan()
        abstained.abstained = true
        #expect(PlanComparison(recorded: recorded, replayed: abstained).regressions.contains { $0.contains("abstained") })
        #expect(PlanComparison(recorded: recorded, replayed: nil).isRegression)
        #expect(!PlanComparison(recorded: nil, replayed: nil).isRegression)
    }

    @Test("unnamed planes pair with the nearest centre, whatever their order")
    func unnamed() {
        let recorded = RecordingFixtures.plan(levels: [nil, nil, nil])
        var replayed = RecordingFixtures.plan(shift: Vector3(0.3, 0, 0), levels: [nil, nil, nil])
        replayed.planes.reverse()
        let c = PlanComparison(recorded: recorded, replayed: replayed)
        #expect(!c.isRegression)
        #expect(c.deltas.count == 3)
        #expect(c.deltas.allSatisfy { abs(($0.centreMillimetres ?? 9) - 0.3) < 1e-9 })
    }

    /// Three recordings: one replays the same, one shifted by 2 mm, one tampered with.
    func threeOutcomes(_ root: String) async throws -> [ReplayOutcome] {
        let png = try #require(Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="))
        let same = try RecordingFixtures.record(in: root, sessionID: "same0001", overlayPNG: Array(png)).folder
        let shifted = try RecordingFixtures.record(in: root, sessionID: "shift002").folder
        let broken = try RecordingFixtures.record(in: root, sessionID: "broke003").folder
        try FileManager.default.removeItem(atPath: broken + "/instances/0001.dcm")
        let runner = ReplayRunner(tolerance: ReplayTolerance()) { recording throws(RecordingError) in
            let plan = try recording.plan()
            let shift = recording.manifest.sessionID.hasPrefix("shift") ? Vector3(2, 0, 0) : Vector3(0.2, 0, 0)
            return ReplayedRun(plan: plan.map { p in
                var q = p
                for i in q.planes.indices { q.planes[i].centre += shift }
                return q
            }, overlayPNG: recording.overlayPNG())
        }
        return await runner.run(paths: [same, shifted, broken])
    }

    @Test("the runner reports pass, regression and a bad recording as an error, never a skip")
    func runner() async throws {
        let root = RecordingFixtures.scratch("runner")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let outcomes = try await threeOutcomes(root)
        #expect(outcomes.map(\.verdict) == [.pass, .regression, .error])
        #expect(outcomes[2].error?.contains("missing") == true)
        let report = ReplayReport(outcomes: outcomes, tolerance: ReplayTolerance(), mode: "test")
        #expect(report.exitCode == 1)
        #expect(ReplayReport(outcomes: [outcomes[0]], tolerance: ReplayTolerance(), mode: "test").exitCode == 0)
        let table = report.table()
        #expect(table.contains("PASS") && table.contains("REGRESSION") && table.contains("ERROR"))
        #expect(table.contains("centre moved 2.00 mm"))
    }

    @Test("JUnit XML parses with Python's xml.etree: one testcase per session, deltas in failures, errors for bad recordings")
    func junit() async throws {
        try #require(PythonPeer.isAvailable, "needs the .venv peer")
        let root = RecordingFixtures.scratch("junit")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let outcomes = try await threeOutcomes(root)
        let xmlPath = root + "/report.xml"
        try Data(ReplayReport(outcomes: outcomes, tolerance: ReplayTolerance(), mode: "test <&>").junit().utf8).write(to: URL(fileURLWithPath: xmlPath))
        let out = try await PythonPeer.run([xmlPath], script: "qa_junit_check.py")
        #expect(out.status == 0, "\(out.stderr)")
        let json = try out.json()
        #expect(json["tests"] as? Int == 3)
        #expect(json["failures"] as? Int == 1)
        #expect(json["errors"] as? Int == 1)
        let cases = try #require(json["cases"] as? [[String: Any]])
        #expect(cases.map { $0["name"] as? String } == outcomes.map(\.name))
        #expect(cases[0]["failure"] is NSNull && cases[0]["error"] is NSNull)
        let failure = try #require(cases[1]["failure"] as? [String: Any])
        #expect((failure["text"] as? String)?.contains("Δcentre 2.000 mm") == true)
        let error = try #require(cases[2]["error"] as? [String: Any])
        #expect((error["message"] as? String)?.contains("bad recording") == true)
        #expect(cases.allSatisfy { $0["skipped"] as? Bool == false })
    }

    @Test("the HTML report is self-contained with one row per session and overlays inline")
    func html() async throws {
        let root = RecordingFixtures.scratch("html")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let outcomes = try await threeOutcomes(root)
        let html = ReplayReport(outcomes: outcomes, tolerance: ReplayTolerance(), mode: "test").html()
        #expect(html.components(separatedBy: "<tr class=\"session\">").count - 1 == outcomes.count)
        for o in outcomes { #expect(html.contains(o.name)) }
        // The first session has an overlay on both sides; the others show the placeholder.
        #expect(html.components(separatedBy: "src=\"data:image/png;base64,").count - 1 == 2)
        #expect(html.contains("no overlay"))
        #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("<link"))
    }

    @Test("export de-identifies every object: no original PHI or UID survives, references stay consistent")
    func deidentify() async throws {
        let root = RecordingFixtures.scratch("deid")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (folder, instances) = try RecordingFixtures.record(in: root + "/rec", count: 4)
        let source = try Recording(at: folder)
        let exported = try RecordingExport.deidentified(source, to: root + "/export")
        #expect(exported.manifest.deidentified)
        #expect(exported.manifest.instances.count == 4)
        let needles = [RecordingFixtures.patientName, "QAPATIENT", RecordingFixtures.patientID, RecordingFixtures.birthDate,
                       RecordingFixtures.accession, RecordingFixtures.institution, "REFERRER", RecordingFixtures.studyUID,
                       RecordingFixtures.seriesUID, RecordingFixtures.frameUID, "QA_CONSOLE", source.manifest.sessionID,
                       "20261121"] + instances.map(\.sopInstanceUID)
        for file in RecordingFixtures.files(under: root + "/export") {
            let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: file)))
            for needle in needles {
                let n = Array(needle.utf8)
                let found = bytes.count >= n.count && (0...(bytes.count - n.count)).contains { i in bytes[i] == n[0] && Array(bytes[i..<(i + n.count)]) == n }
                #expect(!found, "\(needle) survives in \(file)")
            }
        }
        // UIDs are remapped consistently: one study, one series for the localizer, and the SR's study matches.
        let objects = try exported.objects()
        let studies = Set(objects.map { $0.root.trimmed(.studyInstanceUID) ?? "" })
        #expect(studies.count == 1 && studies.first?.hasPrefix("2.25.") == true)
        #expect(Set(objects.map { $0.root.trimmed(.frameOfReferenceUID) ?? "" }).count == 1)
        let sr = try DICOMObject(contentsOfFile: exported.directory + "/sr.dcm")
        #expect(sr.root.trimmed(.studyInstanceUID) == studies.first)
        // The SR's evidence points at the exported localizer, and the plan in it survives.
        var evidence: [String] = []
        let requested = Tag(0x0040, 0xA375), series = Tag(0x0008, 0x1115), sops = Tag(0x0008, 0x1199), sop = Tag(0x0008, 0x1155)
        for i in 0..<sr.root.sequenceCount(requested) {
            guard let study = sr.root.sequenceItem(requested, i) else { continue }
            for j in 0..<study.sequenceCount(series) {
                guard let s = study.sequenceItem(series, j) else { continue }
                for k in 0..<s.sequenceCount(sops) { if let u = s.sequenceItem(sops, k)?.trimmed(sop) { evidence.append(u) } }
            }
        }
        #expect(Set(evidence) == Set(objects.compactMap { $0.root.trimmed(.sopInstanceUID) }))
        #expect(!PlanComparison(recorded: try source.plan(), replayed: try StructuredReportPlan.plan(from: sr)).isRegression)
        // The exported SR is still a valid object (dates become dummies, not blanks, where the IOD needs them).
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/dciodvfy") {
            let check = try await Subprocess.run("/usr/bin/dciodvfy", [exported.directory + "/sr.dcm"])
            let errors = (check.stdout + check.stderr).split(separator: "\n").filter { $0.hasPrefix("Error") }
            #expect(errors.isEmpty, "\(errors)")
        }
        #expect(objects.allSatisfy { $0.root.trimmed(.patientIdentityRemoved) == "YES" })
        // Geometry and pixels survive, so the export still replays.
        let slices = try exported.receivedInstances().flatMap(\.slices)
        #expect(slices.map(\.plane) == instances.flatMap(\.slices).map(\.plane))
        #expect(slices.map(\.pixels) == instances.flatMap(\.slices).map(\.pixels))
        #expect(try exported.plan() == source.plan())
        for file in RecordingFixtures.files(under: root + "/export") { #expect(RecordingFixtures.mode(file) == 0o600) }

        // pydicom's independent reading of every exported file: no PHI left (the peer venv; never skipped).
        let out = try await PythonPeer.run([root + "/export"] + needles, script: "qa_phi_scan.py")
        #expect(out.status == 0, "\(out.stderr)")
        let json = try out.json()
        #expect((json["hits"] as? [Any])?.isEmpty == true, "\(json["hits"] ?? "")")
        let datasets = try #require(json["datasets"] as? [[String: Any]])
        #expect(datasets.count == 5)
        for d in datasets {
            #expect(d["patient_name"] as? String == "" && d["patient_id"] as? String == "")
            #expect(d["identity_removed"] as? String == "YES")
            #expect((d["private_tags"] as? [Any])?.isEmpty == true)
            #expect(d["sop_uid"] as? String == d["meta_sop_uid"] as? String)
        }
    }

    @Test("the SR reader recovers the plan from an SR written independently with highdicom")
    func readsSR() async throws {
        try #require(PythonPeer.isAvailable, "needs the .venv peer")
        let root = RecordingFixtures.scratch("sr")
        defer { try? FileManager.default.removeItem(atPath: root) }
        var plan = RecordingFixtures.plan(tilt: 7, levels: [.l3L4, .l4L5, nil])
        plan.planes[1].fieldOfView = SIMD2(180, 160)
        plan.planes[1].slices = 7
        plan.planes[2].confidence = 0.25
        let encoder = JSONEncoder()
        try encoder.encode(plan).write(to: URL(fileURLWithPath: root + "/plan.json"))
        try RecordingFixtures.object(0).write(toFile: root + "/evidence.dcm")
        let out = try await PythonPeer.run([root + "/plan.json", root + "/evidence.dcm", root + "/sr.dcm"], script: "qa_make_sr.py")
        try #require(out.status == 0, "\(out.stderr)")
        #expect(try out.json()["groups"] as? Int == 3)
        let read = try StructuredReportPlan.plan(from: DICOMObject(contentsOfFile: root + "/sr.dcm"))
        #expect(read.planes.map(\.level) == plan.planes.map(\.level))
        #expect(read.abstained, "an unnamed disc means the levels were not all named")
        for (a, b) in zip(read.planes, plan.planes) {
            #expect((a.centre - b.centre).length < 1e-3)
            #expect(a.normal.angleDegrees(to: b.normal) < 0.01)
            #expect(abs(a.fieldOfView.x - b.fieldOfView.x) < 1e-3 && abs(a.fieldOfView.y - b.fieldOfView.y) < 1e-3)
            #expect(a.slices == b.slices)
            #expect(abs(a.thickness - b.thickness) < 1e-9 && abs(a.spacing - b.spacing) < 1e-9)
            #expect(abs(a.confidence - b.confidence) < 1e-9)
        }
        var named = plan
        named.abstained = true
        #expect(!PlanComparison(recorded: named, replayed: read).isRegression)
    }

    /// A stand-in pipeline that plans from the snapshot it is given, so the test sees what offline replay hands over.
    struct EchoPlanning: SessionPlanning {
        let plan: ScanPlan
        func plan(_ snapshot: LocalizerSnapshot) async -> PlanningOutcome {
            var p = plan
            // Shift by the number of slices beyond three, so a lost slice shows up as a regression.
            for i in p.planes.indices { p.planes[i].centre.x += Double(snapshot.slices.count - 3) }
            return PlanningOutcome(plan: snapshot.trigger == .offline ? p : nil, report: nil, overlay: nil, overlayCanvas: OverlayCanvas(width: 2, height: 2),
                                   timings: ["total": 1])
        }
    }

    @Test("offline replay hands the whole recorded session to the pipeline and compares its plan")
    func offline() async throws {
        let root = RecordingFixtures.scratch("offline")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let plan = RecordingFixtures.plan()
        let (folder, _) = try RecordingFixtures.record(in: root, count: 3, plan: plan)
        let runner = ReplayRunner(tolerance: ReplayTolerance()) { recording throws(RecordingError) in
            try await OfflineReplay.run(recording: recording, planning: EchoPlanning(plan: plan))
        }
        let outcome = await runner.run(path: folder)
        #expect(outcome.verdict == .pass, "\(outcome.comparison?.regressions ?? [])")
        #expect(outcome.replayedOverlayPNG == OverlayCanvas(width: 2, height: 2).png)
    }

    @Test("the SR reader recovers the plan from SpinePlan's own SR writer")
    func readsOwnSR() throws {
        var plan = RecordingFixtures.plan(tilt: -4, levels: [.l4L5, .l5S1, nil])
        plan.planes[0].slices = 9
        plan.planes[2].confidence = 0.4
        let source = try RecordingFixtures.instance(0).slices[0]
        let planes = plan.planes.map { p in
            StructuredReportWriter.Plane(level: p.level, corners: StructuredReportWriter.Plane.rectangle(
                centre: p.centre, row: p.rowDirection, column: p.columnDirection, fieldOfView: p.fieldOfView),
                                         thickness: p.thickness, spacing: p.spacing, slices: p.slices, confidence: p.confidence)
        }
        let sr = try StructuredReportWriter.make(planes: planes, source: source, evidence: [source],
                                                 device: .init(uid: DICOMUID.make(), modelName: "m", softwareVersion: "s"))
        // Through bytes, as the console receives it.
        let received = try DICOMObject(datasetBytes: sr.encoded(), transferSyntax: TransferSyntax.explicitVRLittleEndian)
        let read = try StructuredReportPlan.plan(from: received)
        #expect(read.planes.map(\.level) == plan.planes.map(\.level))
        #expect(read.planes.map(\.slices) == plan.planes.map(\.slices))
        for (a, b) in zip(read.planes, plan.planes) {
            #expect((a.centre - b.centre).length < 1e-3)
            #expect(a.normal.angleDegrees(to: b.normal) < 0.01)
            #expect(abs(a.confidence - b.confidence) < 1e-6)
        }
    }
}
