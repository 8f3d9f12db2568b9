import Synchronization

/// Live counters behind systemd's STATUS= line and the watchdog heartbeat.
public final class ServiceStatus: Sendable {
    private struct State {
        var sessionsPlanned = 0
        var sessionsFailed = 0
        var lastLatencyMilliseconds: Double?
        var lastBeat: ContinuousClock.Instant = .now
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

    public var sessionsPlanned: Int { state.withLock { $0.sessionsPlanned } }

    /// One line for STATUS=: sessions done, last latency, outbox depth.
    public func summary(outboxDepth: Int) -> String {
        state.withLock { s in
            let latency = s.lastLatencyMilliseconds.map { String(format: "%.0f ms", $0) } ?? "-"
            return "sessions \(s.sessionsPlanned) planned, \(s.sessionsFailed) failed; last \(latency); outbox \(outboxDepth)"
        }
    }
}
