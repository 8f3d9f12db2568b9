import SpinePlanGeometry

/// The torso's outline along its length, and the 1 mm grid that holds it.
///
/// The back follows the spine curve (so lordosis shows in the skin line) and bulges over the sacrum;
/// the hips widen below the lumbosacral junction.
struct BodyOutline {
    /// Cross-section of the torso at one height: a half-ellipse in front of and one behind `centreY`.
    struct Section {
        var centreY: Double
        var halfWidth: Double
        var anteriorDepth: Double
        var posteriorDepth: Double
    }

    let gridSize: SIMD3<Int>
    let gridOrigin: Vector3
    private let zTop: Double
    private let sections: [Section]

    init(anatomy: AnatomyParameters, layout: SpineLayout) {
        let curve = layout.curve
        let top = layout.vertebrae[0]
        let zTop = top.frame.world(Vector3(0, 0, top.halfHeight)).z + 8
        let tipArc = layout.sacrumTopArc + layout.sacralLength
        let zBottom = curve.frame(at: tipArc).origin.z - 70
        // y of the curve at each integer height, from the curve samples (z falls monotonically with arc length).
        let count = Int((zTop - zBottom).rounded(.up)) + 1
        var curveY = [Double](repeating: .nan, count: count)
        for frame in curve.frames {
            let k = Int((frame.origin.z - zBottom).rounded())
            if k >= 0, k < count, curveY[k].isNaN { curveY[k] = frame.origin.y }
        }
        var last = curve.frames[0].origin.y
        for k in stride(from: count - 1, through: 0, by: -1) {
            if curveY[k].isNaN { curveY[k] = last } else { last = curveY[k] }
        }
        let s1Y = curve.frame(at: layout.sacrumTopArc).origin.y
        let t12Z = layout.vertebrae.first { $0.level == .t12 }!.frame.origin.z
        var sections: [Section] = []
        for k in 0..<count {
            let z = zBottom + Double(k)
            let hip = z < -20 ? min(0.14, (-20 - z) / 350) : 0
            let chest = z > t12Z ? min(0.05, (z - t12Z) / 600) : 0
            var section = Section(centreY: z >= 0 ? curveY[k] : s1Y,
                                  halfWidth: anatomy.bodyHalfWidth * (1 + hip + chest),
                                  anteriorDepth: anatomy.anteriorDepth, posteriorDepth: anatomy.posteriorDepth)
            if z < 0 {
                section.posteriorDepth = max(anatomy.posteriorDepth, curveY[k] - s1Y + 48 + 0.8 * anatomy.subcutaneousFat)
            }
            sections.append(section)
        }
        let xHalf = sections.map(\.halfWidth).max()! + 3
        let yMin = sections.map { $0.centreY - $0.anteriorDepth }.min()! - 3
        let yMax = sections.map { $0.centreY + $0.posteriorDepth }.max()! + 3
        gridOrigin = Vector3(-xHalf.rounded(.up), yMin.rounded(.down), zBottom)
        gridSize = SIMD3(Int((2 * xHalf).rounded(.up)) + 1, Int((yMax - yMin).rounded(.up)) + 1, count)
        self.zTop = zTop
        self.sections = sections
    }

    func section(atZ z: Double) -> Section {
        let k = Int((z - gridOrigin.z).rounded())
        return sections[max(0, min(sections.count - 1, k))]
    }
}
