import Foundation
import Logging
import Testing
import SpinePlanDICOM
import SpinePlanTestSupport
@testable import SpinePlanService

/// Issue 16 point 7: each refused connection was logged twice (by the DICOM edge and again by the daemon) and
/// without limit: 6,000 lines for 3,000 connects. Now once, and per peer at most one summary line a minute.
@Suite struct RefusalLogTests {
    @Test("the first refusal is logged, the rest of the minute only counted, and each minute that counted ends in one summary")
    func limiterWindows() {
        let limiter = RefusalLogLimiter(window: .seconds(60))
        let t0 = ContinuousClock.now
        var logged = 0
        var summaries: [RefusalLogLimiter.Summary] = []
        // 3,000 refusals from one peer over 150 s (one every 50 ms), as in the reproduction.
        for i in 0..<3000 {
            let (decision, done) = limiter.refusal(peer: "10.0.0.9", reason: "r\(i)", at: t0 + .milliseconds(50 * i))
            if decision == .log { logged += 1 }
            summaries += done
        }
        summaries += limiter.flush(at: t0 + .seconds(150), all: true)
        #expect(logged == 1)
        #expect(summaries.count == 3, "one per minute, and the unfinished one at shutdown")
        #expect(summaries.map(\.count).reduce(0, +) == 2999, "every refusal not logged in full is counted")
        #expect(summaries.last?.latest == "r2999")
        // Quiet for a whole window, the peer's next refusal is news again and logged in full.
        #expect(limiter.refusal(peer: "10.0.0.9", reason: "again", at: t0 + .seconds(400)).0 == .log)
    }

    @Test("peers are limited apart; a flood that stops is summarised by flush once its minute ends; the table is bounded")
    func limiterPeers() {
        let limiter = RefusalLogLimiter(window: .seconds(60), maximumPeers: 2)
        let t0 = ContinuousClock.now
        #expect(limiter.refusal(peer: "a", reason: "x", at: t0).0 == .log)
        #expect(limiter.refusal(peer: "b", reason: "x", at: t0).0 == .log)
        #expect(limiter.refusal(peer: "a", reason: "x", at: t0 + .seconds(1)).0 == .suppress)
        // Past two peers, new addresses share one overflow entry, so a scan from many addresses cannot grow the table.
        #expect(limiter.refusal(peer: "c", reason: "x", at: t0 + .seconds(1)).0 == .log)
        // ... so the next new address is counted with it.
        #expect(limiter.refusal(peer: "d", reason: "x", at: t0 + .seconds(1)).0 == .suppress)
        #expect(limiter.refusal(peer: "e", reason: "x", at: t0 + .seconds(2)).0 == .suppress)
        #expect(limiter.flush(at: t0 + .seconds(59)).isEmpty)
        let done = limiter.flush(at: t0 + .seconds(61))
        #expect(done.map(\.peer) == ["a", "other peers"], "b was quiet")
        #expect(done.map(\.count) == [1, 2])
    }

    @Test("a daemon logs each refused association once, and a run of them as one line plus one summary")
    func daemonLogsOnce() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        var configuration = ServiceConfiguration()
        configuration.network.port = 0
        configuration.stateDirectory = tmp.appending("state")
        configuration.network.allowedCallingAETitles = ["ONLYTHIS"]
        let log = CapturedLog()
        let daemon = try SpinePlanDaemon(configuration: configuration, configurationPath: nil, planning: GatedPlanning(),
                                         logger: log.logger)
        let running = Task { try await daemon.run() }
        let peer = DICOMPeer(aeTitle: "SPINEPLAN", host: "127.0.0.1", port: daemon.port)
        // In the full suite other tests' synchronous work can hold the cooperative pool, so the daemon's listener
        // thread may start a minute after the port is bound. A console that gives up meanwhile is logged as a refusal
        // (aborted) once the listener accepts its queued connection, so the allowed console waits as long as it takes.
        try StorageSCU(callingAETitle: "ONLYTHIS", timeoutSeconds: 600).echo(peer)
        let attempts = 20
        for _ in 0..<attempts {
            #expect(throws: DICOMError.self) { try StorageSCU(callingAETitle: "CONSOLE", timeoutSeconds: 60).echo(peer) }
        }
        // Let the intake take the events behind the refusals, as it would have logged them a second time there.
        for _ in 0..<100 where daemon.inbox.depth > 0 { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: .milliseconds(200))
        let during = log.all.filter { $0.contains("rejected") }
        #expect(during.count == 1, "\(during) \(log.all.filter { $0.hasPrefix("warning") })")
        running.cancel()
        _ = try? await running.value
        let summaries = log.all.filter { $0.contains("further refusals from this peer") }
        #expect(summaries.count == 1, "\(log.all.filter { $0.hasPrefix("warning") })")
        #expect(summaries.first?.contains("\(attempts - 1) further refusals") == true)
        #expect(summaries.first?.contains("peer=127.0.0.1") == true)
    }
}
