import Foundation
import Logging
import SpinePlanService

/// Connects the daemon to QA recording: after each plan, the session's instances, plan, SR and overlay are
/// written to their own folder, when `recording.enabled` is set.
public enum SessionRecording {
    /// The recorder for a configuration, or nil when recording is off.
    public static func recorder(configuration c: ServiceConfiguration, logger: Logger) -> SessionRecorder? {
        guard c.recording.enabled else { return nil }
        return SessionRecorder(configuration: RecordingConfiguration(
            directory: c.statePath(c.recording.directory), maxAgeSeconds: c.recording.maxAgeDays * 86400,
            maxTotalBytes: Int(c.recording.maxTotalMB * 1024 * 1024)), logger: logger)
    }

    /// The daemon's after-planning hook; a no-op when recording is off. Recording failures only log.
    public static func make(configuration c: ServiceConfiguration, modelName: String, logger: Logger)
        -> @Sendable (LocalizerSnapshot, PlanningOutcome) -> Void {
        guard let recorder = recorder(configuration: c, logger: logger) else { return { _, _ in } }
        let calledAE = c.network.aeTitle
        return { snapshot, outcome in
            let session = recorder.begin(snapshot: snapshot, calledAE: calledAE, startedAt: Date())
            session.finish(plan: outcome.plan, failure: outcome.failure, report: outcome.report, overlay: outcome.overlay,
                           overlayPNG: outcome.overlayPNG, model: modelName, software: SpinePlanVersion.current,
                           timings: outcome.timings)
        }
    }
}
