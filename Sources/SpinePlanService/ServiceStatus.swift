import Foundation
import Synchronization

/// Live counters behind systemd's STATUS= line, the watchdog heartbeat and `spineplan status`.
public final class ServiceStatus: Sendable {
    /// Sessions kept for `spineplan status`.
    static let recentLimit = 10

    private struct State {
        var sessionsPlanned = 0
        var sessionsAbstained = 0
        var sessionsFailed = 0
        var recent: [DaemonStatusReport.Session] = []
        var lastError: DaemonStatusReport.Failure?
        var lastLatencyMilliseconds: Double?
        var lastBeat: ContinuousClock.Instant = .now
        var planningSince: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    public let startedAt = Date()

    public init() {}

    public func planned(latencyMilliseconds: Double, abstained: Bool = false) {
        state.withLock {
            $0.sessionsPlanned += 1
            if abstained { $0.sessionsAbstained += 1 }
            $0.lastLatencyMilliseconds = latencyMilliseconds
            Self.remember(&$0, .init(finishedAt: Date(), outcome: abstained ? "abstained" : "planned",
                                     latencyMilliseconds: latencyMilliseconds))
        }
    }

    /// A session that produced nothing to send; `reason` must be free of patient data (it is shown to admins).
    public func failed(reason: String) {
        state.withLock {
            $0.sessionsFailed += 1
            $0.lastError = .init(at: Date(), message: reason)
            Self.remember(&$0, .init(finishedAt: Date(), outcome: "failed", latencyMilliseconds: nil))
        }
    }

    private static func remember(_ s: inout State, _ session: DaemonStatusReport.Session) {
        s.recent.append(session)
        if s.recent.count > recentLimit { s.recent.removeFirst(s.recent.count - recentLimit) }
    }

    /// The counters as `spineplan status` shows them; the caller fills in what it owns (listener, model, outbox).
    func report(pid: Int32, configurationFile: String?, listening: String, model: String, outboxDepth: Int,
                oldestOutboxItem: Date?) -> DaemonStatusReport {
        state.withLock { s in
            DaemonStatusReport(pid: pid, startedAt: startedAt, writtenAt: Date(), configurationFile: configurationFile,
                               listening: listening, model: model, sessionsPlanned: s.sessionsPlanned,
                               sessionsAbstained: s.sessionsAbstained, sessionsFailed: s.sessionsFailed, recent: s.recent,
                               outboxDepth: outboxDepth, oldestOutboxItem: oldestOutboxItem, lastError: s.lastError)
        }
    }

    /// The pipeline loop calls this every turn; the watchdog only pets systemd while it keeps coming.
    public func beat(at now: ContinuousClock.Instant = .now) { state.withLock { $0.lastBeat = now } }

    public func sinceLastBeat(at now: ContinuousClock.Instant = .now) -> Duration { now - state.withLock { $0.lastBeat } }

    /// Brackets one localizer's planning, so a plan that never returns is seen even while other loops beat.
    public func planningStarted(at now: ContinuousClock.Instant = .now) { state.withLock { $0.planningSince = now } }
    public func planningFinished() { state.withLock { $0.planningSince = nil } }

    /// True while every loop turns: beats keep coming and no plan has run longer than `limit`.
    public func isHealthy(limit: Duration, at now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { s in
            now - s.lastBeat < limit && (s.planningSince.map { now - $0 < limit } ?? true)
        }
    }

    public var sessionsPlanned: Int { state.withLock { $0.sessionsPlanned } }

    /// One line for STATUS=: sessions done, last latency, outbox depth.
    public func summary(outboxDepth: Int) -> String {
        state.withLock { s in
            let latency = s.lastLatencyMilliseconds.map { String(format: "%.0f ms", $0) } ?? "-"
            return "sessions \(s.sessionsPlanned) planned, \(s.sessionsFailed) failed; last \(latency); outbox \(outboxDepth)"
        }
    }
}
