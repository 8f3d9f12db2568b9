import Logging
import ServiceLifecycle

/// Turns what the DICOM edge took in into localizer sessions, and hands complete or idle ones to planning.
///
/// Ends when the listener has closed the inbox and every item is taken: then the sessions still open are
/// handed on as they are (a bounded last chance to be planned) and the planning queue is finished.
struct SessionIntake: Service {
    let inbox: InstanceInbox
    let assembler: SessionAssembler
    let queue: PlanningQueue
    let journal: InstanceJournal
    let status: ServiceStatus
    let logger: Logger

    func run() async throws {
        recoverJournal()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await expireIdleSessions() }
            while let item = await inbox.next() {
                status.beat()
                switch item {
                case let .instance(instance):
                    logger.info("instance received", metadata: ReceptionLog.metadata(instance))
                    queue.hand(assembler.add(instance))
                case let .event(event):
                    // The DICOM edge has logged the event (refusals rate-limited per peer); here it only triggers.
                    if event.kind == .released { queue.hand(assembler.released(associationID: event.associationID)) }
                }
            }
            group.cancelAll()
        }
        queue.hand(assembler.expireIdle(at: .now + .seconds(3600)))
        queue.finish()
        // The group shuts services down in order, and one that ends before its turn ends the group.
        try? await gracefulShutdown()
    }

    /// What an earlier run acknowledged and did not finish is assembled first, each association as released, so
    /// its sessions are planned and delivered now.
    private func recoverJournal() {
        let recovered = journal.recover()
        guard !recovered.isEmpty else { return }
        logger.notice("recovered acknowledged instances from the journal; planning them", metadata: [
            "instances": "\(recovered.count)", "directory": "\(journal.directory)"])
        for instance in recovered { queue.hand(assembler.add(instance)) }
        for association in Set(recovered.map(\.associationID)).sorted() {
            queue.hand(assembler.released(associationID: association))
        }
    }

    /// A session whose console has gone quiet is planned with what it has, at its idle deadline.
    private func expireIdleSessions() async {
        while !Task.isCancelled {
            queue.hand(assembler.expireIdle())
            let wait = assembler.nextIdleDeadline.map { max(.milliseconds(20), min(.seconds(1), $0 - .now)) } ?? .seconds(1)
            try? await Task.sleep(for: wait)
        }
    }
}
