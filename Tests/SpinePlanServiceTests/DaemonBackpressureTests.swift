import Foundation
import Logging
import Testing
import SpinePlanDICOM
import SpinePlanTestSupport
import Synchronization
@testable import SpinePlanService

/// A planning stage that holds every localizer until the test opens the gate.
final class GatedPlanning: SessionPlanning {
    private let state = Mutex((open: false, started: 0, waiters: [CheckedContinuation<Void, Never>]()))

    var started: Int { state.withLock { $0.started } }

    func open() {
        let waiters = state.withLock { s in
            s.open = true
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }

    func plan(_ snapshot: LocalizerSnapshot) async -> PlanningOutcome {
        await withCheckedContinuation { continuation in
            let proceed = state.withLock { s in
                s.started += 1
                if !s.open { s.waiters.append(continuation) }
                return s.open
            }
            if proceed { continuation.resume() }
        }
        return PlanningOutcome(plan: nil, report: nil, overlay: nil, timings: [:], failure: "held by the test")
    }
}

@Suite(.enabled(if: PythonPeer.isAvailable, "needs the peer venv: run scripts/bootstrap.sh"))
struct DaemonBackpressureTests {
    static func waitFor(_ condition: () -> Bool) async throws {
        for _ in 0..<600 where !condition() { try await Task.sleep(for: .milliseconds(50)) }
    }

    @Test("with the planning queue full, new associations are rejected as transient; once it drains they are accepted")
    func overloadRejects() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        var configuration = ServiceConfiguration()
        configuration.network.port = 0
        configuration.stateDirectory = tmp.appending("state")
        configuration.sessions.maxQueuedSessions = 1
        var logger = Logger(label: "test.daemon")
        logger.logLevel = .critical
        let planning = GatedPlanning()
        let daemon = try SpinePlanDaemon(configuration: configuration, configurationPath: nil, planning: planning, logger: logger)
        let running = Task { try await daemon.run() }
        defer { running.cancel() }

        // A complete 3-plane localizer (ImagesInAcquisition reached) is queued and held by the planning stage.
        let series = tmp.appending("series")
        #expect(try await PythonPeer.run(["make-classic", series, "--count", "6"]).status == 0)
        let sent = try await PythonPeer.run(["send", series, "--port", "\(daemon.port)"]).json()
        #expect((sent["statuses"] as? [Int]) == Array(repeating: 0, count: 6), "\(sent)")
        try await Self.waitFor { planning.started == 1 && daemon.queue.pressure.withLock { $0.busy } }
        #expect(daemon.queue.pressure.withLock { $0 } == (queued: 1, busy: true))

        let refused = try await PythonPeer.run(["negotiate", SOPClass.mrImageStorage, "--port", "\(daemon.port)"]).json()
        #expect(refused["rejected"] as? Bool == true, "\(refused)")

        planning.open()
        try await Self.waitFor { !daemon.queue.pressure.withLock { $0.busy } }
        let accepted = try await PythonPeer.run(["negotiate", SOPClass.mrImageStorage, "--port", "\(daemon.port)"]).json()
        #expect(accepted["established"] as? Bool == true, "\(accepted)")
        #expect(daemon.queue.pressure.withLock { $0.queued } == 0)
    }
}
