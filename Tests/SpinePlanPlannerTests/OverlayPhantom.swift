import SpinePlanDICOM
import SpinePlanGeometry
import SpinePlanPlanner

/// A planned session for overlay tests, made in well under a second: an analytic spine (varied pose, disc spacing
/// and tilt, sometimes cut off above the sacrum or damaged like a network's output), its plan from the real planner,
/// and its mid-sagittal slice drawn from the same shapes.
struct OverlayPhantom: Sendable {
    var name: String
    var plan: ScanPlan
    var midSagittal: Slice

    /// Phantom `index` of a reproducible family: every fifth is cut off above the sacrum (the planner abstains),
    /// every third has network-like damage (lower confidence), and the rest vary pose, spacing and grid.
    static func make(_ index: Int) -> OverlayPhantom {
        var rng = SplitMixRandom(seed: UInt64(7700 + index))
        func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * rng.unit() }
        let pose = Matrix3.rotation(axis: Vector3(0, 0, 1), degrees: uniform(-10, 10))
            * Matrix3.rotation(axis: Vector3(0, 1, 0), degrees: uniform(-8, 8))
            * Matrix3.rotation(axis: Vector3(1, 0, 0), degrees: uniform(-12, 12))
        let spacing = uniform(26, 38)
        let names = ["L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1"]
        let origin = Vector3(uniform(-5, 5), uniform(-15, 15), uniform(-15, 15))
        let discs = names.enumerated().map { i, name in
            let tilt = Matrix3.rotation(axis: Vector3(1, 0, 0), degrees: -8 + Double(i) * 5.5 + uniform(-3, 3))
                * Matrix3.rotation(axis: Vector3(0, 1, 0), degrees: uniform(-4, 4))
            return AnalyticSpine.Disc(name: name, centre: origin + pose * Vector3(0, 0, 2 * spacing - Double(i) * spacing),
                                      normal: (pose * (tilt * Vector3(0, 0, -1))).normalized)
        }
        var spine = AnalyticSpine(discs: discs, vertebrae: ["L1", "L2", "L3", "L4", "L5", "S1"])
        spine.discHeight = uniform(7, 11)
        let cutOff = index % 5 == 0
        let inPlane = uniform(2.0, 2.6)
        let gridCentre = origin + Vector3(0, uniform(-10, 10), cutOff ? 2.2 * spacing + 40 : uniform(-25, 5))
        let grid = AnalyticSpine.grid(centre: gridCentre, rotation: Matrix3.rotation(axis: Vector3(0, 0, 1), degrees: uniform(-5, 5)),
                                      size: SIMD3(96, 112, 3), inPlane: inPlane, sliceSpacing: 4)
        var segmentation = spine.segmentation(on: grid)
        if index % 3 == 1 {
            segmentation = SegmentationDegradation(boundarySwap: 0.8, bleed: 0.8, seed: UInt64(index)).apply(segmentation)
        }
        let discsPlanned = index % 2 == 0 ? DiscLevel.lumbar : [.l3L4, .l4L5, .l5S1]
        let plan = Planner(protocol: ScanProtocol(discs: discsPlanned)).plan(segmentation: segmentation)
        return OverlayPhantom(name: "phantom-\(index)", plan: plan, midSagittal: image(spine, grid: grid, seed: UInt64(index)))
    }

    /// The middle slice of `grid` with MR-like grey values for each structure and a little noise.
    static func image(_ spine: AnalyticSpine, grid: VoxelGrid, seed: UInt64) -> Slice {
        var rng = SplitMixRandom(seed: seed)
        let k = grid.size.z / 2
        let row = grid.axes.c0.normalized, column = grid.axes.c1.normalized
        let position = grid.point(atIndex: Vector3(0, 0, Double(k)))
        let plane = ImagePlane(position: position, rowDirection: row, columnDirection: column,
                               pixelSpacing: SIMD2(grid.axes.c1.length, grid.axes.c0.length), rows: grid.size.y, columns: grid.size.x)
        var pixels: [Float] = []
        pixels.reserveCapacity(grid.size.x * grid.size.y)
        for j in 0..<grid.size.y {
            for i in 0..<grid.size.x {
                let name = AnalyticSpine.classNames[Int(spine.label(at: grid.point(atIndex: Vector3(Double(i), Double(j), Double(k)))))]
                let base: Float = name == "background" ? 120 : (name.contains("/") ? 820 : (name == "S1" ? 430 : 520))
                pixels.append(base + Float(rng.unit() * 60))
            }
        }
        return Slice(sopInstanceUID: "2.25.\(seed + 1)", seriesInstanceUID: "2.25.2", frameOfReferenceUID: "2.25.3", plane: plane,
                     patientStudy: PatientStudy(studyInstanceUID: "2.25.4"), pixels: pixels)
    }

    /// The plan's stacks as `ReportStage` hands them to the overlay writer.
    var stacks: [OverlayImageWriter.Stack] {
        plan.planes.enumerated().map { i, p in
            OverlayImageWriter.Stack(label: plan.abstained ? "?\(i + 1)" : (p.level?.name ?? "?\(i + 1)"), centre: p.centre, normal: p.normal,
                                     fieldOfView: p.fieldOfView, slices: p.slices, spacing: p.spacing, confidence: p.confidence,
                                     rowDirection: p.rowDirection)
        }
    }

    /// The notes as `ReportStage` hands them to the overlay writer.
    var notes: [String] {
        (plan.abstained ? ["LEVELS NOT NAMED: " + (plan.abstentionReason ?? "uncertain anatomy")] : []) + plan.warnings
    }
}
