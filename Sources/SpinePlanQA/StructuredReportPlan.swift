import SpinePlanDICOM
import SpinePlanGeometry
import SpinePlanPlanner
import SpinePlanService

/// Reads a plan back out of SpinePlan's Comprehensive 3D SR (the SR contract in ARCHITECTURE.md), as the console sees it:
/// one TID 1410 measurement group per disc with a tracking identifier, a finding site, a 5-point SCOORD3D polygon (the
/// centre slice's FOV rectangle) and NUM items for thickness, spacing, slice count and confidence.
public enum StructuredReportPlan {
    /// The plan in an SR object. Planes with no readable polygon are skipped with a warning in the plan.
    /// The SR does not carry abstention, so it is inferred: no planes, or any plane without a named level.
    public static func plan(from object: DICOMObject, model: String = "") throws(RecordingError) -> ScanPlan {
        let root = object.root
        guard root.trimmed(.sopClassUID) == SOPClass.comprehensive3DSR else {
            throw RecordingError(.corrupt, "not a Comprehensive 3D SR (SOP class \(root.trimmed(.sopClassUID) ?? "missing"))")
        }
        var groups: [DICOMItem] = []
        collectGroups(root, into: &groups)
        var planes: [ScanPlan.Plane] = []
        var warnings: [String] = []
        for (index, group) in groups.enumerated() {
            if let plane = plane(group) { planes.append(plane) } else { warnings.append("measurement group \(index + 1) has no usable polygon") }
        }
        return ScanPlan(planes: planes, abstained: planes.isEmpty || planes.contains { $0.level == nil }, warnings: warnings,
                        model: model, timings: ["total": 0])
    }

    /// Measurement groups: CONTAINER items holding a SCOORD3D child, wherever they sit in the tree.
    static func collectGroups(_ item: DICOMItem, into groups: inout [DICOMItem]) {
        let n = item.sequenceCount(.contentSequence)
        for i in 0..<n {
            guard let child = item.sequenceItem(.contentSequence, i) else { continue }
            if child.trimmed(.valueType) == "CONTAINER" {
                if children(child).contains(where: { $0.trimmed(.valueType) == "SCOORD3D" }) {
                    groups.append(child)
                } else {
                    collectGroups(child, into: &groups)
                }
            }
        }
    }

    static func children(_ item: DICOMItem) -> [DICOMItem] {
        (0..<item.sequenceCount(.contentSequence)).compactMap { item.sequenceItem(.contentSequence, $0) }
    }

    static func concept(_ item: DICOMItem) -> (code: String, meaning: String) {
        let c = item.sequenceItem(.conceptNameCodeSequence, 0)
        return (c?.trimmed(.codeValue) ?? "", (c?.trimmed(.codeMeaning) ?? "").lowercased())
    }

    static func plane(_ group: DICOMItem) -> ScanPlan.Plane? {
        var level: DiscLevel?
        var points: [Vector3] = []
        var thickness = 0.0, spacing = 0.0, slices = 0, confidence = 0.0
        for child in children(group) {
            let (code, meaning) = concept(child)
            switch child.trimmed(.valueType) {
            case "TEXT" where code == "112039" || meaning.contains("tracking identifier"):
                if let text = child.trimmed(.textValue), let first = text.split(separator: " ").first, first.contains("/") {
                    level = DiscLevel(name: String(first))
                }
            case "CODE" where code == "363698007" || meaning.contains("finding site"):
                if level == nil, let site = child.sequenceItem(.conceptCodeSequence, 0)?.trimmed(.codeValue) { level = StructuredReportWriter.level(ofFindingSite: site) }
            case "SCOORD3D":
                guard child.trimmed(.graphicType) == "POLYGON", let v = child.doubles(.graphicData), v.count >= 12 else { continue }
                points = stride(from: 0, to: v.count - 2, by: 3).map { Vector3(v[$0], v[$0 + 1], v[$0 + 2]) }
            case "NUM":
                guard let value = child.sequenceItem(.measuredValueSequence, 0)?.doubles(.numericValue)?.first else { continue }
                // SpinePlan's codes first (112225, 112226 DCM; SLICES, CONFIDENCE 99SPINEPLAN), then the meaning.
                if code == "112225" || meaning.contains("thickness") { thickness = value }
                else if code == "112226" || meaning.contains("spacing") || meaning.contains("between") { spacing = value }
                else if code == "SLICES" || meaning.contains("number") || meaning.contains("slices") { slices = Int(value.rounded()) }
                else if code == "CONFIDENCE" || meaning.contains("confidence") || meaning.contains("probability") { confidence = value }
            default:
                break
            }
        }
        guard points.count >= 4 else { return nil }
        let p0 = points[0], p1 = points[1], p3 = points[3]
        let rowEdge = p1 - p0, columnEdge = p3 - p0
        guard rowEdge.length > 0, columnEdge.length > 0 else { return nil }
        let row = rowEdge.normalized, column = columnEdge.normalized
        let centre = (points[0] + points[1] + points[2] + points[3]) / 4
        return ScanPlan.Plane(level: level, centre: centre, rowDirection: row, columnDirection: column, normal: row.cross(column).normalized,
                              fieldOfView: SIMD2(rowEdge.length, columnEdge.length), slices: slices, thickness: thickness,
                              spacing: spacing, confidence: confidence)
    }
}
