#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import SpinePlanGeometry

/// The plane of one disc from its voxels on the sagittal model grid: centre, inferior-pointing normal and
/// how well the voxels support it.
///
/// In-plane (sagittal) tilt comes from the pooled within-slice principal axes of the disc, which stays
/// well-posed for a single slice; the lateral (coronal) tilt comes from a regression of the disc's
/// mid-surface across slices, because a principal-axis fit over a few slices under-weights the lateral
/// direction and biases the tilt.
struct DiscPlaneFit: Sendable {
    var centre: Vector3
    var normal: Vector3
    /// True when at least two sagittal slices constrained the lateral tilt.
    var lateralTiltMeasured: Bool
    /// RMS distance (mm) of the disc's per-column mid-points from the fitted plane.
    var residual: Double
    /// Thickness of the disc along its normal (mm), from the spread of its voxels.
    var thickness: Double
    /// True when the tilt came from sub-voxel endplates (`PartialVolumeEndplates`).
    var subvoxel = false

    /// Fits a plane to a structure's voxels on `grid`; with `fractions` (the network's probabilities) the tilt
    /// comes from sub-voxel endplate positions when they give a sound fit.
    static func fit(_ structure: SpineStructure, grid: VoxelGrid, refineEndplates: Bool = true,
                    fractions: PartialVolumeEndplates.Fractions? = nil) -> DiscPlaneFit? {
        fit(points: structure.points, grid: grid, refineEndplates: refineEndplates,
            subvoxel: fractions.map { (structure.voxels, $0) })
    }

    static func fit(points: [Vector3], grid: VoxelGrid, refineEndplates: Bool = true,
                    estimateLateralCentre: Bool = true,
                    subvoxel: (voxels: [Int], fractions: PartialVolumeEndplates.Fractions)? = nil) -> DiscPlaneFit? {
        guard points.count >= 3 else { return nil }
        let r = grid.axes.c0.normalized, c = grid.axes.c1.normalized, n = r.cross(c).normalized
        var centroid = Vector3.zero
        for p in points { centroid += p }
        centroid /= Double(points.count)

        // Group by slice (depth along n).
        let spacing = grid.axes.c2.length
        var slices: [Int: [SIMD3<Double>]] = [:]
        for p in points {
            let d = p - centroid
            let k = Int((d.dot(n) / max(spacing, 1e-6)).rounded())
            slices[k, default: []].append(SIMD3(d.dot(r), d.dot(c), d.dot(n)))
        }
        // Pooled within-slice covariance in (r, c).
        var sxx = 0.0, syy = 0.0, sxy = 0.0, total = 0.0
        for (_, ps) in slices {
            let m = ps.reduce(SIMD3<Double>.zero, +) / Double(ps.count)
            for p in ps {
                let dx = p.x - m.x, dy = p.y - m.y
                sxx += dx * dx; syy += dy * dy; sxy += dx * dy
            }
            total += Double(ps.count)
        }
        guard total > 0 else { return nil }
        // Minor axis of the 2×2 covariance.
        let angle = 0.5 * atan2(2 * sxy, sxx - syy)     // major axis angle
        let major = SIMD2(cos(angle), sin(angle))
        let minor = SIMD2(-major.y, major.x)
        var m3 = (r * minor.x + c * minor.y).normalized
        if refineEndplates, let refined = EndplateLines.refine(points: points, grid: grid, initial: m3) {
            m3 = refined.dot(m3) < 0 ? -refined : refined
        }
        let e3 = m3.cross(n).normalized

        // Mid-surface regression s = a + b·u + g·x over all points (s along m3, u along e3, x along n).
        let usable = slices.filter { $0.value.count >= 3 }
        let lateral = usable.count >= 2
        var normal = m3
        var b = 0.0, g = 0.0
        var usedSubvoxel = false
        if let (voxels, fractions) = subvoxel,
           let partial = PartialVolumeEndplates.fit(voxels: voxels, grid: grid, fractions: fractions, initial: m3),
           partial.lateral == lateral {
            normal = partial.normal
            usedSubvoxel = true
        } else {
            // Normal equations for [1, u, x] (x dropped for a single slice).
            var ata = [[Double]](repeating: [0, 0, 0], count: 3)
            var atb = [0.0, 0.0, 0.0]
            for p in points {
                let d = p - centroid
                let row = [1, d.dot(e3), lateral ? d.dot(n) : 0]
                let s = d.dot(m3)
                for i in 0..<3 {
                    atb[i] += row[i] * s
                    for j in 0..<3 { ata[i][j] += row[i] * row[j] }
                }
            }
            if !lateral { ata[2][2] = 1 }
            if let sol = solve3(ata, atb) { b = sol[1]; g = sol[2] }
            normal = (m3 - e3 * b - n * g).normalized
        }

        // Thickness from the spread about the plane; residual from per-column mid-points (slice, 2.5 mm bins).
        var ss = 0.0
        var columns: [SIMD2<Int>: (lo: Double, hi: Double)] = [:]
        let bin = max(grid.axes.c0.length, 1)
        for p in points {
            let d = p - centroid
            let s = d.dot(normal)
            ss += s * s
            let key = SIMD2(Int((d.dot(n) / max(spacing, 1e-6)).rounded()), Int((d.dot(e3) / bin).rounded(.down)))
            let old = columns[key] ?? (s, s)
            columns[key] = (min(old.lo, s), max(old.hi, s))
        }
        var sumSq = 0.0
        for (_, v) in columns { let mid = (v.lo + v.hi) / 2; sumSq += mid * mid }
        let variance = ss / Double(points.count)
        if normal.z > 0 { normal = -normal }
        var centre = centroid
        if estimateLateralCentre, let offset = lateralCentreOffset(slices, spacing: spacing) {
            // Move within the fitted plane, so the stack's position along its normal is unchanged.
            let inPlane = (n - normal * n.dot(normal))
            if inPlane.length > 0.5 { centre += inPlane.normalized * (offset / inPlane.normalized.dot(n)) }
        }
        return DiscPlaneFit(centre: centre, normal: normal, lateralTiltMeasured: lateral,
                            residual: (sumSq / Double(max(columns.count, 1))).squareRoot(),
                            thickness: (12 * variance).squareRoot(), subvoxel: usedSubvoxel)
    }

    /// Lateral offset (mm along the grid normal, from the centroid) of the disc's true middle.
    ///
    /// A few sagittal slices sample a 50 mm wide disc unevenly, so the centroid follows the slices. The section
    /// of an elliptic disc at lateral offset x has an area ∝ √(1 − (x − x0)²/a²): area² is a downward parabola in
    /// x whose vertex is the middle. Needs three slices and a clear vertex inside the sampled range.
    static func lateralCentreOffset(_ slices: [Int: [SIMD3<Double>]], spacing: Double) -> Double? {
        let samples = slices.filter { $0.value.count >= 3 }.map { (x: $0.value.map(\.z).reduce(0, +) / Double($0.value.count),
                                                                 a2: Double($0.value.count * $0.value.count)) }
        guard samples.count >= 3 else { return nil }
        // When the outermost slices already reach the disc's thin edges, the centroid is the better estimate.
        let ordered = samples.sorted { $0.x < $1.x }
        let peak = ordered.map(\.a2).max()!
        guard max(ordered.first!.a2, ordered.last!.a2) >= 0.25 * peak else { return nil }
        // Least squares a2 = p + q·x + r·x².
        var m = [[Double]](repeating: [0, 0, 0], count: 3), v = [0.0, 0.0, 0.0]
        for s in samples {
            let row = [1, s.x, s.x * s.x]
            for i in 0..<3 {
                v[i] += row[i] * s.a2
                for j in 0..<3 { m[i][j] += row[i] * row[j] }
            }
        }
        guard let sol = solve3(m, v), sol[2] < 0 else { return nil }
        let x0 = -sol[1] / (2 * sol[2])
        let xs = samples.map(\.x)
        let lo = xs.min()!, hi = xs.max()!
        // Only trust a vertex inside the sampled range (extrapolating a parabola is not a measurement).
        guard x0 >= lo - spacing / 2, x0 <= hi + spacing / 2 else { return nil }
        return x0
    }

    /// Least squares s = a + b·u + g·w over (u, w, s) points (g held at 0 unless `lateral`), refitted twice without the
    /// points whose residual exceeds max(`rejection` robust σ, `floor`). Returns [a, b, g] of the last fit, with how many
    /// points the same rule keeps against it and their RMS residual. Nil when a fit is singular or a refit would rest on
    /// fewer than `minimumKept` points.
    static func robustLinearFit(_ points: [SIMD3<Double>], lateral: Bool, rejection: Double, floor: Double,
                                minimumKept: Int) -> (coefficients: [Double], kept: Int, rms: Double)? {
        var keep = [Bool](repeating: true, count: points.count)
        var solution: [Double] = []
        var rms = 0.0
        for pass in 0..<3 {
            var ata = [[Double]](repeating: [0, 0, 0], count: 3), atb = [0.0, 0.0, 0.0]
            for (q, k) in zip(points, keep) where k {
                let row = [1, q.x, lateral ? q.y : 0]
                for i in 0..<3 {
                    atb[i] += row[i] * q.z
                    for j in 0..<3 { ata[i][j] += row[i] * row[j] }
                }
            }
            if !lateral { ata[2][2] = 1 }
            guard let sol = solve3(ata, atb) else { return nil }
            solution = sol
            let residuals = points.map { abs($0.z - sol[0] - sol[1] * $0.x - sol[2] * (lateral ? $0.y : 0)) }
            let kept = zip(residuals, keep).filter(\.1).map(\.0).sorted()
            guard !kept.isEmpty else { return nil }
            let limit = max(rejection * 1.4826 * kept[kept.count / 2], floor)
            keep = residuals.map { $0 <= limit }
            let inliers = residuals.filter { $0 <= limit }
            rms = (inliers.map { $0 * $0 }.reduce(0, +) / Double(max(1, inliers.count))).squareRoot()
            if pass < 2, inliers.count < minimumKept { return nil }
        }
        return (solution, keep.filter { $0 }.count, rms)
    }

    /// Solves a 3×3 linear system by Cramer's rule; nil when singular.
    static func solve3(_ m: [[Double]], _ v: [Double]) -> [Double]? {
        let a = Matrix3(rows: Vector3(m[0][0], m[0][1], m[0][2]), Vector3(m[1][0], m[1][1], m[1][2]),
                        Vector3(m[2][0], m[2][1], m[2][2]))
        guard let inv = a.inverse else { return nil }
        let x = inv * Vector3(v[0], v[1], v[2])
        return [x.x, x.y, x.z]
    }
}
