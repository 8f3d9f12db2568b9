import Logging
import SpinePlanDICOM
import Synchronization

/// Localizers assembled and waiting for the planning loop, with the edge's backpressure tied to its depth.
///
/// Unbounded on purpose: what was acknowledged must be planned. The queue is bounded upstream instead, by
/// rejecting new associations (transient) while it or the inbox is long.
public final class PlanningQueue: Sendable {
    let snapshots: AsyncStream<LocalizerSnapshot>
    private let continuation: AsyncStream<LocalizerSnapshot>.Continuation
    /// Localizers handed on and not yet planned, and whether the edge is refusing associations.
    public let pressure = Mutex((queued: 0, busy: false))
    /// When "overloaded" was last logged, and the busy spells since that were not: under steady overload the edge
    /// flips every few hundred milliseconds, and a line each time was 488 lines in ten minutes.
    private let overloadLog = Mutex((at: ContinuousClock.Instant?.none, unlogged: 0))
    private let inbox: InstanceInbox
    private let scp: StorageSCP
    private let configuration: LiveConfiguration
    private let metrics: DaemonMetrics
    private let logger: Logger

    init(inbox: InstanceInbox, scp: StorageSCP, configuration: LiveConfiguration, metrics: DaemonMetrics, logger: Logger) {
        (snapshots, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        self.inbox = inbox
        self.scp = scp
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    func hand(_ ready: [LocalizerSnapshot]) {
        if !ready.isEmpty { pressure.withLock { $0.queued += ready.count } }
        for snapshot in ready {
            metrics.sessionReceived()
            continuation.yield(snapshot)
        }
        updatePressure()
    }

    /// No more localizers will come: the planning loop ends once it has planned the ones queued.
    func finish() { continuation.finish() }

    func planned() {
        pressure.withLock { $0.queued -= 1 }
        updatePressure()
    }

    /// While the planning queue or the inbox is long, new associations are rejected as transient, so consoles
    /// retry later; associations already open finish, and nothing acknowledged is dropped. Logged at most once a
    /// minute, with the count of the spells in between.
    private func updatePressure() {
        let limits = configuration.current.sessions
        let slices = inbox.depth
        let change: (busy: Bool, queued: Int)? = pressure.withLock { p in
            let busy = p.queued >= limits.maxQueuedSessions || slices >= max(1, limits.maxPendingSlices / 2)
            guard busy != p.busy else { return nil }
            p.busy = busy
            return (busy, p.queued)
        }
        guard let change else { return }
        scp.setBusy(change.busy)
        guard change.busy else { return }
        let now = ContinuousClock.now
        let unlogged: Int? = overloadLog.withLock { log in
            if let at = log.at, now - at < .seconds(60) {
                log.unlogged += 1
                return nil
            }
            defer { log = (now, 0) }
            return log.unlogged
        }
        guard let unlogged else { return }
        logger.warning("overloaded: rejecting new associations until the queue drains", metadata: [
            "queued_sessions": "\(change.queued)", "pending_slices": "\(slices)",
            "overloads_since_last_line": "\(unlogged)"])
    }
}
