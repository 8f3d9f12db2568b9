import SpinePlanDICOM
import SpinePlanGeometry
import SpinePlanPlanner

/// Turns a plan into what goes back to the console: the SR and the overlay image.
enum ReportStage {
    /// A stable device UID per installation would need state; one per process is enough to tell runs apart.
    static let deviceUID = DICOMUID.make()

    static func structuredReport(plan: ScanPlan, sagittal: [Slice], evidence: [Slice], device: ReportDevice) throws(DICOMError) -> DICOMObject {
        guard let source = midSagittal(sagittal) else { throw DICOMError(.invalidArgument, "no sagittal slice to report on") }
        let planes = plan.planes.map { p in
            StructuredReportWriter.Plane(
                level: plan.abstained ? nil : p.level,
                corners: StructuredReportWriter.Plane.rectangle(centre: p.centre, row: p.rowDirection, column: p.columnDirection,
                                                                fieldOfView: p.fieldOfView),
                thickness: p.thickness, spacing: p.spacing, slices: p.slices, confidence: p.confidence)
        }
        var comments = plan.warnings
        if plan.abstained { comments.insert("Levels not named: " + (plan.abstentionReason ?? "uncertain anatomy"), at: 0) }
        return try StructuredReportWriter.make(
            planes: planes, source: source, evidence: evidence,
            device: .init(uid: deviceUID, modelName: device.modelName, softwareVersion: SpinePlanVersion.current), comments: comments)
    }

    static func overlay(plan: ScanPlan, sagittal: [Slice]) throws(DICOMError) -> (DICOMObject, OverlayCanvas) {
        guard let source = midSagittal(sagittal) else { throw DICOMError(.invalidArgument, "no sagittal slice for the overlay") }
        let rendering = overlayRendering(plan: plan, source: source)
        return (try OverlayImageWriter.make(rendering, source: source), rendering.canvas)
    }

    /// The overlay as drawn, with its text boxes (the layout tests read them); `size` as a console would show it.
    static func overlayRendering(plan: ScanPlan, source: Slice, size: Int? = nil) -> OverlayImageWriter.Rendering {
        let rank = plan.unnamedNumbers
        let stacks = plan.planes.enumerated().map { i, p in
            OverlayImageWriter.Stack(label: plan.abstained ? "?\(rank[i])" : (p.level?.name ?? "?\(rank[i])"), centre: p.centre, normal: p.normal,
                                     fieldOfView: p.fieldOfView, slices: p.slices, spacing: p.spacing, confidence: p.confidence, rowDirection: p.rowDirection)
        }
        var notes: [String] = []
        if plan.abstained { notes.append("LEVELS NOT NAMED: " + (plan.abstentionReason ?? "uncertain anatomy")) }
        notes += plan.warnings
        return OverlayImageWriter.render(midSagittal: source, stacks: stacks, notes: notes, size: size)
    }

    /// The sagittal slice in the middle of the stack, ordered along its normal.
    static func midSagittal(_ sagittal: [Slice]) -> Slice? {
        guard let first = sagittal.first else { return nil }
        let n = first.plane.normal
        let ordered = sagittal.sorted { $0.plane.position.dot(n) < $1.plane.position.dot(n) }
        return ordered[ordered.count / 2]
    }
}
