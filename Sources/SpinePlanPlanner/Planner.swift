#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import SpinePlanGeometry

/// Turns a segmentation of the sagittal localizer into a scan plan: levels, one disc-parallel stack per
/// planned disc, warnings, and an abstention when the levels cannot be named with confidence.
///
/// Planning never throws: bad input gives a plan with no planes, `abstained` set and the reason.
public struct Planner: Sendable {
    public var scanProtocol: ScanProtocol
    /// Written into `ScanPlan.model`.
    public var modelName: String
    /// The plan abstains when a structure the level names rest on has a lower mean network probability than this.
    /// It belongs to the weights (their sidecar carries it, chosen on training sessions); 0 turns the check off.
    public var minimumLevelProbability: Double

    public init(protocol scanProtocol: ScanProtocol = ScanProtocol(), modelName: String = "truth",
                minimumLevelProbability: Double = 0) {
        self.scanProtocol = scanProtocol
        self.modelName = modelName
        self.minimumLevelProbability = minimumLevelProbability
    }

    /// Minimum coherence of the coronal structure tensor for the coronal tilt to be used.
    static let coronalCoherence = 0.45
    /// Largest correction (degrees) the coronal localizer may make to the sagittal estimate.
    static let coronalMaximumCorrection = 18.0
    static let blendEndplates = true
    /// Largest angle between a disc's plane normal and the line joining its two vertebral bodies before the fit is
    /// taken for a failure. Wedged lumbar discs stay within about 15° of that line.
    static let maximumAxisDeviation = 30.0
    /// Refine each disc's plane on the sagittal slices' pixels when they are given (`SagittalEndplateRefinement`).
    static let refineOnSagittalPixels = true
    /// Centre each disc left-right on the column's midline in the coronal localizer (`CoronalLateralCentre`).
    static let centreOnCoronalMidline = true

    /// Plans from the segmentation; `coronal` can decide the lateral tilt that a single sagittal slice cannot, and
    /// `sagittal` (the slices the segmentation came from) refines each disc's plane on their finer pixels.
    public func plan(segmentation: Segmentation, coronal: [CoronalImage]? = nil, sagittal: [SagittalImage]? = nil) -> ScanPlan {
        let clock = ContinuousClock()
        let start = clock.now
        var plan = planWithoutTiming(segmentation: segmentation, coronal: coronal, sagittal: sagittal)
        let elapsed = clock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        plan.timings["planner"] = ms
        plan.timings["total"] = max(plan.timings["total"] ?? 0, ms)
        return plan
    }

    func planWithoutTiming(segmentation: Segmentation, coronal: [CoronalImage]?, sagittal: [SagittalImage]? = nil) -> ScanPlan {
        var warnings: [String] = []
        let problems = scanProtocol.problems
        guard problems.isEmpty else {
            return ScanPlan(planes: [], abstained: true, abstentionReason: "invalid scan protocol: " + problems.joined(separator: "; "),
                            warnings: [], model: modelName)
        }
        let grid = segmentation.labels.grid
        // Names come from counting the detected structures up from the sacrum, not from each voxel's class.
        let counted = LevelCounting.count(segmentation)
        let segmentation = counted.segmentation
        let (found, notes) = StructureExtraction().structures(in: segmentation)
        warnings += notes
        let (structures, inferred) = DiscSpaceInference.infer(found, segmentation: segmentation)
        warnings += inferred
        guard structures.contains(where: { $0.kind == .disc }) else {
            return ScanPlan(planes: [], abstained: true, abstentionReason: "no disc found in the segmentation",
                            warnings: warnings, model: modelName)
        }
        if grid.size.z == 1 || Set(structures.flatMap(\.depths)).count == 1 {
            warnings.append("a single sagittal slice: the coronal tilt comes from the coronal localizer or is not measured")
        }

        var levels = LevelAssignment(structures)
        warnings += levels.warnings
        if let reason = counted.abstentionReason, levels.abstentionReason == nil { levels.abstain(because: reason) }

        // Which discs to plan: by assigned level, or by the model's own names when abstaining.
        var wanted = scanProtocol.discs
        if scanProtocol.includeTransitionalDiscs {
            for extra in DiscLevel.allCases where extra.isTransitional && !wanted.contains(extra) { wanted.append(extra) }
        }
        // A consistent count is not enough when the network hesitated over a structure it rests on: on real
        // images such counts were off by one (Docs/planner.md, "Abstention on low probability").
        let weakest = segmentation.confidence == nil ? nil : levels.weakestEvidence(planned: wanted)
        if let weakest, weakest.probability < minimumLevelProbability {
            let (p, limit) = ((weakest.probability * 100).rounded() / 100, (minimumLevelProbability * 100).rounded() / 100)
            levels.abstain(because: "the model is unsure of \(weakest.name) (mean probability \(p), below \(limit)): levels are not named")
        }
        let abstained = levels.abstentionReason != nil
        let chosen: [Int]
        if abstained {
            // Unnamed planes still help, but only if every lumbar disc gets one: the provisional names are counted
            // from the lowest disc found and can be off by one or two, and picking by them left L1/L2 without a
            // plane in 17 of 90 SPIDER calibration sessions. So take the lowest discs found, as many as the
            // protocol plans plus two (the discs are in cranio-caudal order).
            chosen = Array(levels.discs.indices.suffix(scanProtocol.discs.count + 2))
        } else {
            chosen = levels.discs.indices.filter { i in
                DiscLevel(name: levels.discs[i].level ?? "").map(wanted.contains) ?? false
            }
        }

        // Fit every disc first: neighbours bound each stack.
        var fits: [Int: DiscPlaneFit] = [:]
        for i in levels.discs.indices {
            let fractions = Self.fractions(of: levels.discs[i].structure, in: segmentation)
            if let f = DiscPlaneFit.fit(levels.discs[i].structure, grid: grid, fractions: fractions) { fits[i] = f }
        }
        let discSizes = levels.discs.map { Double($0.structure.count) }.sorted()
        let medianSize = discSizes.isEmpty ? 1 : discSizes[discSizes.count / 2]

        var planes: [ScanPlan.Plane] = []
        var tiltUnmeasured: [String] = []
        for i in chosen {
            let disc = levels.discs[i]
            let name = disc.level ?? disc.structure.className
            guard var fit = fits[i] else {
                warnings.append("\(name): too few voxels to fit a plane")
                continue
            }
            var normal = fit.normal
            // Point the normal caudal: toward the vertebra below, or along the spine.
            var caudal = levels.caudal
            if let u = disc.upper, let l = disc.lower {
                caudal = (levels.vertebrae[l].structure.centroid - levels.vertebrae[u].structure.centroid).normalized
            }
            if normal.dot(caudal) < 0 { normal = -normal }

            // Endplates: the facing surfaces of the vertebrae above and below, as a consistency check.
            let endplate = endplateNormal(disc, levels: levels, segmentation: segmentation)
            var endplateAngle = endplate.map { normal.angleDegrees(to: $0.dot(normal) < 0 ? -$0 : $0) }
            // A disc rebuilt from the space between two bodies is only as good as their facing surfaces: use them.
            if disc.structure.inferred, let e = endplate {
                normal = e.dot(caudal) < 0 ? -e : e
                endplateAngle = nil
            } else if Self.blendEndplates, !fit.subvoxel, let e = endplate, let a = endplateAngle, a < 4 {
                // Averaging helps hard labels only (see Docs/planner.md): sub-voxel edges already place the boundary
                // the vertebral layer would sample again.
                normal = (normal + (e.dot(normal) < 0 ? -e : e)).normalized
            }

            // A plane far off the line joining its two bodies is a failed fit (a speck, a gap cut at an angle), never
            // anatomy: plan perpendicular to that line instead, and say so.
            var axisFallback = false
            if let u = disc.upper, let l = disc.lower, levels.vertebrae[u].structure.kind == .vertebra,
               levels.vertebrae[l].structure.kind == .vertebra, normal.angleDegrees(to: caudal) > Self.maximumAxisDeviation {
                warnings.append("\(name): the disc's own plane is \(Int(normal.angleDegrees(to: caudal).rounded()))° off the axis of its vertebrae; planned perpendicular to that axis")
                normal = caudal
                endplateAngle = nil
                axisFallback = true
            }

            // The sagittal pixels (1–1.6 mm) place the endplates more finely than the 2.5 mm grid and do not share the
            // network's errors; the segmentation's plane stays where their evidence is weak or far from it.
            if Self.refineOnSagittalPixels, !axisFallback, let images = sagittal, !images.isEmpty,
               case .refined(let refined) = SagittalEndplateRefinement.refine(centre: fit.centre, normal: normal,
                                                                              thickness: fit.thickness, images: images) {
                normal = refined.normal
                fit.centre = refined.centre
            }

            var coronalMeasured = fit.lateralTiltMeasured
            // The coronal localizer only decides the lateral tilt when the sagittal stack could not.
            if !fit.lateralTiltMeasured, let images = coronal, !images.isEmpty {
                if let estimate = CoronalTiltEstimate.measure(centre: fit.centre, normal: normal, images: images),
                   estimate.coherence >= Self.coronalCoherence {
                    let corrected = estimate.corrected(normal)
                    if corrected.angleDegrees(to: normal) <= Self.coronalMaximumCorrection {
                        normal = corrected
                        coronalMeasured = true
                    } else {
                        warnings.append("\(name): the coronal localizer disagrees with the sagittal disc by \(Int(corrected.angleDegrees(to: normal).rounded()))°, not used")
                    }
                }
            }
            if !coronalMeasured { tiltUnmeasured.append(name) }
            fit.normal = normal
            if Self.centreOnCoronalMidline, let images = coronal, !images.isEmpty,
               let midline = CoronalLateralCentre.measure(centre: fit.centre, normal: normal, images: images) {
                fit.centre = fit.centre + midline.shift
            }

            // Stack geometry.
            var (row, column) = Self.inPlaneAxes(normal: normal)
            if row.cross(column).dot(normal) < 0 { row = -row }
            let slices = clampedSliceCount(centre: fit.centre, normal: normal, disc: i, levels: levels, name: name,
                                           warnings: &warnings)

            // Confidence: model certainty, disc size and shape, agreement with the endplates, lateral coverage.
            var confidence = disc.structure.meanConfidence
            confidence *= exp(-max(0, fit.residual - 0.6) / 1.5)
            confidence *= min(1, Double(disc.structure.count) / (0.35 * medianSize))
            confidence *= exp(-disc.structure.discardedFraction * 3)
            if let a = endplateAngle { confidence *= exp(-max(0, a - 4) / 8) }
            if !coronalMeasured { confidence *= 0.6 }
            if abstained { confidence *= 0.5 }
            if axisFallback { confidence *= 0.4 }
            planes.append(ScanPlan.Plane(
                level: disc.level.flatMap(DiscLevel.init(name:)), centre: fit.centre, rowDirection: row, columnDirection: column, normal: normal,
                fieldOfView: scanProtocol.fieldOfView, slices: slices, thickness: scanProtocol.thickness,
                spacing: scanProtocol.spacing, confidence: min(1, max(0, confidence))))
        }
        if !tiltUnmeasured.isEmpty {
            warnings.append("coronal tilt not measured for \(tiltUnmeasured.joined(separator: ", ")): the stack is tilted in the sagittal plane only")
        }
        let missing = abstained ? [] : wanted.filter { w in
            scanProtocol.discs.contains(w) && !planes.contains { $0.level == w }
        }
        // Four lumbar vertebrae have no L4/L5 or L5/S1 but an L4/S1; six have an L6/S1 instead of L5/S1.
        let fourLumbar = levels.discs.contains { $0.level == DiscLevel.l4S1.name }
        let sixLumbar = levels.discs.contains { $0.level == DiscLevel.l6S1.name }
        for m in missing where !((m == .l5S1 && (fourLumbar || sixLumbar)) || (m == .l4L5 && fourLumbar)) {
            warnings.append("\(m) not found in the localizer: no stack planned")
        }
        var plan = ScanPlan(planes: planes, abstained: abstained, abstentionReason: levels.abstentionReason,
                            warnings: warnings, model: modelName)
        plan.lumbarCount = abstained ? nil : levels.lumbarCount
        plan.transitionalAnatomy = levels.transitionalAnatomy
        plan.levelProbability = weakest?.probability
        return plan
    }

    /// The disc shares of a disc's voxels and their neighbours, when the segmentation carries probabilities.
    static func fractions(of disc: SpineStructure, in segmentation: Segmentation) -> PartialVolumeEndplates.Fractions? {
        guard !disc.inferred, let probability = segmentation.confidence, let first = disc.voxels.first else { return nil }
        var bone = [Bool](repeating: false, count: 256)
        for (value, name) in segmentation.classNames.enumerated() where value < 256 {
            bone[value] = [.vertebra, .sacrum].contains(SpineStructure.kind(of: name))
        }
        return PartialVolumeEndplates.Fractions(labels: segmentation.labels.voxels, probability: probability,
                                                disc: segmentation.labels.voxels[first], bone: bone)
    }

    /// Row ≈ patient right and column ≈ posterior, projected into the plane, so row × column = the
    /// inferior-pointing normal: an axial image seen from the head, anterior at the top.
    static func inPlaneAxes(normal: Vector3) -> (row: Vector3, column: Vector3) {
        var column = Vector3(0, 1, 0) - normal * normal.y
        if column.length < 1e-6 { column = Vector3(0, 0, 1) - normal * normal.z }
        column = column.normalized
        let row = column.cross(normal).normalized
        return (row, column)
    }

    /// The protocol's slice count, reduced until the stack stays clear of the neighbouring discs.
    func clampedSliceCount(centre: Vector3, normal: Vector3, disc index: Int, levels: LevelAssignment, name: String,
                           warnings: inout [String]) -> Int {
        var limit = Double.infinity
        for j in [index - 1, index + 1] where levels.discs.indices.contains(j) {
            let neighbour = levels.discs[j].structure
            let side = (neighbour.centroid - centre).dot(normal) >= 0 ? 1.0 : -1.0
            // The nearest point of the neighbouring disc along the normal, half a voxel inside its edge.
            let nearest = neighbour.points.map { side * ($0 - centre).dot(normal) }.min() ?? .infinity
            limit = min(limit, nearest - 1)
        }
        let spacing = scanProtocol.spacing, thickness = scanProtocol.thickness
        var slices = scanProtocol.slices
        while slices > 1, Double(slices - 1) / 2 * spacing + thickness / 2 > limit { slices -= 1 }
        if slices < scanProtocol.slices {
            warnings.append("\(name): stack shortened from \(scanProtocol.slices) to \(slices) slices to stay clear of the neighbouring disc")
        }
        return slices
    }

    /// The bisector of the facing endplate normals of the vertebrae around a disc, when both are in view.
    func endplateNormal(_ disc: LevelAssignment.Disc, levels: LevelAssignment, segmentation: Segmentation) -> Vector3? {
        guard let u = disc.upper, let l = disc.lower else { return nil }
        let grid = segmentation.labels.grid
        let discVoxels = Set(disc.structure.voxels)
        func surface(_ s: SpineStructure) -> DiscPlaneFit? {
            var points: [Vector3] = []
            for (v, p) in zip(s.voxels, s.points) {
                let i = v % grid.size.x, rest = v / grid.size.x
                let j = rest % grid.size.y, k = rest / grid.size.y
                var touches = false
                for (di, dj) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                    let a = i + di, b = j + dj
                    if a >= 0, b >= 0, a < grid.size.x, b < grid.size.y, discVoxels.contains(grid.linearIndex(a, b, k)) {
                        touches = true
                    }
                }
                if touches { points.append(p) }
            }
            return DiscPlaneFit.fit(points: points, grid: grid, refineEndplates: false)
        }
        guard let a = surface(levels.vertebrae[u].structure), let b = surface(levels.vertebrae[l].structure) else { return nil }
        let nb = b.normal.dot(a.normal) < 0 ? -b.normal : b.normal
        return (a.normal + nb).normalized
    }
}
