import Foundation
import Testing
import SpinePlanScanner
import SpinePlanDICOM
import SpinePlanTestSupport
@testable import SpinePlanQA
@testable import SpinePlanService

/// Recording through the real daemon: what a console sends over the network is what ends up on disk.
@Suite struct RecordingDaemonTests {
    @Test("serve --record-dir records every instance byte-identical to the file the console sent, and it replays the same")
    func liveRecording() async throws {
        try #require(PythonPeer.isAvailable, "needs the .venv peer")
        try #require(FileManager.default.isExecutableFile(atPath: LiveProcess.spineplan), "spineplan is not built")
        let root = RecordingFixtures.scratch("daemon")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let made = try await PythonPeer.run(["make-classic", root + "/files", "--count", "9", "--rows", "96", "--cols", "80"])
        try #require(made.status == 0, "\(made.stderr)")
        let server = try LiveProcess(LiveProcess.spineplan, ["serve", "--port", "0", "--state-dir", root + "/state",
                                                             "--record-dir", root + "/recordings"])
        let port = try #require(server.listeningPort(timeout: 120), "\(server.text)")
        let sent = try await PythonPeer.run(["send", root + "/files", "--port", String(port), "--calling", "QA_SCANNER"])
        #expect(sent.status == 0, "\(sent.stderr)")
        #expect(server.waitForLine(containing: "session recorded", timeout: 120) != nil, "\(server.text)")
        server.signal(SIGTERM)
        #expect(server.waitForExit(timeout: 60) == 0)
        // The session folder is the only entry; it verifies, and each dataset is the file's dataset byte for byte
        // (the peer sends files as they are on disk).
        let folders = POSIXRecordingDisk.entries(root + "/recordings")
        try #require(folders.count == 1, "\(folders)")
        let recording = try Recording(at: root + "/recordings/" + folders[0])
        #expect(recording.manifest.callingAETitle == "QA_SCANNER")
        #expect(recording.manifest.instances.count == 9)
        let files = try POSIXRecordingDisk.entries(root + "/files").map { name in
            let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: root + "/files/" + name)))
            let (_, offset) = try Part10File.parse(bytes)
            return Array(bytes[offset...])
        }
        for instance in recording.manifest.instances {
            #expect(files.contains(try recording.datasetBytes(instance)), "\(instance.file) differs from every sent file")
        }
        #expect(RecordingFixtures.mode(recording.directory) == 0o700)
        for file in RecordingFixtures.files(under: recording.directory) { #expect(RecordingFixtures.mode(file) == 0o600) }
        // The log names the recording, never the patient.
        #expect(!server.text.contains("PEER^CONSOLE") && !server.text.contains("PEER-0001"))

        let replay = try await Subprocess.run(LiveProcess.spineplan, ["replay", recording.directory, "--offline"])
        #expect(replay.status == 0, "\(replay.stdout)\(replay.stderr)")
    }
}
