#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import SpinePlanGeometry

/// Sub-voxel in-plane tilt of a disc from its two boundary lines (the endplates) on the sagittal grid.
///
/// On a 2.5 mm grid each column places an endplate only within ±1.25 mm, and principal axes inherit that
/// staircase (1–3° of tilt error). The boundary is a straight line crossing columns at varying phase, so
/// the direction that separates the last disc voxel from the first bone voxel in every column with the
/// widest margin (digital straight-line recognition) is far better determined than a moment fit.
enum EndplateLines {
    /// Searched half-range around the moment estimate, and the step, in degrees.
    static let range = 6.0, step = 0.02

    /// The refined in-plane unit normal (in the grid's r, c plane), or nil when too few columns qualify.
    static func refine(points: [Vector3], grid: VoxelGrid, initial: Vector3) -> Vector3? {
        let r = grid.axes.c0.normalized, c = grid.axes.c1.normalized
        let a = grid.axes.c0.length, b = grid.axes.c1.length
        // Scan along the grid axis closest to the disc normal.
        let alongC = abs(initial.dot(c)) >= abs(initial.dot(r))
        var mask: [SIMD3<Int>: Bool] = [:]
        for p in points {
            let idx = grid.index(of: p)
            mask[SIMD3(Int(idx.x.rounded()), Int(idx.y.rounded()), Int(idx.z.rounded()))] = true
        }
        // Per slice and column: the first and last disc voxel along the scan axis.
        var runs: [SIMD2<Int>: (lo: Int, hi: Int)] = [:]
        for key in mask.keys {
            let column = SIMD2(key.z, alongC ? key.x : key.y)
            let t = alongC ? key.y : key.x
            let old = runs[column] ?? (t, t)
            runs[column] = (min(old.lo, t), max(old.hi, t))
        }
        // Drop each slice's two outermost columns: there the disc ends on its rim, not on an endplate.
        var bySlice: [Int: [Int]] = [:]
        for key in runs.keys { bySlice[key.x, default: []].append(key.y) }
        var pairs: [Int: [(inside: SIMD2<Double>, outside: SIMD2<Double>, top: Bool)]] = [:]
        func position(_ s: Int, _ t: Int) -> SIMD2<Double> {
            alongC ? SIMD2(Double(s) * a, Double(t) * b) : SIMD2(Double(t) * a, Double(s) * b)
        }
        for (slice, columns) in bySlice {
            let sorted = columns.sorted()
            guard sorted.count >= 5 else { continue }
            for s in sorted.dropFirst().dropLast() {
                guard let run = runs[SIMD2(slice, s)] else { continue }
                pairs[slice, default: []].append((position(s, run.lo), position(s, run.lo - 1), true))
                pairs[slice, default: []].append((position(s, run.hi), position(s, run.hi + 1), false))
            }
        }
        guard pairs.values.reduce(0, { $0 + $1.count }) >= 8 else { return nil }
        // Initial angle of the normal in (r, c) coordinates.
        let theta0 = atan2(initial.dot(c), initial.dot(r)) * 180 / .pi

        func score(_ degrees: Double, top: Bool) -> Double {
            let t = degrees * .pi / 180
            let n = SIMD2(cos(t), sin(t))
            var total = 0.0
            for (_, list) in pairs {
                var maxIn = -Double.infinity, minOut = Double.infinity
                for pair in list where pair.top == top {
                    // Orient so that "outside" lies on the positive side for this boundary.
                    let sign = ((pair.outside - pair.inside) * n).sum() >= 0 ? 1.0 : -1.0
                    maxIn = max(maxIn, sign * (pair.inside * n).sum())
                    minOut = min(minOut, sign * (pair.outside * n).sum())
                }
                if maxIn.isFinite && minOut.isFinite { total += minOut - maxIn }
            }
            return total
        }
        func best(top: Bool) -> Double {
            var bestAngle = theta0, bestScore = -Double.infinity
            var d = theta0 - range
            while d <= theta0 + range {
                let s = score(d, top: top)
                if s > bestScore + 1e-9 { bestScore = s; bestAngle = d }
                d += step
            }
            // Centre of the plateau of equally good angles, so ties do not bias toward the search start.
            var lo = bestAngle, hi = bestAngle
            while lo - step >= theta0 - range, score(lo - step, top: top) >= bestScore - 1e-9 { lo -= step }
            while hi + step <= theta0 + range, score(hi + step, top: top) >= bestScore - 1e-9 { hi += step }
            return (lo + hi) / 2
        }
        let top = best(top: true), bottom = best(top: false)
        let t = (top + bottom) / 2 * .pi / 180
        return (r * cos(t) + c * sin(t)).normalized
    }
}
