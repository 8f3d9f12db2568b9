import Foundation
import SpinePlanPlanner

/// The plan as a terminal table: one row per planned stack, then abstention and warnings.
public enum PlanTable {
    public static func render(_ plan: ScanPlan) -> String {
        func f(_ v: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", v) }
        var lines = ["level    centre LPS (mm)              normal                  FOV (mm)   slices  thick  conf"]
        for p in plan.planes {
            let level = (p.level?.name ?? "?").padding(toLength: 8, withPad: " ", startingAt: 0)
            let centre = "(\(f(p.centre.x)), \(f(p.centre.y)), \(f(p.centre.z)))".padding(toLength: 28, withPad: " ", startingAt: 0)
            let normal = "(\(f(p.normal.x, 2)), \(f(p.normal.y, 2)), \(f(p.normal.z, 2)))".padding(toLength: 23, withPad: " ", startingAt: 0)
            let fov = "\(f(p.fieldOfView.x, 0))x\(f(p.fieldOfView.y, 0))".padding(toLength: 10, withPad: " ", startingAt: 0)
            lines.append("\(level) \(centre) \(normal) \(fov) \(String(p.slices).padding(toLength: 7, withPad: " ", startingAt: 0)) \(f(p.thickness))    \(f(p.confidence, 2))")
        }
        if plan.abstained { lines.append("ABSTAINED: \(plan.abstentionReason ?? "levels could not be named")") }
        for w in plan.warnings { lines.append("warning: \(w)") }
        lines.append("model \(plan.model); \(f(plan.timings["total"] ?? 0)) ms")
        return lines.joined(separator: "\n")
    }
}
