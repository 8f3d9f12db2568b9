import Foundation
import Logging
import Synchronization
import Testing
import SpinePlanDICOM
import SpinePlanScanner
import SpinePlanTestSupport
@testable import SpinePlanService

/// Issue 16 point 5: a console slower than the send timeout got the same result several times. The timeout is now
/// configurable (60 s by default), and a resend carries the same SOP Instance UID so the console can deduplicate.
@Suite struct OutboxTimeoutTests {
    let logger = Logger(label: "test.outbox-timeout")

    /// A console that stores on arrival (as a real one writes before it answers), then takes `delay` to answer its
    /// first C-STORE, and answers the rest at once.
    final class SlowConsole: InstanceSink {
        let delay: Double
        let received = Mutex<[String]>([])

        init(delay: Double) { self.delay = delay }

        func accept(_ instance: ReceivedInstance) -> StoreVerdict {
            let first = received.withLock { $0.append(instance.sopInstanceUID); return $0.count == 1 }
            if first { Thread.sleep(forTimeInterval: delay) }
            return .stored
        }
    }

    /// Runs a StorageSCP in front of `sink` on a free loopback port until `body` returns.
    func withConsole<R>(_ sink: SlowConsole, _ body: (DICOMPeer) async throws -> R) async throws -> R {
        var config = StorageSCPConfiguration()
        config.port = 0
        config.aeTitle = "SLOWCONSOLE"
        let scp = try StorageSCP(configuration: config, sink: sink, logger: logger)
        let finished = Handoff<Bool>()
        let thread = Thread {
            try? scp.runBlocking()
            finished.set(true)
        }
        thread.start()
        defer {
            scp.stop()
            _ = finished.wait()
        }
        return try await body(DICOMPeer(aeTitle: "SLOWCONSOLE", host: "127.0.0.1", port: scp.port))
    }

    @Test("the send timeout defaults to 60 s in the file, the daemon and the outbox, and is read from outbox.send_timeout_s")
    func defaults() throws {
        #expect(ServiceConfiguration().outbox.sendTimeoutSeconds == 60)
        #expect(Outbox.Settings().timeoutSeconds == 60)
        let parsed = try ConfigurationFile.parse("outbox:\n  send_timeout_s: 90\n", environment: [:])
        #expect(Outbox.Settings(parsed).timeoutSeconds == 90)
        #expect(throws: ConfigurationError.self) { try ConfigurationFile.parse("outbox:\n  send_timeout_s: 0\n", environment: [:]) }
    }

    @Test("a console slower than the send timeout gets the result again with the same SOP Instance UID; within it, once",
          arguments: [(timeout: 1, copies: 2), (timeout: 4, copies: 1)])
    func slowConsole(timeout: Int, copies: Int) async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let console = SlowConsole(delay: 2)
        let object = try DICOMFileWriter.makeMRImage(ServiceFixtures.slice(index: 0))
        let uid = try #require(object.root.trimmed(.sopInstanceUID))
        let settings = Outbox.Settings(retryInitialSeconds: 0.05, retryMaxSeconds: 0.1, expirySeconds: 600, timeoutSeconds: timeout)
        let outbox = try Outbox(directory: tmp.appending("outbox"), settings: settings, logger: logger)
        try await withConsole(console) { peer in
            try outbox.enqueue(object, kind: "sr", sessionID: "s1", to: peer)
            for _ in 0..<5 where outbox.depth > 0 {
                await outbox.deliverDue(now: Date().addingTimeInterval(1))
            }
        }
        #expect(outbox.depth == 0)
        #expect(outbox.deliveredCount == 1)
        let received = console.received.withLock { $0 }
        #expect(received == Array(repeating: uid, count: copies),
                "the console saw \(received.count) copies; every copy must carry the SOP Instance UID the outbox stored")
    }

    /// The reproduction's console, 12 s per C-STORE, against the default timeout. About 25 s, mostly waiting.
    @Test("a console taking 12 s per C-STORE gets the SR and the overlay once each with the default timeout",
          .enabled(if: PythonPeer.isAvailable, "needs the peer venv"))
    func twelveSecondConsole() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let scp = try LiveProcess(PythonPeer.python, [PythonPeer.script("console.py"), "scp", "--delay", "12"], stdin: true)
        let line = try #require(scp.waitForLine(containing: "READY"))
        let port = try #require(Int(line.split(separator: " ").last ?? ""))
        let peer = DICOMPeer(aeTitle: "PEERSCP", host: "127.0.0.1", port: port)
        var settings = Outbox.Settings(retryInitialSeconds: 0.05, retryMaxSeconds: 0.1)
        settings.timeoutSeconds = ServiceConfiguration().outbox.sendTimeoutSeconds
        let outbox = try Outbox(directory: tmp.appending("outbox"), settings: settings, logger: logger)
        for (i, kind) in ["sr", "overlay"].enumerated() {
            try outbox.enqueue(DICOMFileWriter.makeMRImage(ServiceFixtures.slice(index: i)), kind: kind, sessionID: "s1", to: peer)
        }
        for _ in 0..<5 where outbox.depth > 0 { await outbox.deliverDue(now: Date().addingTimeInterval(1)) }
        scp.closeStdin()
        _ = scp.waitForExit(timeout: 30)
        let summary = try #require(scp.text.split(separator: "\n").last.flatMap { Data($0.utf8) })
        let accepted = try #require((try JSONSerialization.jsonObject(with: summary) as? [String: Any])?["accepted"] as? [String])
        #expect(outbox.deliveredCount == 2)
        #expect(accepted == (0..<2).map { ServiceFixtures.slice(index: $0).sopInstanceUID }, "duplicates: \(accepted)")
    }
}
