/// In-process replay: the recording's instances go through the planning pipeline with no network in between.
public enum OfflineReplay {
    /// Runs the planning pipeline on the recorded instances.
    ///
    /// Wiring for the pipeline: `let o = await planner.plan(try recording.snapshot())`, then
    /// `ReplayedRun(plan: o.plan, failure: o.failure, overlayPNG: o.overlayPNG)`.
    public static func run(recording: Recording) async throws(RecordingError) -> ReplayedRun {
        _ = try recording.snapshot()
        throw RecordingError(.io, "offline replay needs the planning pipeline, which this build does not have yet")
    }
}
