import Foundation

/// One long-lived thread that runs every oneDNN call, fed by a job queue.
///
/// oneDNN's OpenMP runtime keeps a thread pool per calling thread: calling it from the cooperative pool would
/// spawn pools on several threads and oversubscribe the two cores. `@unchecked Sendable`: the job list is only
/// touched under `condition`.
final class InferenceThread: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var stopping = false

    init(name: String = "spineplan.inference") {
        let thread = Thread { [self] in loop() }
        thread.name = name
        // Deep OpenMP stacks and oneDNN JIT code want more than the 512 KiB secondary-thread default.
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Runs `body` on the inference thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws(ModelError) -> T) async throws(ModelError) -> T {
        let result: Result<T, ModelError> = await withCheckedContinuation { continuation in
            submit { continuation.resume(returning: Result(catching: body)) }
        }
        return try result.get()
    }

    /// Queues `job`; after `stop()` the job is dropped.
    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return }
        jobs.append(job)
        condition.signal()
    }

    /// Lets queued jobs finish, then ends the thread.
    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty { condition.unlock(); return }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
