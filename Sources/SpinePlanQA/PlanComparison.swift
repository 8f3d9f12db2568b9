import SpinePlanGeometry
import SpinePlanPlanner
import SpinePlanService

/// How far a replayed plan may drift from the recorded one before it counts as a regression.
public struct ReplayTolerance: Sendable, Equatable {
    public var centreMillimetres: Double
    public var normalDegrees: Double
    /// FOV difference allowed per axis, in mm.
    public var fieldOfViewMillimetres: Double

    public init(centreMillimetres: Double = 1, normalDegrees: Double = 1, fieldOfViewMillimetres: Double = 1) {
        self.centreMillimetres = centreMillimetres
        self.normalDegrees = normalDegrees
        self.fieldOfViewMillimetres = fieldOfViewMillimetres
    }
}

/// The differences between a recorded plan and a replayed one, plane by plane, and the verdict.
public struct PlanComparison: Sendable, Equatable {
    /// One recorded plane next to its replayed counterpart.
    public struct PlaneDelta: Sendable, Equatable {
        /// The level, or `#n` for an unnamed plane.
        public var label: String
        /// Distance between the centres in mm; nil when the plane exists on one side only.
        public var centreMillimetres: Double?
        public var normalDegrees: Double?
        /// Largest per-axis FOV difference in mm.
        public var fieldOfViewMillimetres: Double?
        public var recordedSlices: Int?
        public var replayedSlices: Int?
    }

    public var deltas: [PlaneDelta]
    /// Human-readable reasons this is a regression; empty when the plans agree within tolerance.
    public var regressions: [String]

    public var isRegression: Bool { !regressions.isEmpty }

    /// Largest centre and angle deltas, for one-line summaries.
    public var maxCentreMillimetres: Double { deltas.compactMap(\.centreMillimetres).max() ?? 0 }
    public var maxNormalDegrees: Double { deltas.compactMap(\.normalDegrees).max() ?? 0 }

    /// Compares two plans: planes are paired by level name, and unnamed planes by nearest centre.
    public init(recorded: ScanPlan?, replayed: ScanPlan?, tolerance: ReplayTolerance = ReplayTolerance()) {
        deltas = []
        regressions = []
        guard let recorded, let replayed else {
            if recorded != nil { regressions.append("the recorded run produced a plan, the replay produced none") }
            if replayed != nil { regressions.append("the recorded run produced no plan, the replay produced one") }
            return
        }
        if recorded.abstained != replayed.abstained {
            regressions.append(recorded.abstained ? "the recorded run abstained, the replay did not"
                                                  : "the replay abstained (\(replayed.abstentionReason ?? "no reason given")), the recorded run did not")
        }
        let recordedLevels = recorded.planes.compactMap(\.level?.name), replayedLevels = replayed.planes.compactMap(\.level?.name)
        if recordedLevels != replayedLevels {
            regressions.append("levels differ: recorded \(Self.list(recordedLevels)), replayed \(Self.list(replayedLevels))")
        }
        var unmatched = Array(replayed.planes.indices)
        var pairs: [(label: String, old: ScanPlan.Plane?, new: ScanPlan.Plane?)] = []
        for (i, old) in recorded.planes.enumerated() where old.level != nil {
            if let j = unmatched.first(where: { replayed.planes[$0].level == old.level }) {
                unmatched.removeAll { $0 == j }
                pairs.append((old.level?.name ?? "#\(i + 1)", old, replayed.planes[j]))
            } else {
                pairs.append((old.level?.name ?? "#\(i + 1)", old, nil))
            }
        }
        for (i, old) in recorded.planes.enumerated() where old.level == nil {
            let candidates = unmatched.filter { replayed.planes[$0].level == nil }
            if let j = candidates.min(by: { (replayed.planes[$0].centre - old.centre).length < (replayed.planes[$1].centre - old.centre).length }) {
                unmatched.removeAll { $0 == j }
                pairs.append(("#\(i + 1)", old, replayed.planes[j]))
            } else {
                pairs.append(("#\(i + 1)", old, nil))
            }
        }
        for j in unmatched { pairs.append((replayed.planes[j].level?.name ?? "#new\(j + 1)", nil, replayed.planes[j])) }

        for (label, old, new) in pairs {
            guard let old, let new else {
                deltas.append(PlaneDelta(label: label, recordedSlices: old?.slices, replayedSlices: new?.slices))
                regressions.append(old == nil ? "\(label): plane only in the replay" : "\(label): plane missing from the replay")
                continue
            }
            let centre = (new.centre - old.centre).length
            let angle = old.normal.angleDegrees(to: new.normal)
            let fov = max(abs(new.fieldOfView.x - old.fieldOfView.x), abs(new.fieldOfView.y - old.fieldOfView.y))
            deltas.append(PlaneDelta(label: label, centreMillimetres: centre, normalDegrees: angle, fieldOfViewMillimetres: fov,
                                     recordedSlices: old.slices, replayedSlices: new.slices))
            if centre > tolerance.centreMillimetres {
                regressions.append("\(label): centre moved \(Self.fixed(centre, 2)) mm (tolerance \(Self.fixed(tolerance.centreMillimetres, 2)) mm)")
            }
            if angle > tolerance.normalDegrees {
                regressions.append("\(label): normal turned \(Self.fixed(angle, 2))° (tolerance \(Self.fixed(tolerance.normalDegrees, 2))°)")
            }
            if fov > tolerance.fieldOfViewMillimetres {
                regressions.append("\(label): FOV \(Self.fov(old)) became \(Self.fov(new)) mm")
            }
            if old.slices != new.slices {
                regressions.append("\(label): \(old.slices) slices became \(new.slices)")
            }
        }
    }

    static func list(_ levels: [String]) -> String { levels.isEmpty ? "none" : levels.joined(separator: ", ") }

    static func fov(_ p: ScanPlan.Plane) -> String { "\(fixed(p.fieldOfView.x, 1))×\(fixed(p.fieldOfView.y, 1))" }

    /// Fixed-point text without Foundation's locale-dependent formatting.
    static func fixed(_ v: Double, _ decimals: Int) -> String {
        guard v.isFinite, abs(v) < 1e12 else { return "\(v)" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let r = (abs(v) * scale).rounded()
        let whole = Int(r / scale)
        let frac = Int(r) - whole * Int(scale)
        let sign = v < 0 && r != 0 ? "-" : ""
        guard decimals > 0 else { return sign + String(whole) }
        let f = String(frac)
        return sign + String(whole) + "." + String(repeating: "0", count: decimals - f.count) + f
    }
}
