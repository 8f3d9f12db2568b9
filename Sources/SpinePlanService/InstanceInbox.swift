import Logging
import SpinePlanDICOM
import Synchronization

/// One thing the DICOM edge hands on, in the order it happened.
public enum InboxItem: Sendable {
    case instance(ReceivedInstance)
    /// An association event; it travels behind the instances that came before it, so an A-RELEASE is never seen
    /// ahead of the association's last instance.
    case event(AssociationEvent)
}

/// The first stage after the DICOM edge: a bounded hand-off that acknowledges only what it has taken.
///
/// When it is full, `accept` refuses with 0xA700 (out of resources) so the console keeps the instance and retries,
/// rather than this process queueing without bound. Events do not count against the capacity.
public final class InstanceInbox: InstanceSink {
    private struct State {
        var queue: [InboxItem] = []
        var instances = 0
        var waiters: [CheckedContinuation<InboxItem?, Never>] = []
        var closed = false
        var accepted = 0
    }

    public let capacity: Int
    private let state = Mutex(State())
    private let logger: Logger

    public init(capacity: Int, logger: Logger) {
        self.capacity = capacity
        self.logger = logger
    }

    public func accept(_ instance: ReceivedInstance) -> StoreVerdict {
        enum Outcome { case handed(CheckedContinuation<InboxItem?, Never>), queued, full, closed }
        let outcome: Outcome = state.withLock { s in
            if s.closed { return .closed }
            if !s.waiters.isEmpty { s.accepted += 1; return .handed(s.waiters.removeFirst()) }
            if s.instances >= capacity { return .full }
            s.queue.append(.instance(instance))
            s.instances += 1
            s.accepted += 1
            return .queued
        }
        switch outcome {
        case let .handed(waiter):
            waiter.resume(returning: .instance(instance))
            return .stored
        case .queued:
            return .stored
        case .full:
            // Logged once, by the DICOM edge that answers the C-STORE (rate-limited per peer).
            return .refused(status: DIMSEStatus.outOfResources, reason: "SpinePlan busy: retry later")
        case .closed:
            return .refused(status: DIMSEStatus.outOfResources, reason: "SpinePlan is shutting down")
        }
    }

    /// Queues an association event behind the instances already taken.
    public func post(_ event: AssociationEvent) {
        let waiter: CheckedContinuation<InboxItem?, Never>?? = state.withLock { s in
            if s.closed { return .none }
            if !s.waiters.isEmpty { return .some(s.waiters.removeFirst()) }
            s.queue.append(.event(event))
            return .some(nil)
        }
        if case let .some(.some(w)) = waiter { w.resume(returning: .event(event)) }
    }

    /// The next item, or nil once closed and drained.
    public func next() async -> InboxItem? {
        await withCheckedContinuation { continuation in
            let immediate: InboxItem?? = state.withLock { s in
                if !s.queue.isEmpty {
                    let item = s.queue.removeFirst()
                    if case .instance = item { s.instances -= 1 }
                    return .some(item)
                }
                if s.closed { return .some(nil) }
                s.waiters.append(continuation)
                return .none
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    /// Stops taking new instances; queued ones can still be drained.
    public func close() {
        let waiters = state.withLock { s in
            s.closed = true
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        waiters.forEach { $0.resume(returning: nil) }
    }

    /// Instances taken so far.
    public var acceptedCount: Int { state.withLock { $0.accepted } }
    public var depth: Int { state.withLock { $0.instances } }
}
