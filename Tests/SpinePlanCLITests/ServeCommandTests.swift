import Foundation
import SpinePlanTestSupport
import Testing

@Suite(.serialized, .enabled(if: PythonPeer.isAvailable, "needs the peer venv: run scripts/bootstrap.sh"))
struct ServeCommandTests {
    @Test("serve logs each instance without PHI and shuts down cleanly on SIGTERM")
    func serveLifecycle() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let dir = tmp.appending("series")
        #expect(try await PythonPeer.run(["make-classic", dir, "--count", "4"]).status == 0)
        let server = try LiveProcess(LiveProcess.spineplan, ["serve", "--port", "0"])
        let listening = try #require(server.waitForLine(containing: "listening"), "\(server.text)")
        let port = try #require(listening.split(separator: " ").first { $0.hasPrefix("port=") }.flatMap { Int($0.dropFirst(5)) })
        // Exactly one listening socket, on loopback: DCMTK must not open a listener of its own on 0.0.0.0.
        let sockets = try await Subprocess.run("/usr/bin/ss", ["-Hltnp"])
        let ours = sockets.stdout.split(separator: "\n").filter { $0.contains("pid=\(server.pid),") }
        #expect(ours.count == 1, "listening sockets: \(ours)")
        #expect(ours.first?.contains("127.0.0.1:\(port)") == true)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { dir + "/" + $0 }
        let sent = try await Subprocess.run("/usr/bin/storescu", ["-aec", "SPINEPLAN", "127.0.0.1", "\(port)"] + files)
        #expect(sent.status == 0, "\(sent.stderr)")
        for i in 1...4 { #expect(server.waitForLine(containing: "instance_number=\(i) ") != nil) }
        server.signal(SIGTERM)
        #expect(server.waitForExit() == 0)
        let log = server.text
        #expect(log.contains("stopped cleanly instances=4"))
        // The peer's patient identity must not appear anywhere in the log.
        for phi in ["PEER^CONSOLE^TEST", "PEER-0001", "19700101", "CONSOLE^TEST"] { #expect(!log.contains(phi), "log leaks \(phi)") }
    }

    @Test("bad usage exits 2 with a message", arguments: [["serve", "--port", "70000"], ["serve", "--ae-title", "THIS_AE_TITLE_IS_TOO_LONG"], ["serve", "--log-level", "loud"], ["no-such-verb"]])
    func badUsage(_ args: [String]) async throws {
        let out = try await Subprocess.run(LiveProcess.spineplan, args)
        #expect(out.status == 2)
        #expect(!out.stderr.isEmpty)
    }

    @Test("a port already in use fails at start-up with exit 1")
    func portInUse() async throws {
        let first = try LiveProcess(LiveProcess.spineplan, ["serve", "--port", "0"])
        let listening = try #require(first.waitForLine(containing: "listening"))
        let port = try #require(listening.split(separator: " ").first { $0.hasPrefix("port=") }.map { String($0.dropFirst(5)) })
        let second = try await Subprocess.run(LiveProcess.spineplan, ["serve", "--port", port])
        #expect(second.status == 1)
        #expect(second.stderr.contains("cannot listen"))
        first.signal(SIGTERM)
        #expect(first.waitForExit() == 0)
    }
}
