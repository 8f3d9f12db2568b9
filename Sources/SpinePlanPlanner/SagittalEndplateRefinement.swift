#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import SpinePlanGeometry

/// A disc's plane refined on the sagittal localizer's own pixels (about 1–1.6 mm, finer than the 2.5 mm model
/// grid): the disc's upper and lower boundaries are located to a fraction of a pixel on intensity profiles along
/// the normal, one plane is fitted to each, and their bisector becomes the normal.
///
/// The segmentation's plane is kept whenever the edge evidence is weak (too few edges, too little contrast against
/// the pixel noise), inconsistent (rough edges, endplates far from parallel) or far from that plane (a correction
/// beyond `maximumCorrection` degrees or `maximumShift` mm).
struct SagittalEndplateRefinement: Sendable {
    /// The refined centre: the segmentation's centre moved along its normal to midway between the two edges.
    var centre: Vector3
    /// The refined normal, oriented as the segmentation's.
    var normal: Vector3
    /// Angle between the segmentation's normal and the refined one, in degrees.
    var correction: Double
    /// Move of the centre along the segmentation's normal, in mm.
    var shift: Double
    /// True when slices across the disc constrained the lateral tilt too; otherwise only the tilt within the
    /// sagittal slices was refined and the lateral tilt is the segmentation's.
    var lateralTiltRefined: Bool
    /// Edges used in the final fit, upper and lower.
    var edges: (upper: Int, lower: Int)

    /// Why the segmentation's plane was kept.
    enum Rejection: String, Sendable {
        case fewProfiles = "too few profiles inside the images"
        case fewEdges = "too few edges"
        case weakEdges = "edge contrast within the pixel noise"
        case roughEdges = "edges scattered about their planes"
        case inconsistentEdges = "upper and lower edges far from parallel"
        case beyondBound = "correction beyond the bound"
    }

    /// What became of one disc.
    enum Outcome: Sendable {
        case refined(SagittalEndplateRefinement)
        case kept(Rejection)
    }

    // Profiles: every `profileStep` mm along the disc, over ±`profileHalfLength` mm around the centre (the disc's
    // middle, clear of the rounded rim), in every slice within `lateralReach` mm of the centre; samples every
    // `sampleStep` mm along the normal, derivative of a Gaussian of `smoothing` mm.
    static let profileHalfLength = 12.0, profileStep = 1.0, lateralReach = 14.0
    static let sampleStep = 0.25, smoothing = 1.0
    /// The disc's edges are searched from `innerReach` mm off the plane to `outerReach` (or half the disc's thickness
    /// plus 4 mm, whichever is more); each profile's edge within ±`trackingWindow` mm of the mean profile's.
    static let innerReach = 1.5, outerReach = 10.0, trackingWindow = 2.5
    /// A profile's edge counts when at least this share of the mean profile's edge strength.
    static let relativeStrength = 0.3
    static let minimumProfiles = 10, minimumEdges = 8
    /// The step across each edge of the mean profile (±1.5 mm) must be this many times the pixel noise.
    static let minimumContrast = 3.0
    /// RMS distance (mm) of an endplate's edges from its fitted plane, after outliers are dropped.
    static let maximumResidual = 1.0
    /// Largest angle (degrees) between the two endplates: lumbosacral discs are wedges of up to about 15°.
    static let maximumWedge = 20.0
    /// Bounds on the correction of the segmentation's plane: degrees, and mm along the normal.
    static let maximumCorrection = 10.0, maximumShift = 3.0
    static let maximumIterations = 5

    /// Refines the plane through `centre` with inferior-pointing `normal` on `images` (parallel sagittal slices).
    /// `thickness` is the segmentation's disc thickness in mm, which widens the edge search for thick discs.
    static func refine(centre: Vector3, normal: Vector3, thickness: Double, images: [SagittalImage]) -> Outcome {
        let start = normal.normalized
        var c = centre, n = start
        var last: Step?
        // Profiles follow the current plane, so a few passes converge on the edges' own plane.
        for _ in 0..<maximumIterations {
            let s: Step
            switch step(centre: c, normal: n, thickness: thickness, images: images) {
            case .kept(let rejection): return .kept(rejection)
            case .done(let done): s = done
            }
            let moved = s.normal.angleDegrees(to: n)
            (c, n, last) = (s.centre, s.normal, s)
            if moved < 0.05 { break }
        }
        guard let last else { return .kept(.fewProfiles) }
        let correction = n.angleDegrees(to: start)
        let shift = (c - centre).dot(start)
        guard correction <= maximumCorrection, abs(shift) <= maximumShift else { return .kept(.beyondBound) }
        return .refined(SagittalEndplateRefinement(centre: c, normal: n, correction: correction, shift: shift,
                                                   lateralTiltRefined: last.lateral, edges: last.edges))
    }

    /// One pass: profiles along the current plane, edges, fits, and the plane they give.
    struct Step {
        var centre: Vector3
        var normal: Vector3
        var lateral: Bool
        var edges: (upper: Int, lower: Int)
    }

    enum Pass {
        case done(Step)
        case kept(Rejection)
    }

    static func step(centre c: Vector3, normal n: Vector3, thickness: Double, images: [SagittalImage]) -> Pass {
        guard let first = images.first else { return .kept(.fewProfiles) }
        let m = first.plane.normal
        // e: along the disc within the slices; v: across the slices within the disc; p: the normal seen in a slice.
        let eRaw = m.cross(n)
        guard eRaw.length > 0.3 else { return .kept(.fewProfiles) }
        let e = eRaw.normalized, v = n.cross(e).normalized
        let p = (n - m * n.dot(m)).normalized
        let outer = max(outerReach, thickness / 2 + 4)
        let reach = outer + trackingWindow + 3 * smoothing
        let samples = Int((reach / sampleStep).rounded(.up))
        let count = 2 * samples + 1
        func t(_ i: Int) -> Double { Double(i - samples) * sampleStep }

        // Profiles, each with where it starts.
        var profiles: [[Double]] = []
        var origins: [(point: Vector3, u: Double)] = []
        var noises: [Double] = []
        let steps = Int((profileHalfLength / profileStep).rounded())
        for image in images {
            let depth = (image.plane.position - c).dot(m)
            guard abs(depth) <= lateralReach, abs(v.dot(m)) > 1e-6 else { continue }
            let lineCentre = c + v * (depth / v.dot(m))
            if let sigma = image.noise(around: lineCentre, halfWidth: 25) { noises.append(sigma) }
            for k in -steps...steps {
                let u = Double(k) * profileStep
                let base = lineCentre + e * u
                var values = [Double](repeating: 0, count: count)
                var inside = true
                for i in 0..<count {
                    guard let value = image.value(at: base + p * t(i)) else { inside = false; break }
                    values[i] = value
                }
                if inside { profiles.append(values); origins.append((base, u)) }
            }
        }
        guard profiles.count >= minimumProfiles, !noises.isEmpty else { return .kept(.fewProfiles) }

        // Derivative of a Gaussian along each profile (intensity per sample, increasing toward +t: caudal).
        let half = Int((3 * smoothing / sampleStep).rounded())
        var kernel = [Double](repeating: 0, count: 2 * half + 1)
        var norm = 0.0
        for k in -half...half {
            let x = Double(k) * sampleStep
            kernel[k + half] = Double(k) * exp(-x * x / (2 * smoothing * smoothing))
            norm += Double(k) * kernel[k + half]
        }
        for k in kernel.indices { kernel[k] /= norm }
        let derivatives = profiles.map { values -> [Double] in
            var out = [Double](repeating: 0, count: count)
            for i in half..<(count - half) {
                var s = 0.0
                for k in -half...half { s += values[i + k] * kernel[k + half] }
                out[i] = s
            }
            return out
        }
        var meanDerivative = [Double](repeating: 0, count: count), meanValue = [Double](repeating: 0, count: count)
        for (d, values) in zip(derivatives, profiles) {
            for i in 0..<count { meanDerivative[i] += d[i]; meanValue[i] += values[i] }
        }
        for i in 0..<count { meanDerivative[i] /= Double(profiles.count); meanValue[i] /= Double(profiles.count) }

        // The mean profile's two edges, with one polarity for both: intensity falling outward from the disc (a
        // bright disc, or the dark cortical line beyond it) or rising. The upper edge lies at negative t, so its
        // outward derivative is −d.
        let upperRange = (samples - Int(outer / sampleStep))...(samples - Int(innerReach / sampleStep))
        let lowerRange = (samples + Int(innerReach / sampleStep))...(samples + Int(outer / sampleStep))
        func strongest(_ range: ClosedRange<Int>, _ sign: Double) -> Int {
            range.max { sign * meanDerivative[$0] < sign * meanDerivative[$1] }!
        }
        var best: (score: Double, polarity: Double, upper: Int, lower: Int)?
        for polarity in [1.0, -1.0] {
            let iu = strongest(upperRange, -polarity), il = strongest(lowerRange, polarity)
            let score = -polarity * meanDerivative[iu] + polarity * meanDerivative[il]
            if best == nil || score > best!.score { best = (score, polarity, iu, il) }
        }
        guard let chosen = best else { return .kept(.weakEdges) }

        // Contrast: the step of the mean profile across each edge against the pixel noise.
        let across = Int((1.5 / sampleStep).rounded())
        func stepHeight(_ i: Int) -> Double { abs(meanValue[min(count - 1, i + across)] - meanValue[max(0, i - across)]) }
        let noise = noises.sorted()[noises.count / 2]
        guard min(stepHeight(chosen.upper), stepHeight(chosen.lower)) >= minimumContrast * max(noise, 1e-9) else {
            return .kept(.weakEdges)
        }

        // Each profile's edge near the mean profile's, to a fraction of a sample by a parabola through the peak.
        let window = Int((trackingWindow / sampleStep).rounded())
        var points: [[SIMD3<Double>]] = [[], []]
        for (side, (centreIndex, sign)) in [(chosen.upper, -chosen.polarity), (chosen.lower, chosen.polarity)].enumerated() {
            let strength = sign * meanDerivative[centreIndex]
            guard strength > 0 else { return .kept(.weakEdges) }
            let lo = max(half + 1, centreIndex - window), hi = min(count - half - 2, centreIndex + window)
            guard hi - lo >= 2 else { return .kept(.fewEdges) }
            for (d, origin) in zip(derivatives, origins) {
                var j = lo
                for i in lo...hi where sign * d[i] > sign * d[j] { j = i }
                guard j > lo, j < hi, sign * d[j] >= relativeStrength * strength else { continue }
                let y0 = sign * d[j - 1], y1 = sign * d[j], y2 = sign * d[j + 1]
                let curvature = y0 - 2 * y1 + y2
                let offset = curvature < 0 ? 0.5 * (y0 - y2) / curvature : 0
                let q = origin.point + p * (t(j) + offset * sampleStep) - c
                points[side].append(SIMD3(q.dot(e), q.dot(v), q.dot(n)))
            }
        }

        // One plane per endplate, s = a + b·u (+ g·w across slices), dropping outliers twice.
        var fits: [(a: Double, b: Double, g: Double, lateral: Bool)] = []
        for side in 0..<2 {
            guard let fit = robustPlane(points[side]) else { return .kept(.fewEdges) }
            guard fit.rms <= maximumResidual else { return .kept(.roughEdges) }
            fits.append((fit.a, fit.b, fit.g, fit.lateral))
        }
        let wedge = abs(atan(fits[0].b) - atan(fits[1].b)) * 180 / .pi
        guard wedge <= maximumWedge else { return .kept(.inconsistentEdges) }
        let lateral = fits[0].lateral && fits[1].lateral
        let b = (fits[0].b + fits[1].b) / 2
        let g = lateral ? (fits[0].g + fits[1].g) / 2 : 0
        let refined = (n - e * b - v * g).normalized
        let centre = c + n * ((fits[0].a + fits[1].a) / 2)
        return .done(Step(centre: centre, normal: refined, lateral: lateral,
                             edges: (points[0].count, points[1].count)))
    }

    /// Least-squares s = a + b·u + g·w over (u, w, s) points, refitted without residuals beyond
    /// max(2.5 robust σ, 0.3 mm); g only when the points span more than 3 mm across the slices.
    static func robustPlane(_ points: [SIMD3<Double>]) -> (a: Double, b: Double, g: Double, lateral: Bool, rms: Double)? {
        guard points.count >= minimumEdges else { return nil }
        let ws = points.map(\.y)
        let lateral = (ws.max()! - ws.min()!) > 3
        guard let fit = DiscPlaneFit.robustLinearFit(points, lateral: lateral, rejection: 2.5, floor: 0.3, minimumKept: 0),
              fit.kept >= minimumEdges else { return nil }
        let s = fit.coefficients
        return (s[0], s[1], s[2], lateral, fit.rms)
    }
}
