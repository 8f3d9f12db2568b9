#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import SpinePlanGeometry

/// Rasterises an anatomy phantom from its parameters.
///
/// Passes run in painting order: body wall and viscera, gas, canal and soft tissue along the spine,
/// bones, cortical shells, discs, then metal. Each structure is only visited within its own bounding box.
struct PhantomBuilder {
    let seed: UInt64
    let anatomy: AnatomyParameters
    let layout: SpineLayout

    init(seed: UInt64, rates: AnatomyRates) {
        self.seed = seed
        anatomy = AnatomyParameters.draw(seed: seed, rates: rates)
        layout = SpineLayout(anatomy)
    }

    private static let interiorSoft: Set<TissueClass> = [.viscera, .muscle, .fat, .lung]

    func build() -> Phantom {
        let body = BodyOutline(anatomy: anatomy, layout: layout)
        let canvas = VoxelCanvas(size: body.gridSize, origin: body.gridOrigin)
        paintBody(canvas, body)
        paintGas(canvas, body)
        paintSpinalSoftTissue(canvas)
        var bodyMoments = paintVertebrae(canvas)
        bodyMoments[.sacrum] = paintSacrum(canvas)
        paintIlia(canvas)
        markCorticalShells(canvas)
        paintDiscs(canvas)
        let metal = paintMetal(canvas)

        // Patient pose: rotate about the middle of the lumbar spine, then offset on the table.
        let d = anatomy.poseDegrees
        let rotation = Matrix3.rotation(axis: Vector3(0, 0, 1), degrees: d.z)
            * Matrix3.rotation(axis: Vector3(0, 1, 0), degrees: d.y)
            * Matrix3.rotation(axis: Vector3(1, 0, 0), degrees: d.x)
        let pivot = layout.vertebrae.first { $0.level == .l3 }!.frame.origin
        let toLPS: (Vector3) -> Vector3 = { rotation * ($0 - pivot) + anatomy.poseOffset }
        let grid = VoxelGrid(size: canvas.size, origin: toLPS(canvas.origin), axes: rotation)!

        var discs: [TruthRecord.Disc] = []
        for disc in layout.discs {
            var moments = PointMoments()
            canvas.visit(disc.frame, lower: Vector3(-disc.halfWidth - 2, -disc.posteriorRadius - 2, -disc.height - 15),
                         upper: Vector3(disc.halfWidth + 2, disc.anteriorRadius + 2, disc.height + 15)) { offset, _, p in
                if canvas.labels[offset] == disc.label { moments.add(p) }
            }
            guard moments.count > 0 else { continue }
            var normal = rotation * moments.principalAxes[0].axis
            if normal.z > 0 { normal = -normal }
            discs.append(TruthRecord.Disc(level: disc.name, centre: toLPS(moments.mean).rounded3, normal: normal.rounded4))
        }
        let vertebrae = anatomy.column.compactMap { level -> TruthRecord.Vertebra? in
            guard let m = bodyMoments[level], m.count > 0 else { return nil }
            return TruthRecord.Vertebra(level: level.name, centre: toLPS(m.mean).rounded3)
        }
        let metalLPS = metal.map { MetalSegment(start: toLPS($0.start), end: toLPS($0.end), radius: $0.radius) }
        return Phantom(seed: seed, anatomy: anatomy,
                       tissue: Volume(grid: grid, voxels: Array(canvas.tissue)),
                       labels: Volume(grid: grid, voxels: Array(canvas.labels)),
                       discs: discs, vertebrae: vertebrae, cobbDegrees: layout.cobbDegrees, metal: metalLPS)
    }

    // MARK: Body wall, fat, muscle, viscera, lungs

    private func paintBody(_ canvas: VoxelCanvas, _ body: BodyOutline) {
        let size = canvas.size
        let fat = anatomy.subcutaneousFat
        let diaphragm = layout.vertebrae.first { $0.level == .t12 }!.frame.origin.z + 25
        for k in 0..<size.z {
            let z = canvas.origin.z + Double(k)
            let section = body.section(atZ: z)
            for j in 0..<size.y {
                let y = canvas.origin.y + Double(j)
                let dy = y - section.centreY
                let anterior = dy < 0
                let depth = anterior ? section.anteriorDepth : section.posteriorDepth
                let fatHere = anterior ? fat : fat * 0.8
                let layers: [(Double, Double, TissueClass)] = [
                    (section.halfWidth, depth, .skin),
                    (section.halfWidth - 2, depth - 2, .fat),
                    (section.halfWidth - 2 - fat, depth - 2 - fatHere, anterior ? .muscle : (dy > 6 ? .muscle : .viscera)),
                    (section.halfWidth - 10 - fat, depth - 10 - fatHere, dy > 6 ? .muscle : .viscera),
                ]
                for (halfWidth, semi, tissue) in layers where semi > 0 && halfWidth > 0 && abs(dy) < semi {
                    let w = halfWidth * (1 - (dy / semi) * (dy / semi)).squareRoot()
                    let i0 = max(0, Int((-w - canvas.origin.x).rounded(.up)))
                    let i1 = min(size.x - 1, Int((w - canvas.origin.x).rounded(.down)))
                    guard i0 <= i1 else { continue }
                    let base = canvas.index(0, j, k)
                    for i in i0...i1 { canvas.tissue[base + i] = tissue.rawValue }
                }
                // Lung bases above the diaphragm domes, lateral to the mediastinum and in front of the spine.
                if z > diaphragm - 30, dy < 20 {
                    let base = canvas.index(0, j, k)
                    for i in 0..<size.x where canvas.tissue[base + i] == TissueClass.viscera.rawValue {
                        let x = canvas.origin.x + Double(i)
                        let dome = diaphragm + 22 * cos(min(1, abs(abs(x) - 75) / 80) * .pi / 2)
                        if abs(x) > 28, z > dome { canvas.tissue[base + i] = TissueClass.lung.rawValue }
                    }
                }
            }
        }
    }

    private func paintGas(_ canvas: VoxelCanvas, _ body: BodyOutline) {
        var rng = SplitMix64(seed: seed, purpose: "bowel gas")
        let top = layout.vertebrae.first { $0.level == .l1 }!.frame.origin.z
        let identity = LocalFrame(origin: .zero, lateral: Vector3(1, 0, 0), anterior: Vector3(0, -1, 0), superior: Vector3(0, 0, 1))
        for _ in 0..<rng.integer(4...14) {
            let z = rng.uniform(-70...top)
            let section = body.section(atZ: z)
            let centre = Vector3(rng.uniform(-0.65...0.65) * section.halfWidth,
                                 section.centreY - rng.uniform(0.35...0.8) * section.anteriorDepth, z)
            let r = Vector3(rng.uniform(5...28), rng.uniform(4...16), rng.uniform(5...22))
            let frame = identity.translated(by: centre)
            canvas.paint(frame, lower: -r, upper: r, tissue: .bowelGas, over: [.viscera]) { l, _ in
                let q = l / r
                return q.dot(q) <= 1
            }
        }
    }

    // MARK: Canal, cord, psoas and great vessels, following each vertebra

    private func paintSpinalSoftTissue(_ canvas: VoxelCanvas) {
        let vertebrae = layout.vertebrae
        let l1Top = vertebrae.first { $0.level == .l1 }!.topArc
        let l4 = vertebrae.first { $0.level == .l4 }!
        let vesselEnd = (l4.topArc + l4.bottomArc) / 2
        let sacTop = layout.sacrumTopArc
        for (index, v) in vertebrae.enumerated() {
            let upper: OrientedPlane? = index == 0 ? nil
                : OrientedPlane(point: layout.discs[index - 1].frame.origin, normal: layout.discs[index - 1].frame.superior)
            let lower = index == vertebrae.count - 1 ? layout.sacrum[0].top
                : OrientedPlane(point: layout.discs[index].frame.origin, normal: layout.discs[index].frame.superior)
            let centreArc = (v.topArc + v.bottomArc) / 2
            let reach = index == 0 ? 60.0 : v.halfHeight + 14
            let lo = Vector3(-v.halfWidth - 70, v.canalCentre - v.canalHalfDepth - 2, -v.halfHeight - 14)
            let hi = Vector3(v.halfWidth + 70, v.anteriorRadius + 40, reach)
            canvas.visit(v.frame, lower: lo, upper: hi) { offset, l, p in
                if let upper, upper.signedDistance(p) >= 0 { return }
                if lower.signedDistance(p) < 0 { return }
                let arc = centreArc - l.z
                if let tissue = canalContents(l: l.x, a: l.y - v.canalCentre, arc: arc, halfWidth: v.canalHalfWidth,
                                              halfDepth: v.canalHalfDepth, sacArc: sacTop + 0.3 * layout.sacralLength) {
                    canvas.tissue[offset] = tissue.rawValue
                    if tissue != .fat { canvas.labels[offset] = SpineLevel.duralSacLabel }
                    return
                }
                let current = TissueClass(rawValue: canvas.tissue[offset]) ?? .air
                guard current == .viscera || current == .muscle || current == .fat else { return }
                if arc > l1Top {
                    let u = min(1, (arc - l1Top) / (sacTop - l1Top))
                    let r = 5 + 17 * u
                    let dl = abs(l.x) - (v.halfWidth + 2 + 0.8 * r), da = l.y + 0.1 * v.anteriorRadius - 0.2 * r
                    if (dl * dl) / (r * r) + (da * da) / (0.72 * r * r) <= 1 {
                        canvas.tissue[offset] = TissueClass.muscle.rawValue
                        return
                    }
                }
                if arc < vesselEnd, current == .viscera {
                    let ay = l.y - v.anteriorRadius - 13
                    let aortaX = l.x - 14, cavaX = l.x + 22
                    if aortaX * aortaX + ay * ay <= 100 || (cavaX * cavaX) / 144 + (ay * ay) / 64 <= 1 {
                        canvas.tissue[offset] = TissueClass.vessel.rawValue
                    }
                }
            }
        }
        for (index, piece) in layout.sacrum.enumerated() {
            let last = index == layout.sacrum.count - 1
            let scale = layout.skeletalScale
            canvas.visit(piece.frame, lower: Vector3(-110, -70, -piece.halfLength - 15),
                         upper: Vector3(110, 40, piece.halfLength + 15)) { offset, l, p in
                if piece.top.signedDistance(p) >= 0 { return }
                if !last, piece.bottom.signedDistance(p) < 0 { return }
                let v = piece.startFraction + (piece.endFraction - piece.startFraction) * (0.5 - l.z / (2 * piece.halfLength))
                let shape = SacralShape(fraction: v, scale: scale)
                let arc = layout.sacrumTopArc + v * layout.sacralLength
                if v < 1, let tissue = canalContents(l: l.x, a: l.y - shape.canalCentre, arc: arc,
                                                     halfWidth: shape.canalHalfWidth, halfDepth: shape.canalHalfDepth,
                                                     sacArc: layout.sacrumTopArc + 0.3 * layout.sacralLength) {
                    canvas.tissue[offset] = tissue.rawValue
                    if tissue != .fat { canvas.labels[offset] = SpineLevel.duralSacLabel }
                    return
                }
                let current = TissueClass(rawValue: canvas.tissue[offset]) ?? .air
                guard current == .viscera || current == .muscle || current == .fat else { return }
                let r = 22.0
                let dl = abs(l.x) - (shape.halfWidth + 30 + 0.8 * r + 25 * v), da = l.y - 12 - 25 * v
                if (dl * dl) / (r * r) + (da * da) / (0.72 * r * r) <= 1 {
                    canvas.tissue[offset] = TissueClass.muscle.rawValue
                }
            }
        }
    }

    /// Epidural fat fills the bony canal; the dural sac (CSF) runs to S2; the cord tapers to the conus.
    private func canalContents(l: Double, a: Double, arc: Double, halfWidth: Double, halfDepth: Double,
                               sacArc: Double) -> TissueClass? {
        let canal = (l * l) / (halfWidth * halfWidth) + (a * a) / (halfDepth * halfDepth)
        guard canal <= 1 else { return nil }
        let sacWidth = halfWidth - 2, sacDepth = halfDepth - 1.8
        let da = a + 0.8
        guard arc < sacArc, sacWidth > 1, sacDepth > 1,
              (l * l) / (sacWidth * sacWidth) + (da * da) / (sacDepth * sacDepth) <= 1 else { return .fat }
        if arc < layout.conusArc {
            let f = pow(min(1, (layout.conusArc - arc) / 18), 0.6) * layout.skeletalScale
            let rl = 4.6 * f, ra = 3.8 * f, dc = a + 1.2
            if rl > 0.3, (l * l) / (rl * rl) + (dc * dc) / (ra * ra) <= 1 { return .cord }
        }
        return .csf
    }

    // MARK: Vertebrae

    private func paintVertebrae(_ canvas: VoxelCanvas) -> [SpineLevel: PointMoments] {
        var moments: [SpineLevel: PointMoments] = [:]
        let column = anatomy.column
        for v in layout.vertebrae {
            let index = column.firstIndex(of: v.level)!
            // Modic change in this vertebra: below a changed disc above it, or above a changed disc below it.
            let above = index > 0 ? anatomy.modic.first { $0.discAbove == column[index - 1] && $0.lower } : nil
            let below = anatomy.modic.first { $0.discAbove == v.level && $0.upper }
            var m = PointMoments()
            let h = v.halfHeight
            let ac = v.canalCentre
            let outerWidth = v.canalHalfWidth + 6.5, outerDepth = v.canalHalfDepth + 6
            let spineStart = ac - outerDepth + 1
            let lo = Vector3(-(v.canalHalfWidth + 6 + v.transverseLength), spineStart - v.spinousLength - 2, -h - 16)
            let hi = Vector3(-lo.x, v.anteriorRadius + 1, h + 9)
            canvas.visit(v.frame, lower: lo, upper: hi) { offset, l, p in
                let (x, a, t) = (l.x, l.y, l.z)
                // Vertebral body: an elliptic cylinder, flatter behind.
                if abs(t) <= h {
                    let ra = a >= 0 ? v.anteriorRadius : v.posteriorRadius
                    if (x * x) / (v.halfWidth * v.halfWidth) + (a * a) / (ra * ra) <= 1 {
                        var tissue = TissueClass.marrow
                        if let above, h - t < above.depth { tissue = above.type == 1 ? .modicType1 : .modicType2 }
                        if let below, t + h < below.depth { tissue = below.type == 1 ? .modicType1 : .modicType2 }
                        canvas.tissue[offset] = tissue.rawValue
                        canvas.labels[offset] = v.level.rawValue
                        m.add(p)
                        return
                    }
                }
                let da = a - ac
                let inner = (x * x) / ((v.canalHalfWidth + 0.5) * (v.canalHalfWidth + 0.5))
                    + (da * da) / ((v.canalHalfDepth + 0.5) * (v.canalHalfDepth + 0.5))
                if inner <= 1 { return }
                var bone = false
                // Neural arch: pedicles and laminae as a ring around the canal; laminae sit lower.
                let outer = (x * x) / (outerWidth * outerWidth) + (da * da) / (outerDepth * outerDepth)
                if outer <= 1, a <= -v.posteriorRadius + 1 {
                    bone = da >= 0 ? abs(t) <= h * 0.72 : abs(t + 3) <= h * 0.8
                }
                // Spinous process, sloping down as it runs back.
                let depth = spineStart - a
                if !bone, depth >= 0, depth <= v.spinousLength, abs(x) <= 3.5 {
                    let centre = -3 - v.spinousSlope * depth
                    bone = abs(t - centre) <= 8 - 3 * depth / v.spinousLength
                }
                // Transverse processes, angled back in the thoracic spine.
                let lateral = abs(x) - (v.canalHalfWidth + 3)
                if !bone, lateral >= 0, lateral <= v.transverseLength {
                    let tilt = v.level.isThoracic ? 0.45 * lateral : 0
                    bone = abs(a - (ac + 2 - tilt)) <= 4.5 && abs(t - 1) <= 5.5
                }
                // Articular processes reach above and below the arch to form the facet joints.
                if !bone, abs(abs(x) - (v.canalHalfWidth + 5)) <= 4.5, abs(da + 0.3 * v.canalHalfDepth) <= 6 {
                    bone = (t >= h * 0.5 && t <= h + 7) || (t <= -h * 0.5 && t >= -h - 9)
                }
                if bone {
                    canvas.tissue[offset] = TissueClass.marrow.rawValue
                    canvas.labels[offset] = v.level.rawValue
                }
            }
            moments[v.level] = m
        }
        return moments
    }

    private func paintSacrum(_ canvas: VoxelCanvas) -> PointMoments {
        var moments = PointMoments()
        let label = SpineLevel.sacrum.rawValue
        for (index, piece) in layout.sacrum.enumerated() {
            canvas.visit(piece.frame, lower: Vector3(-100, -70, -piece.halfLength - 12),
                         upper: Vector3(100, 35, piece.halfLength + 12)) { offset, l, p in
                if piece.top.signedDistance(p) >= 0 || piece.bottom.signedDistance(p) < 0 { return }
                let v = piece.startFraction + (piece.endFraction - piece.startFraction) * (0.5 - l.z / (2 * piece.halfLength))
                let s = SacralShape(fraction: v, scale: layout.skeletalScale)
                let (x, a) = (l.x, l.y)
                let ra = a >= 0 ? s.anteriorRadius : s.posteriorRadius
                let inBody = (x * x) / (s.halfWidth * s.halfWidth) + (a * a) / (ra * ra) <= 1
                let da = a - s.canalCentre
                let inCanal = (x * x) / ((s.canalHalfWidth + 0.5) * (s.canalHalfWidth + 0.5))
                    + (da * da) / ((s.canalHalfDepth + 0.5) * (s.canalHalfDepth + 0.5)) <= 1
                var bone = inBody
                if !bone, !inCanal {
                    bone = (abs(x) <= s.alaWidth && a >= -s.posteriorRadius - 8 && a <= s.anteriorRadius * 0.5)
                        || (abs(x) <= s.halfWidth * 0.9 + 8 && a <= -s.posteriorRadius
                            && a >= s.canalCentre - s.canalHalfDepth - 5)
                        || (v < 0.7 && abs(x) <= 3 && a < s.canalCentre - s.canalHalfDepth - 4
                            && a >= s.canalCentre - s.canalHalfDepth - 12)
                }
                guard bone else { return }
                // Fused remnants of the sacral discs show as thin dark lines inside the body.
                let remnant = index > 0 && inBody && v < 0.8 && abs(piece.top.signedDistance(p)) < 1.2
                    && (x * x) / (s.halfWidth * s.halfWidth) + (a * a) / (ra * ra) <= 0.7
                canvas.tissue[offset] = (remnant ? TissueClass.annulus : .marrow).rawValue
                canvas.labels[offset] = label
                if index == 0, inBody { moments.add(p) }
            }
        }
        return moments
    }

    /// Iliac wings: plates opening forward from the sacroiliac joints; bone, but label 0.
    private func paintIlia(_ canvas: VoxelCanvas) {
        let top = layout.sacrum[0].frame
        let scale = layout.skeletalScale
        for side in [-1.0, 1.0] {
            let along = (top.anterior + top.lateral * (0.75 * side)).normalized
            let up = top.superior
            let normal = up.cross(along).normalized
            let centre = top.origin + top.lateral * (side * 78 * scale) + top.anterior * 12 + up * 5
            let frame = LocalFrame(origin: centre, lateral: normal, anterior: along, superior: up)
            canvas.paint(frame, lower: Vector3(-6, -70, -80), upper: Vector3(6, 70, 80), tissue: .marrow,
                         over: Self.interiorSoft) { l, _ in
                let thick = 3 + 3 * max(0, -l.y / 70)
                let q = (l.y / 70) * (l.y / 70) + (l.z / (l.z > 0 ? 55 : 80)) * (l.z / (l.z > 0 ? 55 : 80))
                return abs(l.x) <= thick && q <= 1 && !(l.z < -20 && l.y > 10)
            }
        }
    }

    /// Turns the outer voxel of every bone into cortical bone: a 1 mm shell wherever marrow meets anything else.
    private func markCorticalShells(_ canvas: VoxelCanvas) {
        var isBone = [Bool](repeating: false, count: 256)
        for t in [TissueClass.marrow, .corticalBone, .modicType1, .modicType2, .annulus] { isBone[Int(t.rawValue)] = true }
        var isMarrow = [Bool](repeating: false, count: 256)
        for t in [TissueClass.marrow, .modicType1, .modicType2] { isMarrow[Int(t.rawValue)] = true }
        let size = canvas.size
        let sx = 1, sy = size.x, sz = size.x * size.y
        let tissue = canvas.tissue, labels = canvas.labels
        for k in 1..<(size.z - 1) {
            for j in 1..<(size.y - 1) {
                var offset = canvas.index(1, j, k)
                for _ in 1..<(size.x - 1) {
                    defer { offset += 1 }
                    guard isMarrow[Int(tissue[offset])] else { continue }
                    let own = labels[offset]
                    @inline(__always) func exposed(_ n: Int) -> Bool { !isBone[Int(tissue[n])] || labels[n] != own }
                    if exposed(offset - sx) || exposed(offset + sx) || exposed(offset - sy) || exposed(offset + sy)
                        || exposed(offset - sz) || exposed(offset + sz) {
                        tissue[offset] = TissueClass.corticalBone.rawValue
                    }
                }
            }
        }
    }

    // MARK: Discs

    private func paintDiscs(_ canvas: VoxelCanvas) {
        for disc in layout.discs {
            let nucleus: TissueClass = disc.grade <= 1 ? .nucleus : (disc.grade == 2 ? .degeneratedNucleus : .annulus)
            let nucleusScale = disc.grade == 1 ? 0.45 : 0.55
            canvas.visit(disc.frame, lower: Vector3(-disc.halfWidth, -disc.posteriorRadius, -disc.height - 12),
                         upper: Vector3(disc.halfWidth, disc.anteriorRadius, disc.height + 12)) { offset, l, p in
                let below = disc.upperPlane.signedDistance(p), above = disc.lowerPlane.signedDistance(p)
                guard below < 0, above > 0 else { return }
                let ra = l.y >= 0 ? disc.anteriorRadius : disc.posteriorRadius
                let e = (l.x * l.x) / (disc.halfWidth * disc.halfWidth) + (l.y * l.y) / (ra * ra)
                guard e <= 1 else { return }
                let dn = l.y + 0.1 * ra
                let en = (l.x * l.x) / (disc.halfWidth * disc.halfWidth) + (dn * dn) / (ra * ra)
                let inNucleus = en <= nucleusScale * nucleusScale && -below >= 1.2 && above >= 1.2
                canvas.tissue[offset] = (inNucleus ? nucleus : .annulus).rawValue
                canvas.labels[offset] = disc.label
            }
        }
    }

    // MARK: Metal

    private func paintMetal(_ canvas: VoxelCanvas) -> [MetalSegment] {
        var segments: [MetalSegment] = []
        var heads: [Double: [Vector3]] = [-1: [], 1: []]
        for level in anatomy.metalLevels {
            guard let v = layout.vertebrae.first(where: { $0.level == level }) else { continue }
            for side in [-1.0, 1.0] {
                let entry = v.frame.world(Vector3(side * (v.canalHalfWidth + 6), v.canalCentre - 2, 0))
                let tip = v.frame.world(Vector3(side * 6, v.anteriorRadius * 0.55, 0))
                let head = entry - v.frame.anterior * 8
                segments.append(MetalSegment(start: head, end: tip, radius: 3.2))
                heads[side]!.append(head)
            }
        }
        for side in [-1.0, 1.0] where heads[side]!.count >= 2 {
            let h = heads[side]!
            for index in 1..<h.count {
                let dir = (h[index] - h[index - 1]).normalized
                segments.append(MetalSegment(start: h[index - 1] - dir * 8, end: h[index] + dir * 8, radius: 3))
            }
        }
        let axisAligned = LocalFrame(origin: .zero, lateral: Vector3(1, 0, 0), anterior: Vector3(0, 1, 0), superior: Vector3(0, 0, 1))
        for segment in segments {
            let lo = pointwiseMin(segment.start, segment.end) - segment.radius - 1
            let hi = pointwiseMax(segment.start, segment.end) + segment.radius + 1
            canvas.paint(axisAligned, lower: lo, upper: hi, tissue: .metal) { _, p in
                segment.distance(to: p) <= segment.radius
            }
        }
        return segments
    }
}

extension MetalSegment {
    func distance(to p: Vector3) -> Double {
        let d = end - start
        let t = max(0, min(1, (p - start).dot(d) / max(d.dot(d), 1e-9)))
        return (p - (start + d * t)).length
    }
}

/// Cross-section of the sacrum at a fraction of its length from the S1 endplate (0) to the tip (1).
struct SacralShape {
    var anteriorRadius: Double
    var posteriorRadius: Double
    var halfWidth: Double
    var alaWidth: Double
    var canalHalfWidth: Double
    var canalHalfDepth: Double

    init(fraction v: Double, scale: Double) {
        let u = max(0, min(1, v))
        anteriorRadius = 17 * scale * (1 - 0.6 * u)
        posteriorRadius = anteriorRadius * 0.8
        halfWidth = 26 * scale * (1 - 0.55 * u)
        alaWidth = u < 0.45 ? halfWidth + 32 * scale * (1 - u / 0.45).squareRoot() : 0
        canalHalfWidth = 11 * scale * (1 - 0.55 * u)
        canalHalfDepth = 6 * scale * (1 - 0.5 * u)
    }

    var canalCentre: Double { -(posteriorRadius + 1 + canalHalfDepth) }
}

extension SIMD3 where Scalar == Double {
    var rounded3: Self { (self * 1000).rounded(.toNearestOrEven) / 1000 }
    var rounded4: Self { (self * 10000).rounded(.toNearestOrEven) / 10000 }
}
