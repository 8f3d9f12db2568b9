#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import SpinePlanGeometry

/// The three stacks of a 3-plane localizer and its signal settings, as a technologist would set them.
///
/// Drawn at random per seed, then repaired so that the sagittal stack really covers every target disc:
/// each target centre lies within half a slice thickness of some slice and inside the field of view.
struct LocalizerPrescription: Sendable {
    var sagittal: LocalizerStack
    var coronal: LocalizerStack
    var axial: LocalizerStack
    var snr: Double?
    var biasAmplitude: Double

    var stacks: [LocalizerStack] { [sagittal, coronal, axial] }

    /// Disc centres must sit this far inside a slab, so rounding never moves them out.
    static let coverageMargin = 0.3
    /// ...and this far inside the in-plane field of view.
    static let fieldMargin = 12.0

    static func plan(targets: [Vector3], seed: UInt64, overrides: LocalizerOverrides) throws(ScannerError)
        -> LocalizerPrescription {
        guard !targets.isEmpty else { throw ScannerError(.impossibleGeometry, "no disc to centre the localizer on") }
        var rng = SplitMix64(seed: seed, purpose: "localizer")
        let centroid = targets.reduce(Vector3.zero, +) / Double(targets.count)

        let matrix = overrides.matrix ?? [192, 256, 256, 256, 320, 384][rng.integer(0...5)]
        var fov = overrides.fieldOfView ?? rng.uniform(320...460).rounded()
        let thickness = overrides.sliceThickness ?? [4.0, 5, 5, 6, 7, 8, 10][rng.integer(0...6)]
        let gap = overrides.sliceGap ?? (rng.chance(0.3) ? 0 : (rng.uniform(0...0.6) * thickness * 2).rounded() / 2)
        let slices = overrides.sagittalSlices ?? [1, 3, 3, 5, 5, 5, 7, 7, 9, 11, 15][rng.integer(0...10)]
        let maxTilt = overrides.obliquityDegrees ?? (rng.chance(0.75) ? rng.uniform(0...5) : rng.uniform(5...30))
        let tilt = rotation(&rng, maxDegrees: maxTilt, exact: overrides.obliquityDegrees != nil)

        // In-plane: grow the field of view (unless pinned) until every target fits with a margin.
        let row = tilt * Vector3(0, 1, 0), column = tilt * Vector3(0, 0, -1)
        let extent = targets.map { p -> SIMD2<Double> in
            let d = p - centroid
            return SIMD2(abs(d.dot(row)), abs(d.dot(column)))
        }.reduce(SIMD2<Double>(0, 0)) { pointwiseMax($0, $1) }
        let needed = 2 * (max(extent.x, extent.y) + fieldMargin + 5)
        if fov < needed {
            guard overrides.fieldOfView == nil else {
                throw ScannerError(.impossibleGeometry, "a \(fov) mm field of view cannot hold the lumbar discs (\(needed.rounded()) mm needed)")
            }
            fov = min(600, needed.rounded(.up))
        }
        // Off-centre placement, limited so the targets stay inside the field.
        let slackRow = max(0, fov / 2 - fieldMargin - extent.x - 1), slackColumn = max(0, fov / 2 - fieldMargin - extent.y - 1)
        let inPlaneShift = row * rng.uniform(-1...1) * min(20, slackRow) + column * rng.uniform(-1...1) * min(20, slackColumn)
        let pixel = fov / Double(matrix)

        var sagittal = LocalizerStack(orientation: .sagittal, centre: centroid + inPlaneShift, rowDirection: row,
                                      columnDirection: column, rows: matrix, columns: matrix, pixelSpacing: pixel,
                                      sliceCount: slices, thickness: thickness, gap: gap)
        sagittal = try cover(targets, with: sagittal, preferredShift: rng.uniform(-6...6), overrides: overrides)

        let coronalTilt = rotation(&rng, maxDegrees: maxTilt, exact: overrides.obliquityDegrees != nil)
        let coronal = LocalizerStack(
            orientation: .coronal, centre: centroid + inPlaneShift, rowDirection: coronalTilt * Vector3(1, 0, 0),
            columnDirection: coronalTilt * Vector3(0, 0, -1), rows: matrix, columns: matrix, pixelSpacing: pixel,
            sliceCount: overrides.sagittalSlices.map { min($0, 5) } ?? [1, 3, 3, 5][rng.integer(0...3)],
            thickness: thickness, gap: max(gap, 2 * thickness))
        let axialTilt = rotation(&rng, maxDegrees: maxTilt, exact: overrides.obliquityDegrees != nil)
        let axialFov = min(fov, rng.uniform(300...400).rounded())
        let axial = LocalizerStack(
            orientation: .axial, centre: centroid, rowDirection: axialTilt * Vector3(1, 0, 0),
            columnDirection: axialTilt * Vector3(0, 1, 0), rows: matrix, columns: matrix,
            pixelSpacing: axialFov / Double(matrix),
            sliceCount: overrides.sagittalSlices.map { min($0, 5) } ?? [1, 3, 3, 5][rng.integer(0...3)],
            thickness: thickness, gap: rng.uniform(10...30).rounded())
        let snr: Double? = overrides.snr.map { $0.isFinite ? $0 : nil } ?? rng.uniform(12...45)
        return LocalizerPrescription(sagittal: sagittal, coronal: coronal, axial: axial, snr: snr,
                                     biasAmplitude: overrides.biasAmplitude ?? rng.uniform(0.05...0.2))
    }

    /// A random rotation of at most `maxDegrees` (exactly that much when `exact`) about a random axis.
    private static func rotation(_ rng: inout SplitMix64, maxDegrees: Double, exact: Bool) -> Matrix3 {
        guard maxDegrees > 0 else { return .identity }
        let axis = Vector3(rng.gaussian(), rng.gaussian(), rng.gaussian())
        let angle = exact ? maxDegrees : rng.uniform(0...maxDegrees)
        return Matrix3.rotation(axis: axis.length > 1e-9 ? axis : Vector3(0, 0, 1), degrees: angle)
    }

    /// Slides the stack along its normal (and, unless pinned, adds slices, closes the gap or thickens
    /// them) until every target lies inside a slab.
    private static func cover(_ targets: [Vector3], with stack: LocalizerStack, preferredShift: Double,
                              overrides: LocalizerOverrides) throws(ScannerError) -> LocalizerStack {
        var s = stack
        for _ in 0..<40 {
            if let shifted = bestShift(targets, s, preferred: preferredShift) { return shifted }
            if overrides.sagittalSlices == nil, s.sliceCount < 15 {
                s.sliceCount = min(15, s.sliceCount + 2)
            } else if overrides.sliceGap == nil, s.gap > 0 {
                s.gap = max(0, s.gap - 1)
            } else if overrides.sliceThickness == nil, s.thickness < 10 {
                s.thickness += 1
            } else {
                break
            }
        }
        throw ScannerError(.impossibleGeometry, "\(s.sliceCount) sagittal slices of \(s.thickness) mm with a \(s.gap) mm gap cannot cover every lumbar disc")
    }

    private static func bestShift(_ targets: [Vector3], _ stack: LocalizerStack, preferred: Double) -> LocalizerStack? {
        let normal = stack.normal
        let distances = targets.map { ($0 - stack.centre).dot(normal) }
        let lo = distances.min()! - Double(stack.sliceCount) * stack.spacing
        let hi = distances.max()! + Double(stack.sliceCount) * stack.spacing
        let mean = distances.reduce(0, +) / Double(distances.count)
        var best: (cost: Double, shift: Double)?
        var shift = lo
        while shift <= hi {
            var candidate = stack
            candidate.centre = stack.centre + normal * shift
            if targets.allSatisfy({ candidate.coveringSlice(of: $0, margin: coverageMargin) != nil }) {
                let cost = abs(shift - mean - preferred)
                if best == nil || cost < best!.cost { best = (cost, shift) }
            }
            shift += 0.1
        }
        guard let best else { return nil }
        var result = stack
        result.centre = stack.centre + normal * best.shift
        return result
    }
}
