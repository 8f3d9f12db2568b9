import SpinePlanDICOM
import SpinePlanPlanner

/// What planning one localizer produced: the plan and the objects to send back, or why there are none.
public struct PlanningOutcome: Sendable {
    public var plan: ScanPlan?
    /// The Comprehensive 3D SR; nil when planning failed before a report could be made.
    public var report: DICOMObject?
    public var overlay: DICOMObject?
    /// The overlay as drawn, kept so that its PNG is encoded only for whoever asks (QA recordings), off the
    /// latency path.
    public var overlayCanvas: OverlayCanvas?
    /// The overlay as PNG, for the demo and QA reports; encoded on each access.
    public var overlayPNG: [UInt8]? { overlayCanvas?.png }
    /// Milliseconds per stage (`preprocess`, `inference`, `postprocess`, `plan`, `report`, `total`).
    public var timings: [String: Double]
    /// Set when no plan could be made; the message is safe to log (no PHI).
    public var failure: String?

    public init(plan: ScanPlan?, report: DICOMObject?, overlay: DICOMObject?, overlayCanvas: OverlayCanvas? = nil,
                timings: [String: Double], failure: String? = nil) {
        self.plan = plan
        self.report = report
        self.overlay = overlay
        self.overlayCanvas = overlayCanvas
        self.timings = timings
        self.failure = failure
    }
}

/// The stage that turns a localizer into a plan and its report: the same for `serve`, `plan` and `replay`.
public protocol SessionPlanning: Sendable {
    func plan(_ snapshot: LocalizerSnapshot) async -> PlanningOutcome
    /// The model behind the plans, as `spineplan status` names it (`name@version precision`).
    var modelDescription: String { get }
}

extension SessionPlanning {
    public var modelDescription: String { "none" }
}
