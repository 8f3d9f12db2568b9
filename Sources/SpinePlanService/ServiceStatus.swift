import Synchronization

/// Live counters behind systemd's STATUS= line and the watchdog heartbeat.
public final class ServiceStatus: Sendable {
    private struct State {
        var sessionsPlanned = 0
        var sessionsFailed = 0
        var lastLatencyMilliseconds: Double?
        var lastBeat: ContinuousClock.Instant = .now
        var planningSince: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    public init() {}

    public func planned(latencyMilliseconds: Double) {
        state.withLock {
            $0.sessionsPlanned += 1
            $0.lastLatencyMilliseconds = latencyMilliseconds
        }
    }

    public func failed() { state.withLock { $0.sessionsFailed += 1 } }

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
