import SpinePlanGeometry

/// The geometry of one orientation of a localizer: a stack of parallel, equally spaced slices.
struct LocalizerStack: Sendable, Equatable {
    var orientation: PlaneOrientation
    /// LPS centre of the middle of the stack.
    var centre: Vector3
    var rowDirection: Vector3
    var columnDirection: Vector3
    var rows: Int
    var columns: Int
    /// Square pixels, mm.
    var pixelSpacing: Double
    var sliceCount: Int
    var thickness: Double
    var gap: Double

    /// Centre-to-centre distance between slices.
    var spacing: Double { thickness + gap }
    var normal: Vector3 { rowDirection.cross(columnDirection).normalized }
    var fieldOfView: SIMD2<Double> { SIMD2(Double(columns) * pixelSpacing, Double(rows) * pixelSpacing) }

    /// Signed offset of slice `k` from the stack centre along the normal.
    func offset(ofSlice k: Int) -> Double { (Double(k) - Double(sliceCount - 1) / 2) * spacing }

    func sliceCentre(_ k: Int) -> Vector3 { centre + normal * offset(ofSlice: k) }

    /// Exact DICOM geometry of slice `k`: IPP is the centre of the first pixel.
    func plane(_ k: Int) -> ImagePlane {
        let c = sliceCentre(k)
        let position = c - rowDirection * (Double(columns - 1) / 2 * pixelSpacing)
            - columnDirection * (Double(rows - 1) / 2 * pixelSpacing)
        return ImagePlane(position: position, rowDirection: rowDirection, columnDirection: columnDirection,
                          pixelSpacing: SIMD2(pixelSpacing, pixelSpacing), rows: rows, columns: columns)
    }

    /// The slice whose slab (within half a thickness of its plane, less `margin`) contains `p`, if any.
    func coveringSlice(of p: Vector3, margin: Double = 0) -> Int? {
        let d = (p - centre).dot(normal)
        let k = Int((d / spacing + Double(sliceCount - 1) / 2).rounded())
        guard k >= 0, k < sliceCount else { return nil }
        return abs(d - offset(ofSlice: k)) <= thickness / 2 - margin ? k : nil
    }

    /// True when `p` projects inside the in-plane field of view, at least `margin` from its edge.
    func inPlaneContains(_ p: Vector3, margin: Double = 0) -> Bool {
        let d = p - centre
        let half = fieldOfView / 2
        return abs(d.dot(rowDirection)) <= half.x - margin && abs(d.dot(columnDirection)) <= half.y - margin
    }
}
