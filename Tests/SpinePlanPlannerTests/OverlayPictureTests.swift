import Foundation
import Testing
import SpinePlanDICOM
import SpinePlanGeometry
import SpinePlanPlanner

/// Writes the documentation picture: a truth-fed plan drawn on a session's mid-sagittal slice. Runs only when
/// `SPINEPLAN_OVERLAY_CASE` (a synthetic session directory) and `SPINEPLAN_OVERLAY_OUT` (a .png path) are set.
@Suite struct OverlayPictureTests {
    static let environment = ProcessInfo.processInfo.environment

    @Test("overlay picture for Docs/planner.md", .enabled(if: environment["SPINEPLAN_OVERLAY_CASE"] != nil && environment["SPINEPLAN_OVERLAY_OUT"] != nil))
    func picture() throws {
        let session = try SyntheticSession.load(try #require(Self.environment["SPINEPLAN_OVERLAY_CASE"]))
        let plan = Planner().plan(segmentation: session.segmentation(), coronal: session.coronalImages)
        let n = session.sagittal[0].plane.normal
        let ordered = session.sagittal.sorted { $0.plane.position.dot(n) < $1.plane.position.dot(n) }
        let mid = ordered[ordered.count / 2]
        let stacks = plan.planes.map { p in
            OverlayImageWriter.Stack(label: p.level?.name ?? "?", centre: p.centre, normal: p.normal, fieldOfView: p.fieldOfView,
                                     slices: p.slices, spacing: p.spacing, confidence: p.confidence, rowDirection: p.rowDirection)
        }
        let rendering = OverlayImageWriter.render(midSagittal: mid, stacks: stacks, notes: plan.warnings)
        try Data(rendering.png).write(to: URL(fileURLWithPath: try #require(Self.environment["SPINEPLAN_OVERLAY_OUT"])))
        #expect(!plan.planes.isEmpty)
    }
}
