import Foundation
import Logging
import SpinePlanService

/// Replays recordings one after another and compares each result with what was recorded.
public struct ReplayRunner: Sendable {
    /// Produces a new run from a recording: in-process, or through a live daemon.
    public typealias Replayer = @Sendable (Recording) async throws(RecordingError) -> ReplayedRun

    public var tolerance: ReplayTolerance
    let replay: Replayer

    public init(tolerance: ReplayTolerance, replay: @escaping Replayer) {
        self.tolerance = tolerance
        self.replay = replay
    }

    /// One outcome per path, in order. A bad recording is an `.error` outcome, never skipped.
    /// Replays each recording in turn; `recordingDone` is called after each (e.g. to draw progress).
    public func run(paths: [String], recordingDone: @Sendable () -> Void = {}) async -> [ReplayOutcome] {
        var outcomes: [ReplayOutcome] = []
        for path in paths {
            outcomes.append(await run(path: path))
            recordingDone()
        }
        return outcomes
    }

    public func run(path: String) async -> ReplayOutcome {
        let started = ContinuousClock.now
        let name = URL(fileURLWithPath: path).lastPathComponent
        func elapsed() -> Double { (ContinuousClock.now - started).seconds }
        let recording: Recording
        let recorded: ReplayedRun
        do throws(RecordingError) {
            recording = try Recording(at: path)
            recorded = ReplayedRun(plan: try recording.plan(), failure: recording.manifest.failure, overlayPNG: recording.overlayPNG())
        } catch {
            return .failed(name: name, path: path, "bad recording: \(error.message)", durationSeconds: elapsed())
        }
        let replayed: ReplayedRun
        do throws(RecordingError) {
            replayed = try await replay(recording)
        } catch {
            var outcome = ReplayOutcome.failed(name: name, path: path, "replay failed: \(error.message)", durationSeconds: elapsed())
            outcome.recordedPlan = recorded.plan
            outcome.recordedOverlayPNG = recorded.overlayPNG
            return outcome
        }
        return .compared(name: name, path: path, recorded: recorded.plan, replayed: replayed.plan, tolerance: tolerance,
                         latencySeconds: replayed.latencySeconds, durationSeconds: elapsed(),
                         recordedOverlayPNG: recorded.overlayPNG, replayedOverlayPNG: replayed.overlayPNG)
    }
}
