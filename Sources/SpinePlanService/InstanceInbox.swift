import Logging
import SpinePlanDICOM
import Synchronization

/// The first stage after the DICOM edge: a bounded hand-off that acknowledges only what it has taken.
///
/// When it is full, `accept` refuses with 0xA700 (out of resources) so the console keeps the instance and retries,
/// rather than this process queueing without bound.
public final class InstanceInbox: InstanceSink {
    private struct State {
        var queue: [ReceivedInstance] = []
        var waiters: [CheckedContinuation<ReceivedInstance?, Never>] = []
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
        enum Outcome { case handed(CheckedContinuation<ReceivedInstance?, Never>), queued, full, closed }
        let outcome: Outcome = state.withLock { s in
            if s.closed { return .closed }
            if !s.waiters.isEmpty { s.accepted += 1; return .handed(s.waiters.removeFirst()) }
            if s.queue.count >= capacity { return .full }
            s.queue.append(instance)
            s.accepted += 1
            return .queued
        }
        switch outcome {
        case let .handed(waiter):
            waiter.resume(returning: instance)
            return .stored
        case .queued:
            return .stored
        case .full:
            logger.warning("inbox full; refusing instance so the console retries", metadata: ["capacity": "\(capacity)"])
            return .refused(status: DIMSEStatus.outOfResources, reason: "SpinePlan busy: retry later")
        case .closed:
            return .refused(status: DIMSEStatus.outOfResources, reason: "SpinePlan is shutting down")
        }
    }

    /// The next instance, or nil once closed and drained.
    public func next() async -> ReceivedInstance? {
        await withCheckedContinuation { continuation in
            let immediate: ReceivedInstance?? = state.withLock { s in
                if !s.queue.isEmpty { return .some(s.queue.removeFirst()) }
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
    public var depth: Int { state.withLock { $0.queue.count } }
}
