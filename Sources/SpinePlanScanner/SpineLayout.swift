#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import SpinePlanGeometry

/// One mobile vertebra placed on the spine curve, with the dimensions its rasteriser needs.
struct VertebraPlacement: Sendable {
    var level: SpineLevel
    var frame: LocalFrame
    var topArc: Double
    var bottomArc: Double
    var halfHeight: Double
    var halfWidth: Double
    var anteriorRadius: Double
    var posteriorRadius: Double
    var canalHalfWidth: Double
    var canalHalfDepth: Double
    var transverseLength: Double
    var spinousLength: Double
    /// Downward run of the spinous process per millimetre of depth (steep in the thoracic spine).
    var spinousSlope: Double

    /// Anterior coordinate of the canal centre: just behind the body with a millimetre of epidural space.
    var canalCentre: Double { -(posteriorRadius + 1 + canalHalfDepth) }
}

/// The disc between two vertebrae: bounded by their facing endplate planes.
struct DiscPlacement: Sendable {
    var upper: SpineLevel
    var lower: SpineLevel
    /// Inferior endplate of the upper vertebra (normal superior).
    var upperPlane: OrientedPlane
    /// Superior endplate of the lower vertebra (normal superior).
    var lowerPlane: OrientedPlane
    var frame: LocalFrame
    var halfWidth: Double
    var anteriorRadius: Double
    var posteriorRadius: Double
    var height: Double
    var grade: Int

    var label: UInt8 { upper.discLabelBelow }
    var name: String { upper.discName(above: lower) }
}

/// A short piece of the sacrum; the whole sacrum is one label, built piecewise to follow its curvature.
struct SacralPiece: Sendable {
    var frame: LocalFrame
    var top: OrientedPlane
    var bottom: OrientedPlane
    /// Fraction of the sacral length at this piece's top and bottom.
    var startFraction: Double
    var endFraction: Double
    var halfLength: Double
}

/// Where every spinal structure of a phantom sits, in the body frame (x left, y posterior, z superior,
/// origin at the centre of the S1 endplate), before the patient pose is applied.
struct SpineLayout: Sendable {
    var curve: SpineCurve
    var vertebrae: [VertebraPlacement]
    var discs: [DiscPlacement]
    var sacrum: [SacralPiece]
    var sacralLength: Double
    var sacrumTopArc: Double
    var conusArc: Double
    var skeletalScale: Double

    /// Nominal (height, AP depth, width, canal half-width, canal half-depth, transverse, spinous) in mm.
    private static func dimensions(_ level: SpineLevel) -> [Double] {
        switch level {
        case .t8: [20, 27, 31, 8, 7.5, 24, 30]
        case .t9: [21, 28, 33, 8, 7.5, 24, 30]
        case .t10: [22, 29, 36, 8.5, 7.5, 23, 29]
        case .t11: [23, 30, 39, 8.5, 7.5, 18, 28]
        case .t12: [24, 31, 42, 9, 8, 14, 28]
        case .l1: [26, 33, 44, 10.5, 8, 18, 28]
        case .l2: [27, 34, 46, 11, 8, 23, 29]
        case .l3: [28, 35, 48, 11.5, 8, 28, 29]
        case .l4: [28, 35, 50, 12, 8.5, 23, 27]
        case .l5, .l6, .sacrum: [27, 35, 52, 12.5, 9, 20, 24]
        }
    }

    private static func nominalDiscHeight(below level: SpineLevel) -> Double {
        switch level {
        case .t8: 5
        case .t9: 5.5
        case .t10: 6
        case .t11: 6.5
        case .t12: 7.5
        case .l1: 9
        case .l2: 10
        case .l3: 11
        case .l4: 11.5
        case .l5, .l6, .sacrum: 10.5
        }
    }

    static let degenerationHeightFactor = [1.0, 0.92, 0.78, 0.62]

    init(_ anatomy: AnatomyParameters) {
        let scale = anatomy.skeletalScale
        skeletalScale = scale
        let column = anatomy.column
        let presacral = Array(column.dropLast())

        // Arc-length bookkeeping, top of the highest vertebra at s = 0.
        var heights: [Double] = []
        var discHeights: [Double] = []
        for level in presacral {
            heights.append(Self.dimensions(level)[0] * scale)
            var h = Self.nominalDiscHeight(below: level) * scale * (anatomy.discHeightJitter[level] ?? 1)
            h *= Self.degenerationHeightFactor[anatomy.degeneration[level] ?? 0]
            if level == presacral.last, anatomy.transitional == .sacralisedL5 { h = 4.5 * scale }
            discHeights.append(max(h, 4))
        }
        var tops: [Double] = []
        var s = 0.0
        for index in presacral.indices {
            tops.append(s)
            s += heights[index] + discHeights[index]
        }
        let sacrumTop = s
        sacrumTopArc = sacrumTop
        let sacralLength = (anatomy.lumbarCount == 6 ? 84 : 102) * scale
        self.sacralLength = sacralLength
        let total = sacrumTop + sacralLength + 30

        let l1Index = presacral.firstIndex(of: .l1)!
        let l1Top = tops[l1Index]
        let theta1 = -anatomy.sacralSlopeDegrees
        let lordosis = anatomy.lordosisDegrees
        let kyphosis = anatomy.thoracicKyphosisDegrees
        let sacralCurve = anatomy.sacralCurveDegrees
        let sagittal: (Double) -> Double = { s in
            let l1Theta = theta1 + lordosis
            if s < l1Top { return l1Theta - kyphosis * (l1Top - s) / max(l1Top, 1) }
            if s < sacrumTop {
                let u = (s - l1Top) / (sacrumTop - l1Top)
                return theta1 + lordosis * (1 - pow(u, 1.6))
            }
            let v = min(1.2, (s - sacrumTop) / sacralLength)
            return theta1 + sacralCurve * pow(v, 1.3)
        }
        let apexIndex = presacral.firstIndex(of: anatomy.scoliosisApex) ?? l1Index
        let apexArc = tops[apexIndex] + heights[apexIndex] / 2
        let halfSpan = 95 * scale
        let cobb = anatomy.cobbDegrees, side = anatomy.scoliosisSide
        let coronal: (Double) -> Double = { s in
            let u = (s - apexArc) / halfSpan
            let a = abs(u)
            let magnitude: Double
            if a <= 1 { magnitude = sin(.pi / 2 * a) } else if a < 2 { magnitude = (1 + cos(.pi * (a - 1))) / 2 } else { magnitude = 0 }
            return -side * (cobb / 2) * magnitude * (u < 0 ? -1 : 1)
        }
        curve = SpineCurve(length: total, anchorArc: sacrumTop, anchor: .zero,
                           sagittal: sagittal, coronal: coronal, axialPerMillimetre: 0.45 * side)

        if let slipLevel = anatomy.slipLevel, let index = presacral.firstIndex(of: slipLevel) {
            let from = tops[index] + heights[index]
            let to = from + discHeights[index]
            let direction = curve.frame(at: (from + to) / 2).anterior
            curve.displace(by: direction * anatomy.slipMillimetres, from: from, to: to)
        }

        var vertebrae: [VertebraPlacement] = []
        for (index, level) in presacral.enumerated() {
            let d = Self.dimensions(level)
            let h = heights[index]
            var transverse = d[5] * scale
            if level == presacral.last, anatomy.transitional == .sacralisedL5 { transverse = 48 * scale }
            vertebrae.append(VertebraPlacement(
                level: level, frame: curve.frame(at: tops[index] + h / 2), topArc: tops[index], bottomArc: tops[index] + h,
                halfHeight: h / 2, halfWidth: d[2] * scale / 2, anteriorRadius: d[1] * scale / 2,
                posteriorRadius: d[1] * scale / 2 * 0.8, canalHalfWidth: d[3] * scale, canalHalfDepth: d[4] * scale,
                transverseLength: transverse, spinousLength: d[6] * scale,
                spinousSlope: level.isThoracic ? 0.9 : 0.25))
        }
        self.vertebrae = vertebrae

        var pieces: [SacralPiece] = []
        let pieceCount = anatomy.lumbarCount == 6 ? 4 : 5
        let pieceLength = sacralLength / Double(pieceCount)
        for m in 0..<pieceCount {
            let a0 = sacrumTop + Double(m) * pieceLength, a1 = a0 + pieceLength
            let f0 = curve.frame(at: a0), f1 = curve.frame(at: a1)
            pieces.append(SacralPiece(
                frame: curve.frame(at: (a0 + a1) / 2),
                top: OrientedPlane(point: f0.origin, normal: f0.superior),
                bottom: OrientedPlane(point: f1.origin, normal: f1.superior),
                startFraction: Double(m) / Double(pieceCount), endFraction: Double(m + 1) / Double(pieceCount),
                halfLength: pieceLength / 2))
        }
        sacrum = pieces

        var discs: [DiscPlacement] = []
        for (index, upper) in vertebrae.enumerated() {
            let lowerLevel = column[index + 1]
            let upperPlane = OrientedPlane(point: upper.frame.world(Vector3(0, 0, -upper.halfHeight)),
                                           normal: upper.frame.superior)
            let lowerPlane: OrientedPlane
            var lowerWidth = upper.halfWidth, lowerAnterior = upper.anteriorRadius, lowerPosterior = upper.posteriorRadius
            var lowerFrame: LocalFrame
            if index + 1 < vertebrae.count {
                let v = vertebrae[index + 1]
                lowerPlane = OrientedPlane(point: v.frame.world(Vector3(0, 0, v.halfHeight)), normal: v.frame.superior)
                lowerWidth = v.halfWidth
                lowerAnterior = v.anteriorRadius
                lowerPosterior = v.posteriorRadius
                lowerFrame = v.frame
            } else {
                lowerPlane = pieces[0].top
                lowerFrame = curve.frame(at: sacrumTop)
            }
            let t = (upper.frame.superior + lowerPlane.normal).normalized
            var a = upper.frame.anterior + lowerFrame.anterior
            a = (a - t * a.dot(t)).normalized
            let frame = LocalFrame(origin: (upperPlane.point + lowerPlane.point) / 2, lateral: t.cross(a),
                                   anterior: a, superior: t)
            discs.append(DiscPlacement(
                upper: upper.level, lower: lowerLevel, upperPlane: upperPlane, lowerPlane: lowerPlane, frame: frame,
                halfWidth: (upper.halfWidth + lowerWidth) / 2 + 1,
                anteriorRadius: (upper.anteriorRadius + lowerAnterior) / 2 + 1,
                posteriorRadius: (upper.posteriorRadius + lowerPosterior) / 2 + 0.5,
                height: discHeights[index], grade: anatomy.degeneration[upper.level] ?? 0))
        }
        self.discs = discs

        let t12 = vertebrae.first { $0.level == .t12 }!, l2 = vertebrae.first { $0.level == .l2 }!
        let t12Mid = (t12.topArc + t12.bottomArc) / 2, l2Mid = (l2.topArc + l2.bottomArc) / 2
        conusArc = t12Mid + (l2Mid - t12Mid) * anatomy.conusFraction
    }

    /// Lateral tilt of a vertebra's superior axis in the coronal plane, in degrees.
    static func coronalTilt(_ frame: LocalFrame) -> Double {
        atan2(frame.superior.x, frame.superior.z) * 180 / .pi
    }

    /// Cobb angle of the generated column: the largest difference in coronal tilt between two presacral vertebrae.
    var cobbDegrees: Double {
        let tilts = vertebrae.map { Self.coronalTilt($0.frame) }
        return (tilts.max() ?? 0) - (tilts.min() ?? 0)
    }
}
