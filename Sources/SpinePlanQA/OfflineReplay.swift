import SpinePlanService
/// In-process replay: the recording's instances go through the planning pipeline with no network in between.
public enum OfflineReplay {
    /// Runs `planning` (the daemon's pipeline) on the recorded session, handed over whole as the assembler would.
    public static func run(recording: Recording, planning: any SessionPlanning) async throws(RecordingError) -> ReplayedRun {
        let outcome = await planning.plan(try recording.snapshot())
        return ReplayedRun(plan: outcome.plan, failure: outcome.failure, overlayPNG: outcome.overlayPNG)
    }
}
