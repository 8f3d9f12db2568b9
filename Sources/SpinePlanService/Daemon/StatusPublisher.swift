import Foundation
import SpinePlanDICOM
import ServiceLifecycle
import Synchronization

/// Each second: `status.json` for `spineplan status`, the outbox gauges for `/metrics`, the summaries of refusal
/// runs that have ended, and a heartbeat for the watchdog.
final class StatusPublisher: Service {
    let status: ServiceStatus
    let metrics: DaemonMetrics
    let outbox: Outbox
    let scp: StorageSCP
    let configuration: LiveConfiguration
    let configurationPath: String?
    let modelDescription: String

    /// The outbox's send failures already counted into the metrics.
    private let reportedSendFailures = Mutex(0)
    /// Sessions planned, and when, at the last allocator trim.
    private let trimmedAt = Mutex((planned: 0, at: ContinuousClock.now))

    init(status: ServiceStatus, metrics: DaemonMetrics, outbox: Outbox, scp: StorageSCP, configuration: LiveConfiguration,
         configurationPath: String?, modelDescription: String) {
        self.status = status
        self.metrics = metrics
        self.outbox = outbox
        self.scp = scp
        self.configuration = configuration
        self.configurationPath = configurationPath
        self.modelDescription = modelDescription
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                status.beat()
                publish()
                scp.flushRefusalSummaries()
                trimAfterWork()
                try await Task.sleep(for: .seconds(1))
            }
        }
        // Gone is what status should report once we stop, not the last second we ran.
        unlink((configuration.current.stateDirectory as NSString).appendingPathComponent(DaemonStatusReport.fileName))
    }

    /// Gives freed memory back to the system once a second while sessions are being planned, and every 10 s
    /// otherwise (planned sessions leave memory when their late-slice window ends, with no plan to mark it).
    private func trimAfterWork() {
        let planned = status.sessionsPlanned
        let now = ContinuousClock.now
        let due = trimmedAt.withLock { last in
            guard last.planned != planned || now - last.at >= .seconds(10) else { return false }
            last = (planned, now)
            return true
        }
        if due { AllocatorPolicy.trim() }
    }

    /// A failure to write the file is not the service's failure: `spineplan status` reports it as stale.
    func publish() {
        let c = configuration.current
        let report = status.report(pid: getpid(), configurationFile: configurationPath,
                                   listening: "\(c.network.bind):\(scp.port) as \(c.network.aeTitle)",
                                   model: modelDescription, outboxDepth: outbox.depth,
                                   oldestOutboxItem: outbox.pending.first?.created)
        try? report.write(toDirectory: c.stateDirectory)
        let failures = outbox.sendFailures
        metrics.outbox(depth: report.outboxDepth, oldest: report.oldestOutboxItem,
                       failuresSinceLast: failures - reportedSendFailures.withLock { seen in defer { seen = failures }; return seen })
    }
}
