import Foundation
import SpinePlanTestSupport
import Testing

/// The golden regression suite: sessions from the virtual scanner, recorded by the real daemon, replayed through
/// `--offline` and `--target` with this build, and a deliberate protocol change caught as a regression.
@Suite(.serialized, .enabled(if: PythonPeer.isAvailable, "needs the peer venv: run scripts/bootstrap.sh"))
struct GoldenReplayTests {
    static let sessions = 3

    /// JUnit totals, read by Python's xml.etree (`Tests/Peers/qa_junit_check.py`, an independent reader).
    static func junit(_ path: String) async throws -> (tests: Int, failures: Int, errors: Int) {
        let report = try await PythonPeer.run([path], script: "qa_junit_check.py").json()
        let cases = try #require(report["cases"] as? [[String: Any]], "\(report)")
        return (cases.count, cases.filter { !($0["failure"] is NSNull) }.count, cases.filter { !($0["error"] is NSNull) }.count)
    }

    @Test("recorded sessions replay without regressions offline and against a live daemon; a protocol change is a regression")
    func golden() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let made = try await Subprocess.run(LiveProcess.spineplan, ["synth", "--out", tmp.appending("synth"), "--seed", "70",
                                                                    "--count", "\(Self.sessions)"])
        try #require(made.status == 0, "\(made.stderr)")
        let cases = try FileManager.default.contentsOfDirectory(atPath: tmp.appending("synth")).filter { !$0.hasPrefix(".") }.sorted()
        try #require(cases.count == Self.sessions)

        // Record: the daemon as deployed, with recording on. Nobody listens at the destination; that does not matter here.
        let recordings = tmp.appending("recordings")
        let (recorder, port) = try DaemonEndToEndTests.serve(["--state-dir", tmp.appending("state-rec"), "--record-dir", recordings,
                                                              "--destination", "NOBODY@127.0.0.1:\(freePort())"])
        for name in cases {
            let sent = try await PythonPeer.run(["send", tmp.appending("synth/\(name)/localizer"), "--port", "\(port)"]).json()
            #expect((sent["statuses"] as? [Int])?.allSatisfy { $0 == 0 } == true, "\(sent)")
        }
        for _ in 0..<600 where recorder.text.components(separatedBy: "session recorded").count - 1 < Self.sessions {
            try await Task.sleep(for: .milliseconds(100))
        }
        recorder.signal(SIGTERM)
        #expect(recorder.waitForExit(timeout: 60) == 0)
        let folders = try FileManager.default.contentsOfDirectory(atPath: recordings).filter { !$0.hasPrefix(".") }.sorted()
            .map { recordings + "/" + $0 }
        try #require(folders.count == Self.sessions, "\(folders)")

        // Offline: the same build plans the same way.
        let offline = try await Subprocess.run(LiveProcess.spineplan, ["replay"] + folders + [
            "--offline", "--junit", tmp.appending("offline.xml"), "--html", tmp.appending("offline.html")])
        #expect(offline.status == 0, "\(offline.stdout)\(offline.stderr)")
        let offlineJUnit = try await Self.junit(tmp.appending("offline.xml"))
        #expect(offlineJUnit == (Self.sessions, 0, 0))
        let html = try String(contentsOfFile: tmp.appending("offline.html"), encoding: .utf8)
        #expect(html.components(separatedBy: "data:image/png;base64,").count - 1 >= 2 * Self.sessions, "old and new overlays inline")

        // Against a live daemon, as the console: send, receive the SR, compare.
        let consolePort = freePort()
        let (daemon, livePort) = try DaemonEndToEndTests.serve(["--state-dir", tmp.appending("state-live"),
                                                                "--destination", "QA_CONSOLE@127.0.0.1:\(consolePort)"])
        let target = try await Subprocess.run(LiveProcess.spineplan, ["replay"] + folders + [
            "--target", "SPINEPLAN@127.0.0.1:\(livePort)", "--listen", "QA_CONSOLE@\(consolePort)", "--bind", "127.0.0.1",
            "--speed", "max", "--timeout", "120", "--junit", tmp.appending("target.xml")])
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 60) == 0)
        #expect(target.status == 0, "\(target.stdout)\(target.stderr)\n\(daemon.text.suffix(2000))")
        #expect(try await Self.junit(tmp.appending("target.xml")) == (Self.sessions, 0, 0))
        print(target.stdout)

        // A smaller field of view is a change the comparison must catch.
        try "protocol:\n  fov_mm: [160, 160]\n".write(toFile: tmp.appending("narrow.yaml"), atomically: true, encoding: .utf8)
        let narrow = try await Subprocess.run(LiveProcess.spineplan, ["replay"] + folders + [
            "--offline", "--config", tmp.appending("narrow.yaml"), "--junit", tmp.appending("narrow.xml")])
        #expect(narrow.status == 1, "\(narrow.stdout)\(narrow.stderr)")
        let narrowJUnit = try await Self.junit(tmp.appending("narrow.xml"))
        #expect(narrowJUnit.tests == Self.sessions && narrowJUnit.failures == Self.sessions && narrowJUnit.errors == 0)
    }
}
