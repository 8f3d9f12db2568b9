import Foundation
import Logging
import ServiceLifecycle
import SpinePlanDICOM

/// Plans queued localizers one at a time (inference is single-threaded by design) and puts each result in the
/// outbox; after the queue is finished it plans what is left, then ends.
struct PlanningLoop: Service {
    let queue: PlanningQueue
    let planning: SessionPlanning
    let outbox: Outbox
    let configuration: LiveConfiguration
    let status: ServiceStatus
    let metrics: DaemonMetrics
    let notifier: SystemdNotifier
    let afterPlanning: AfterPlanning
    let journal: InstanceJournal
    let logger: Logger

    func run() async throws {
        for await snapshot in queue.snapshots {
            let started = ContinuousClock.now
            status.planningStarted(at: started)
            let outcome = await planning.plan(snapshot)
            status.planningFinished()
            queue.planned()
            status.beat()
            let disposition = await deliver(snapshot, outcome, started: started)
            if disposition == .shutDownWaitingForSpace { break }
            if disposition == .finishedWithoutResults {
                // It can never give a result: the journal's copies are done with. (Results forget them as they
                // are committed to the outbox, in `deliver`.)
                journal.forget(sopInstanceUIDs: snapshot.instances.map(\.sopInstanceUID))
            }
            afterPlanning.hand(snapshot, outcome)
            notifier.status(status.summary(outboxDepth: outbox.depth))
        }
        afterPlanning.finish()
        try? await gracefulShutdown()
    }

    /// What became of a planned session's results.
    private enum Disposition {
        /// In the outbox (the journal forgot its slices as they were committed).
        case finished
        /// Never to be made: planning failed, or there is no destination.
        case finishedWithoutResults
        /// The outbox could not write them for a reason other than space: the journal keeps the slices, and the
        /// next start plans them again.
        case keptInJournal
        /// Shutdown came while they waited for disk space; the journal keeps the slices for the next start.
        case shutDownWaitingForSpace
    }

    private func deliver(_ snapshot: LocalizerSnapshot, _ outcome: PlanningOutcome,
                         started: ContinuousClock.Instant) async -> Disposition {
        var metadata: Logger.Metadata = [
            "session": "\(snapshot.sessionID)", "generation": "\(snapshot.generation)", "trigger": "\(snapshot.trigger.rawValue)",
            "calling_ae": "\(snapshot.callingAETitle)", "slices": "\(snapshot.slices.count)"]
        for (stage, ms) in outcome.timings { metadata["ms_\(stage)"] = "\(String(format: "%.1f", ms))" }
        guard let report = outcome.report, let plan = outcome.plan else {
            metrics.session(outcome: "failed", timings: outcome.timings, totalMilliseconds: nil)
            status.failed(reason: "session could not be planned: \(outcome.failure ?? "no report")")
            metadata["reason"] = "\(outcome.failure ?? "no report")"
            logger.error("session could not be planned", metadata: metadata)
            return .finishedWithoutResults
        }
        let c = configuration.current
        guard let peer = c.returnPeer(forCallingAETitle: snapshot.callingAETitle) else {
            metrics.session(outcome: "failed", timings: outcome.timings, totalMilliseconds: nil)
            status.failed(reason: "no destination for results of calling AE \(snapshot.callingAETitle)")
            logger.error("no destination for results: set `destination` or register the calling AE under `peers`",
                         metadata: metadata)
            return .finishedWithoutResults
        }
        var results: [(object: DICOMObject, kind: String)] = [(report, "sr")]
        if c.report.overlay, let overlay = outcome.overlay { results.append((overlay, "overlay")) }
        var waitingForSpace = false
        while true {
            do {
                try outbox.enqueue(results, sessionID: snapshot.sessionID, to: peer) {
                    journal.forget(sopInstanceUIDs: snapshot.instances.map(\.sopInstanceUID))
                }
                if waitingForSpace { logger.notice("disk space is back: results queued", metadata: metadata) }
                break
            } catch where error.code == .diskFull {
                // Held, not dropped: planning waits (and the edge turns consoles away) until there is room again.
                if !waitingForSpace {
                    waitingForSpace = true
                    metadata["reason"] = "\(error.message)"
                    logger.critical("disk full: holding the results until space returns", metadata: metadata)
                    metadata["reason"] = nil
                }
                do { try await Task.sleep(for: .seconds(1)) } catch { return .shutDownWaitingForSpace }
            } catch {
                metrics.session(outcome: "failed", timings: outcome.timings, totalMilliseconds: nil)
                status.failed(reason: "result could not be stored in the outbox: \(error.message)")
                metadata["reason"] = "\(error.message)"
                logger.critical("result could not be stored in the outbox; its slices stay journaled for the next start",
                                metadata: metadata)
                return .keptInJournal
            }
        }
        let ms = (ContinuousClock.now - started).milliseconds
        status.planned(latencyMilliseconds: ms, abstained: plan.abstained)
        metrics.session(outcome: plan.abstained ? "abstained" : "planned", timings: outcome.timings, totalMilliseconds: ms)
        metadata["planes"] = "\(plan.planes.count)"
        metadata["abstained"] = "\(plan.abstained)"
        metadata["warnings"] = "\(plan.warnings.count)"
        metadata["latency_ms"] = "\(String(format: "%.1f", ms))"
        metadata["destination"] = "\(peer)"
        logger.info("session planned", metadata: metadata)
        return .finished
    }
}
