import ServiceLifecycle

/// Runs the after-planning hook (QA recording) in order, off the planning loop: recording hashes and writes
/// megabytes, and the next localizer must not wait for that. Ends once the planning loop has finished and every
/// session handed to it is recorded.
public struct AfterPlanning: Service {
    public typealias Hook = @Sendable (LocalizerSnapshot, PlanningOutcome) -> Void

    private let hook: Hook
    private let planned: AsyncStream<(LocalizerSnapshot, PlanningOutcome)>
    private let continuation: AsyncStream<(LocalizerSnapshot, PlanningOutcome)>.Continuation

    init(hook: @escaping Hook) {
        self.hook = hook
        (planned, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
    }

    func hand(_ snapshot: LocalizerSnapshot, _ outcome: PlanningOutcome) { continuation.yield((snapshot, outcome)) }

    func finish() { continuation.finish() }

    public func run() async throws {
        for await (snapshot, outcome) in planned { hook(snapshot, outcome) }
        try? await gracefulShutdown()
    }
}
