#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import SpinePlanGeometry

/// A disc's plane from sub-voxel endplate positions read off the network's probabilities.
///
/// Hard labels place an endplate only within ±1.25 mm on the 2.5 mm grid. A network's probability at a
/// disc/bone boundary voxel is (ideally) the share of the voxel the disc covers, so along each grid column the
/// boundary lies at `last disc voxel + ½ − (the disc shares of it and of the bone voxel beyond)`: a sub-voxel edge.
/// Each endplate's edges are fitted by a plane over (column position, slice position), and the disc's normal is the
/// bisector of the two, which gives both tilts at once. The in-plane part is then averaged with the principal axis
/// of the share-weighted voxels, which (like the anatomical definition) weights the thicker part of a wedge more.
///
/// The segmentation carries only the winning class and its probability, so a voxel's disc share is `p` when it
/// is labelled disc and `1 − p` otherwise: exact where two classes meet, which is the case at an endplate.
enum PartialVolumeEndplates {
    /// The probabilities of one disc's voxels and their neighbours.
    struct Fractions: Sendable {
        var labels: [UInt8]
        var probability: [Float]
        var disc: UInt8
        /// True for the label values of vertebrae and the sacrum.
        var bone: [Bool]

        func isBone(_ v: Int) -> Bool { bone[Int(labels[v])] }

        /// The share of voxel `v` the disc covers.
        func disc(_ v: Int) -> Double {
            let p = Double(min(1, max(0, probability[v])))
            return labels[v] == disc ? p : 1 - p
        }
    }

    /// Largest angle (degrees) between the sub-voxel plane and the hard-label estimate before the fit is distrusted.
    static let maximumDeviation = 8.0
    /// Fewest columns (all slices together) the fit needs.
    static let minimumColumns = 8

    /// Largest angle (degrees) between the edge bisector and the share-weighted principal axis for the two to be
    /// averaged; beyond it (a bleed, a swapped patch) the edges, fitted robustly, are kept alone.
    static let momentAgreement = 3.0
    /// Least standard deviation (voxels) of the edges' sub-voxel offsets for the probabilities to count as
    /// information. Partial volumes of a tilted endplate spread over the whole voxel (0.29 for a uniform spread).
    static let minimumSpread = 0.05

    /// In-plane minor axis of the disc's within-slice second moments, each voxel weighted by its disc share: the
    /// shares place the outline to a fraction of a voxel. Voxels next to the disc count with the share the
    /// disc leaves them.
    static func momentAxis(voxels: [Int], grid: VoxelGrid, fractions: Fractions) -> Vector3? {
        let size = grid.size
        var weights: [Int: Double] = [:]
        for v in voxels {
            weights[v] = fractions.disc(v)
            let i = v % size.x, j = (v / size.x) % size.y, k = v / (size.x * size.y)
            for dj in -1...1 {
                for di in -1...1 where (di != 0 || dj != 0) && i + di >= 0 && j + dj >= 0 && i + di < size.x && j + dj < size.y {
                    let u = grid.linearIndex(i + di, j + dj, k)
                    if weights[u] == nil, fractions.labels[u] != fractions.disc { weights[u] = fractions.disc(u) }
                }
            }
        }
        // Sorted, so that the sums (and the plan) do not depend on the dictionary's order.
        var bySlice: [Int: [(Double, Double, Double)]] = [:]
        for (v, w) in weights.sorted(by: { $0.key < $1.key }) where w > 0 {
            let i = v % size.x, j = (v / size.x) % size.y, k = v / (size.x * size.y)
            bySlice[k, default: []].append((Double(i) * grid.axes.c0.length, Double(j) * grid.axes.c1.length, w))
        }
        var sxx = 0.0, syy = 0.0, sxy = 0.0
        for (_, list) in bySlice.sorted(by: { $0.key < $1.key }) {
            let total = list.reduce(0) { $0 + $1.2 }
            guard total > 0 else { continue }
            let mx = list.reduce(0) { $0 + $1.0 * $1.2 } / total, my = list.reduce(0) { $0 + $1.1 * $1.2 } / total
            for (x, y, w) in list {
                sxx += w * (x - mx) * (x - mx); syy += w * (y - my) * (y - my); sxy += w * (x - mx) * (y - my)
            }
        }
        guard sxx + syy > 0 else { return nil }
        let angle = 0.5 * atan2(2 * sxy, sxx - syy)
        let r = grid.axes.c0.normalized, c = grid.axes.c1.normalized
        return (r * -sin(angle) + c * cos(angle)).normalized
    }

    struct Sample {
        /// Column position and slice position (mm).
        var u, x: Double
        /// Edge position along the scan axis (mm).
        var edge: Double
    }

    /// Slopes of a least-squares plane edge = a + u·slope.u + x·slope.x, refitted twice without gross outliers (a
    /// swapped label or a bleed moves a column's edge by a voxel or more). Nil with too few columns.
    static func surface(_ samples: [Sample], lateral: Bool, tolerance: Double) -> (u: Double, x: Double)? {
        guard samples.count >= minimumColumns else { return nil }
        let u0 = samples.map(\.u).reduce(0, +) / Double(samples.count)
        let x0 = samples.map(\.x).reduce(0, +) / Double(samples.count)
        guard let fit = DiscPlaneFit.robustLinearFit(samples.map { SIMD3($0.u - u0, $0.x - x0, $0.edge) }, lateral: lateral,
                                                      rejection: 3, floor: tolerance, minimumKept: minimumColumns)
        else { return nil }
        return (fit.coefficients[1], fit.coefficients[2])
    }

    struct Result {
        /// Unit normal, sign as `initial`.
        var normal: Vector3
        /// True when two or more slices constrained the lateral tilt.
        var lateral: Bool
    }

    /// The plane normal of the disc made of `voxels` on `grid`; `initial` is the in-plane estimate from hard labels,
    /// which picks the scan axis and bounds the result. Nil when too few columns qualify, when the probabilities
    /// carry no sub-voxel information, or when the fit strays from `initial`.
    static func fit(voxels: [Int], grid: VoxelGrid, fractions: Fractions, initial: Vector3) -> Result? {
        let r = grid.axes.c0.normalized, c = grid.axes.c1.normalized, n = grid.axes.c2.normalized
        let size = grid.size
        // Scan along the in-plane grid axis closest to the disc normal; columns run along the other.
        let alongC = abs(initial.dot(c)) >= abs(initial.dot(r))
        let scanAxis = alongC ? c : r, columnAxis = alongC ? r : c
        let scanStep = alongC ? grid.axes.c1.length : grid.axes.c0.length
        let columnStep = alongC ? grid.axes.c0.length : grid.axes.c1.length
        let sliceStep = grid.axes.c2.length

        var runs: [SIMD2<Int>: (lo: Int, hi: Int)] = [:]
        for v in voxels {
            let i = v % size.x, j = (v / size.x) % size.y, k = v / (size.x * size.y)
            let key = SIMD2(k, alongC ? i : j), t = alongC ? j : i
            let old = runs[key] ?? (t, t)
            runs[key] = (min(old.lo, t), max(old.hi, t))
        }
        func voxel(_ slice: Int, _ column: Int, _ t: Int) -> Int? {
            guard t >= 0, t < (alongC ? size.y : size.x) else { return nil }
            return alongC ? grid.linearIndex(column, t, slice) : grid.linearIndex(t, column, slice)
        }

        // Per slice, drop the two outermost columns: there the disc ends on its rim, not on an endplate. Keep an
        // edge only where the disc meets bone (a vertebra or the sacrum): elsewhere it is the rim, the canal or a gap.
        var bySlice: [Int: [Int]] = [:]
        for key in runs.keys { bySlice[key.x, default: []].append(key.y) }
        var low: [Sample] = [], high: [Sample] = []
        // How far each edge moved from where hard labels put it (voxels): the sub-voxel information.
        var offsets: [Double] = []
        for (slice, columns) in bySlice.sorted(by: { $0.key < $1.key }) {
            let sorted = columns.sorted()
            guard sorted.count >= 5 else { continue }
            for s in sorted.dropFirst().dropLast() {
                guard let run = runs[SIMD2(slice, s)] else { continue }
                let u = Double(s) * columnStep, x = Double(slice) * sliceStep
                // Edges in voxel units along the scan axis.
                if let outside = voxel(slice, s, run.lo - 1), let inside = voxel(slice, s, run.lo), fractions.isBone(outside) {
                    let offset = 1 - fractions.disc(inside) - fractions.disc(outside)
                    low.append(Sample(u: u, x: x, edge: (Double(run.lo) - 0.5 + offset) * scanStep))
                    offsets.append(offset)
                }
                if let outside = voxel(slice, s, run.hi + 1), let inside = voxel(slice, s, run.hi), fractions.isBone(outside) {
                    let offset = fractions.disc(inside) + fractions.disc(outside) - 1
                    high.append(Sample(u: u, x: x, edge: (Double(run.hi) + 0.5 + offset) * scanStep))
                    offsets.append(offset)
                }
            }
        }
        // Probabilities that do not vary along the endplates (all certain, or one value at every boundary) only
        // redraw the staircase of the hard labels, which the margin fit of `EndplateLines` reads better.
        guard !offsets.isEmpty else { return nil }
        let mean = offsets.reduce(0, +) / Double(offsets.count)
        let spread = (offsets.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(offsets.count)).squareRoot()
        guard spread >= minimumSpread else { return nil }
        let lateral = Set((low + high).map(\.x)).count >= 2
        guard let top = surface(low, lateral: lateral, tolerance: 0.25 * scanStep),
              let bottom = surface(high, lateral: lateral, tolerance: 0.25 * scanStep) else { return nil }
        // The bisector of the two endplates, also for a wedge-shaped disc: the mean of their slopes.
        let slopeU = (top.u + bottom.u) / 2, slopeX = (top.x + bottom.x) / 2
        var inPlane = scanAxis - columnAxis * slopeU
        let sign = inPlane.dot(initial) < 0 ? -1.0 : 1.0
        inPlane = inPlane * sign
        var direction = inPlane.normalized
        if let m = momentAxis(voxels: voxels, grid: grid, fractions: fractions) {
            let oriented = m.dot(direction) < 0 ? -m : m
            if oriented.angleDegrees(to: direction) < momentAgreement { direction = (oriented + direction).normalized }
        }
        // Restore the lateral slope relative to the (possibly turned) in-plane direction.
        let normal = (direction * inPlane.length - n * (sign * slopeX)).normalized
        guard direction.angleDegrees(to: initial) <= maximumDeviation else { return nil }
        return Result(normal: normal, lateral: lateral)
    }
}
