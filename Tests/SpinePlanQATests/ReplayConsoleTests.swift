import Crypto
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

@Suite struct ReplayConsoleTests {
    @Test("as the console, replay sends every instance with its pixels intact, association by association, and waits for the SR")
    func console() async throws {
        try #require(PythonPeer.isAvailable, "needs the .venv peer")
        let root = RecordingFixtures.scratch("console")
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Two associations of two instances each, 0.3 s apart.
        let recorder = SessionRecorder(configuration: RecordingConfiguration(directory: root, maxAgeSeconds: nil, maxTotalBytes: nil),
                                       logger: Logger(label: "qa"))
        let session = recorder.begin(sessionID: "console1", callingAE: "SCANNER", calledAE: "SPINEPLAN")
        for i in 0..<4 {
            session.record(instance: try RecordingFixtures.instance(i, association: i < 2 ? 7 : 9), arrivalOffset: i < 2 ? 0 : 0.3)
        }
        let plan = RecordingFixtures.plan(tilt: 3)
        let folder = try #require(session.finish(plan: plan, sr: nil, overlay: nil, model: "m", software: "s", timings: [:]))
        let recording = try Recording(at: folder)
        #expect(recording.manifest.instances.map(\.association) == [1, 1, 2, 2])
        try JSONEncoder().encode(plan).write(to: URL(fileURLWithPath: root + "/plan.json"))

        let console = try ConsoleReplay(target: DICOMPeer(aeTitle: "SPINEPLAN", host: "127.0.0.1", port: 1), aeTitle: "QA_CONSOLE",
                                        port: 0, bindAddress: "127.0.0.1", speed: .original, timeoutSeconds: 5, logger: Logger(label: "qa"))
        let daemon = try LiveProcess(PythonPeer.python, [PythonPeer.script("qa_fake_daemon.py"), "--count", "4", "--plan", root + "/plan.json",
                                                        "--return-port", String(console.port)], stdin: true)
        let ready = try #require(daemon.waitForLine(containing: "READY"), "\(daemon.text)")
        let port = try #require(Int(ready.split(separator: " ").last ?? ""))
        let outcome: Result<ReplayedRun, RecordingError> = await console.serving {
            do throws(RecordingError) {
                return .success(try await console.run(recording: recording, target: DICOMPeer(aeTitle: "SPINEPLAN", host: "127.0.0.1", port: port)))
            } catch {
                return .failure(error)
            }
        }
        daemon.closeStdin()
        #expect(daemon.waitForExit() == 0)
        let line = try #require(daemon.text.split(separator: "\n").last)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let received = try #require(json["received"] as? [[String: String]])
        #expect(received.map { $0["sop"] } == recording.manifest.instances.map(\.sopInstanceUID))
        let pixels = try recording.objects().map { SHA256.hex($0.root.bytes(.pixelData) ?? []) }
        #expect(received.map { $0["pixels"] } == pixels)
        #expect(json["associations"] as? [Int] == [1, 1, 2, 2])
        #expect(json["calling"] as? [String] == Array(repeating: "QA_CONSOLE", count: 4))

        #expect(json["sr_error"] is NSNull, "\(json["sr_error"] ?? "")")
        let run = try outcome.get()
        let latency = try #require(run.latencySeconds)
        #expect(latency >= 0 && latency < 8)
        #expect(!PlanComparison(recorded: plan, replayed: run.plan, tolerance: ReplayTolerance(centreMillimetres: 0.01, normalDegrees: 0.01)).isRegression)
    }

    @Test("the console turns the daemon's overlay image back into the PNG the daemon rendered")
    func overlayPNG() throws {
        let slice = try RecordingFixtures.instance(0).slices[0]
        let rendering = OverlayImageWriter.render(midSagittal: slice, stacks: [
            .init(label: "L4/L5", centre: slice.plane.point(column: 8, row: 8), normal: Vector3(0, 0.2, -1).normalized,
                  fieldOfView: SIMD2(20, 20), slices: 5, spacing: 4),
        ], notes: ["qa"])
        let object = try OverlayImageWriter.make(rendering, source: slice)
        let instance = ReceivedInstance(associationID: 1, callingAETitle: "SPINEPLAN", peerAddress: "127.0.0.1",
                                        sopClassUID: SOPClass.secondaryCaptureImageStorage, sopInstanceUID: "1.2.3",
                                        transferSyntaxUID: TransferSyntax.explicitVRLittleEndian,
                                        datasetBytes: try object.encoded(), slices: [])
        #expect(ConsoleReplay.png(instance) == rendering.png)
        let mr = try RecordingFixtures.instance(1)
        #expect(ConsoleReplay.png(mr) == nil)
    }
}
