import Dispatch
import Foundation
import Synchronization

/// One long-lived thread that runs every oneDNN call, fed by a job queue, and owns what must stay on it.
///
/// oneDNN's OpenMP runtime keeps a thread pool and state per calling thread: calling it from the cooperative pool
/// would spawn pools on several threads and oversubscribe the two cores. The `Resident` (the compiled network)
/// lives in the thread's own frame and is lent to each job, so it never crosses threads and need not be Sendable.
final class InferenceThread<Resident>: Sendable {
    typealias Job = @Sendable (inout Resident?) -> Void

    private struct Queue {
        var jobs: [Job] = []
        var stopping = false
    }

    private let queue = Mutex(Queue())
    /// Counts queued jobs plus the stop; the thread blocks on it between jobs.
    private let pending = DispatchSemaphore(value: 0)

    init(name: String = "spineplan.inference") {
        // The thread holds this object until `stop()` lets it end.
        let thread = Thread { [self] in loop() }
        thread.name = name
        // Deep OpenMP stacks and oneDNN JIT code want more than the 512 KiB secondary-thread default.
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Runs `body` on the inference thread with the resident, and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable (inout Resident?) throws(ModelError) -> T) async throws(ModelError) -> T {
        let result: Result<T, ModelError> = await withCheckedContinuation { continuation in
            let queued = submit { resident in continuation.resume(returning: Result { () throws(ModelError) in try body(&resident) }) }
            if !queued { continuation.resume(returning: .failure(ModelError(.engineFailure, "the inference thread has stopped"))) }
        }
        return try result.get()
    }

    /// Queues `job`; after `stop()` it is not queued and false is returned.
    @discardableResult
    func submit(_ job: @escaping Job) -> Bool {
        let queued = queue.withLock { q in
            guard !q.stopping else { return false }
            q.jobs.append(job)
            return true
        }
        if queued { pending.signal() }
        return queued
    }

    /// Lets queued jobs finish, then ends the thread (and the resident with it).
    func stop() {
        let first = queue.withLock { q in
            defer { q.stopping = true }
            return !q.stopping
        }
        if first { pending.signal() }
    }

    private func loop() {
        var resident: Resident?
        while true {
            pending.wait()
            let job: Job? = queue.withLock { q in q.jobs.isEmpty ? nil : q.jobs.removeFirst() }
            guard let job else { return }
            job(&resident)
        }
    }
}
