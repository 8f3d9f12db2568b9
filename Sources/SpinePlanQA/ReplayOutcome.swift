import SpinePlanPlanner
import SpinePlanService

/// What replaying one recording gave: pass, regression with the deltas, or an error (bad recording, no answer).
public struct ReplayOutcome: Sendable {
    /// The verdict; errors are never folded into passes or skips.
    public enum Verdict: String, Sendable, Equatable { case pass, regression, error }

    /// The recording's folder name.
    public var name: String
    public var path: String
    public var verdict: Verdict
    public var comparison: PlanComparison?
    /// Why the recording could not be replayed, for `.error`.
    public var error: String?
    /// Console-side latency (last C-STORE response to SR received), in seconds; nil offline.
    public var latencySeconds: Double?
    /// Wall time spent on this recording.
    public var durationSeconds: Double
    public var recordedPlan: ScanPlan?
    public var replayedPlan: ScanPlan?
    public var recordedOverlayPNG: [UInt8]?
    public var replayedOverlayPNG: [UInt8]?

    public init(name: String, path: String, verdict: Verdict, comparison: PlanComparison? = nil, error: String? = nil,
                latencySeconds: Double? = nil, durationSeconds: Double = 0, recordedPlan: ScanPlan? = nil,
                replayedPlan: ScanPlan? = nil, recordedOverlayPNG: [UInt8]? = nil, replayedOverlayPNG: [UInt8]? = nil) {
        self.name = name
        self.path = path
        self.verdict = verdict
        self.comparison = comparison
        self.error = error
        self.latencySeconds = latencySeconds
        self.durationSeconds = durationSeconds
        self.recordedPlan = recordedPlan
        self.replayedPlan = replayedPlan
        self.recordedOverlayPNG = recordedOverlayPNG
        self.replayedOverlayPNG = replayedOverlayPNG
    }

    /// A failed replay of a recording that could not be read or answered.
    public static func failed(name: String, path: String, _ message: String, durationSeconds: Double = 0) -> ReplayOutcome {
        ReplayOutcome(name: name, path: path, verdict: .error, error: message, durationSeconds: durationSeconds)
    }

    /// Compares and sets the verdict.
    public static func compared(name: String, path: String, recorded: ScanPlan?, replayed: ScanPlan?, tolerance: ReplayTolerance,
                                latencySeconds: Double? = nil, durationSeconds: Double = 0, recordedOverlayPNG: [UInt8]? = nil,
                                replayedOverlayPNG: [UInt8]? = nil) -> ReplayOutcome {
        let comparison = PlanComparison(recorded: recorded, replayed: replayed, tolerance: tolerance)
        return ReplayOutcome(name: name, path: path, verdict: comparison.isRegression ? .regression : .pass, comparison: comparison,
                             latencySeconds: latencySeconds, durationSeconds: durationSeconds, recordedPlan: recorded,
                             replayedPlan: replayed, recordedOverlayPNG: recordedOverlayPNG, replayedOverlayPNG: replayedOverlayPNG)
    }

    /// Levels of a plan for display: `L3/L4 L4/L5`, `abstained`, or `no plan`.
    static func levels(_ plan: ScanPlan?) -> String {
        guard let plan else { return "no plan" }
        let names = plan.planes.enumerated().map { $1.level?.name ?? "#\($0 + 1)" }
        let text = names.isEmpty ? "no planes" : names.joined(separator: " ")
        return plan.abstained ? text + " (abstained)" : text
    }
}
