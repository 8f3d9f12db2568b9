import SpinePlanPlanner
import SpinePlanService

/// What a replay produced for one recording, before it is compared with what was recorded.
public struct ReplayedRun: Sendable {
    /// The new plan; nil when the pipeline produced none (say why in `failure`).
    public var plan: ScanPlan?
    public var failure: String?
    public var overlayPNG: [UInt8]?
    /// Console-side latency in seconds (target mode only).
    public var latencySeconds: Double?

    public init(plan: ScanPlan?, failure: String? = nil, overlayPNG: [UInt8]? = nil, latencySeconds: Double? = nil) {
        self.plan = plan
        self.failure = failure
        self.overlayPNG = overlayPNG
        self.latencySeconds = latencySeconds
    }
}
