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
        let server = try LiveProcess(LiveProcess.spineplan, ["serve", "--port", "0", "--state-dir", tmp.appending("state")])
        let port = try #require(server.listeningPort(), "\(server.text)")
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
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let first = try LiveProcess(LiveProcess.spineplan, ["serve", "--port", "0", "--state-dir", tmp.appending("a")])
        let port = try #require(first.listeningPort())
        let second = try await Subprocess.run(LiveProcess.spineplan, ["serve", "--port", "\(port)", "--state-dir", tmp.appending("b")])
        #expect(second.status == 1)
        #expect(second.stderr.contains("cannot listen"))
        first.signal(SIGTERM)
        #expect(first.waitForExit() == 0)
    }
}

/// A unix datagram socket standing in for systemd's NOTIFY_SOCKET.
final class NotifySocket {
    let fd: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(path.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0 else { throw PythonPeer.PeerFailure(message: "bind \(path) failed") }
    }

    /// The next datagram, waiting at most `timeout` seconds.
    func receive(timeout: Int32 = 10_000) -> String? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, timeout) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }

    deinit { close(fd); unlink(path) }
}

@Suite struct SystemdNotifyTests {
    /// Datagrams until one contains `needle` (or the socket goes quiet), all of them returned.
    func receive(_ socket: NotifySocket, until needle: String) -> [String] {
        var seen: [String] = []
        while let message = socket.receive() {
            seen.append(message)
            if message.contains(needle) { break }
        }
        return seen
    }

    @Test("serve: READY=1 only after the model loads and the port opens, WATCHDOG=1 from the heartbeat, RELOADING=1 around SIGHUP (bad config kept out), STOPPING=1")
    func notify() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let config = tmp.appending("spineplan.yaml")
        try "network:\n  port: 0\nsessions:\n  idle_timeout_s: 5\nstate_directory: \(tmp.appending("state"))\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let socket = try NotifySocket(path: tmp.appending("notify.sock"))
        let server = try LiveProcess(LiveProcess.spineplan, ["serve", "--config", config, "--destination", "FLAGPEER@127.0.0.1:5104"],
                                     environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "400000"])
        let start = receive(socket, until: "READY=1")
        let ready = try #require(start.last)
        #expect(start.first?.contains("STATUS=loading the model") == true, "\(start)")
        #expect(ready.contains("READY=1"))
        #expect(ready.contains("STATUS=listening on 127.0.0.1:"))
        let port = try #require(server.listeningPort())
        #expect(ready.contains(":\(port) as SPINEPLAN"))
        #expect(receive(socket, until: "WATCHDOG=1").last == "WATCHDOG=1")

        // A bad file is refused and named; the running configuration stays.
        try "sessions:\n  idle_timeout_s: -1\n".write(toFile: config, atomically: true, encoding: .utf8)
        server.signal(SIGHUP)
        let badReload = receive(socket, until: "READY=1")
        #expect(badReload.contains { $0.contains("RELOADING=1") }, "\(badReload)")
        #expect(server.waitForLine(containing: "reload refused") != nil)
        #expect(server.waitForLine(containing: "sessions.idle_timeout_s") != nil)
        try "network:\n  port: 0\nsessions:\n  idle_timeout_s: 2\nrecording:\n  enabled: true\nlogging:\n  level: debug\nstate_directory: \(tmp.appending("state"))\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        server.signal(SIGHUP)
        #expect(receive(socket, until: "READY=1").contains { $0.contains("RELOADING=1") })
        // What is built at start is named, not silently ignored.
        let deferred = try #require(server.waitForLine(containing: "take effect at the next restart"))
        #expect(deferred.contains("recording, logging.level"), "\(deferred)")
        // The file's new value applies; the command line's flags still win over the file after the reload.
        let reloaded = try #require(server.waitForLine(containing: "configuration reloaded"))
        #expect(reloaded.contains("idle_timeout_s=2.0"), "\(reloaded)")
        #expect(reloaded.contains("destination=FLAGPEER@127.0.0.1:5104"), "\(reloaded)")

        server.signal(SIGTERM)
        #expect(receive(socket, until: "STOPPING=1").last?.contains("STOPPING=1") == true)
        #expect(server.waitForExit() == 0)
    }
}
