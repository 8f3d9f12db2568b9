import Foundation
import Testing
import SpinePlanGeometry
import SpinePlanPlanner

/// Planner-alone error on a directory of held-out synthetic sessions (`spineplan synth --export-labels`),
/// named by `SPINEPLAN_PLANNER_EVAL_DIR`. Skipped without it: CI runs the smaller suites instead.
@Suite struct HeldOutEvaluationTests {
    static let directory = ProcessInfo.processInfo.environment["SPINEPLAN_PLANNER_EVAL_DIR"]

    @Test("truth-fed planning on held-out sessions: figures for Docs/planner.md", .enabled(if: directory != nil))
    func heldOut() throws {
        let root = try #require(Self.directory)
        let cases = try FileManager.default.contentsOfDirectory(atPath: root).filter {
            FileManager.default.fileExists(atPath: "\(root)/\($0)/labels/sag.npy")
        }.sorted()
        var all: [PlaneError] = [], withCoronal: [PlaneError] = [], singleSlice: [PlaneError] = []
        var abstained = 0
        for name in cases {
            let session = try SyntheticSession.load("\(root)/\(name)")
            let planner = Planner()
            let plan = planner.plan(segmentation: session.segmentation())
            let errors = PlaneError.compare(plan, session.truth)
            all += errors
            if plan.abstained { abstained += 1; print("\(name): abstained: \(plan.abstentionReason ?? "")") }
            // A single sagittal slice (the middle one), with and without the coronal localizer.
            let middle = [session.sagittal.count / 2]
            singleSlice += PlaneError.compare(planner.plan(segmentation: session.segmentation(slices: middle)), session.truth)
            let coronalPlan = planner.plan(segmentation: session.segmentation(slices: middle), coronal: session.coronalImages)
            withCoronal += PlaneError.compare(coronalPlan, session.truth)
            let worst = errors.max { $0.angle < $1.angle }
            if ProcessInfo.processInfo.environment["SPINEPLAN_PLANNER_EVAL_VERBOSE"] != nil {
                let grid = session.segmentation().labels.grid
                let n = grid.axes.c2.normalized
                for p in plan.planes {
                    guard let t = session.truth.discs.first(where: { $0.level == p.level }) else { continue }
                    // Split the angle into the part in the sagittal plane and the lateral part.
                    let lateral = (p.normal.dot(n) - t.normal.dot(n)) * 180 / .pi
                    let ps = (p.normal - n * p.normal.dot(n)).normalized, ts = (t.normal - n * t.normal.dot(n)).normalized
                    print(String(format: "   %@ sagittal %.2f° lateral %.2f° conf %.2f", p.level ?? "-", ps.angleDegrees(to: ts), lateral, p.confidence))
                }
            }
            print("\(name): \(session.sagittal.count) sag slices, lumbar \(session.truth.anatomy.lumbarCount), lstv \(session.truth.anatomy.lstvType ?? "-"), cobb \(session.truth.anatomy.scoliosisCobbDegrees); planes \(errors.count); worst \(worst?.description ?? "-"); warnings: \(plan.warnings)")
        }
        func summary(_ e: [PlaneError]) -> String {
            let c = e.map(\.centre), t = e.map(\.throughPlane), a = e.map(\.angle)
            return String(format: "n=%d centre median %.2f p90 %.2f mm; through-plane median %.2f p90 %.2f mm; angle median %.2f p90 %.2f max %.2f°",
                          e.count, median(c), percentile(c, 0.9), median(t), percentile(t, 0.9), median(a), percentile(a, 0.9), a.max() ?? .nan)
        }
        print("HELD-OUT \(cases.count) sessions, \(abstained) abstained")
        print("HELD-OUT sagittal only: \(summary(all))")
        print("HELD-OUT one sagittal slice: \(summary(singleSlice))")
        print("HELD-OUT one sagittal slice + coronal: \(summary(withCoronal))")
        #expect(!all.isEmpty)
        #expect(median(all.map(\.throughPlane)) <= 0.5)
        #expect(median(all.map(\.angle)) <= 0.5)
    }
}
