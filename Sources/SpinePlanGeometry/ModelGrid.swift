/// The canonical grid the localizer network sees: a sagittal stack resampled in-plane, slice for slice through-plane.
///
/// The exact rule is the contract between training (`Training/spineplan_train/grid.py`) and inference; see
/// `Docs/model-contract.md`. Voxel (w, h, d) is stored w-fastest, so a C-order array of shape (D, H, W) matches.
public struct ModelGrid: Sendable, Equatable {
    /// Grid shape (W, H, D): along the row direction, the column direction and the stack normal.
    public var shape: SIMD3<Int>
    /// In-plane spacing in mm.
    public var inPlaneSpacing: Double

    public init(shape: SIMD3<Int> = SIMD3(128, 128, 16), inPlaneSpacing: Double = 2.5) {
        self.shape = shape
        self.inPlaneSpacing = inPlaneSpacing
    }

    /// How a sample between pixels is read.
    public enum Interpolation: Sendable { case linear, nearest }

    /// The grid placed on a stack of parallel slices, given in any order.
    public func place(_ planes: [ImagePlane]) -> VoxelGrid? {
        guard let first = planes.first else { return nil }
        let r = first.rowDirection.normalized, c = first.columnDirection.normalized, n = r.cross(c).normalized
        let positions = planes.map { centreOf($0).dot(n) }.sorted()
        let thickness = Self.throughPlaneSpacing(positions)
        let centre = planes.map(centreOf).reduce(Vector3.zero, +) / Double(planes.count)
        // Slices land on integer depth indices: an odd stack is centred on index D/2, an even one between two.
        let centreDepth = planes.count % 2 == 1 ? Double(shape.z / 2) : Double(shape.z - 1) / 2
        let origin = centre - r * (Double(shape.x - 1) / 2 * inPlaneSpacing) - c * (Double(shape.y - 1) / 2 * inPlaneSpacing)
            - n * (centreDepth * thickness)
        return VoxelGrid(size: shape, origin: origin,
                         axes: Matrix3(columns: r * inPlaneSpacing, c * inPlaneSpacing, n * thickness))
    }

    /// Resamples slices (plane and row-major pixels) onto `grid`: in-plane bilinear or nearest, through-plane
    /// linear between the two neighbouring slices (or nearest), and 0 outside the stack and the images.
    public func resample(_ slices: [(plane: ImagePlane, pixels: [Float])], onto grid: VoxelGrid,
                         interpolation: Interpolation) -> [Float] {
        let n = grid.axes.c2.normalized
        let ordered = slices.map { (s: centreOf($0.plane).dot(n), plane: $0.plane, pixels: $0.pixels) }.sorted { $0.s < $1.s }
        var out = [Float](repeating: 0, count: grid.voxelCount)
        guard let lowest = ordered.first, let highest = ordered.last else { return out }
        let half = grid.axes.c2.length / 2
        for d in 0..<grid.size.z {
            let s = grid.point(atIndex: Vector3(0, 0, Double(d))).dot(n)
            guard s >= lowest.s - half - 1e-6, s <= highest.s + half + 1e-6 else { continue }
            // The two slices bracketing s, with the weight of the upper one.
            var upper = ordered.firstIndex { $0.s >= s } ?? ordered.count - 1
            var lower = max(0, upper - 1)
            if ordered[upper].s < s || upper == 0 { lower = upper }
            if s < lowest.s { upper = 0; lower = 0 }
            var weight = 0.0
            if lower != upper {
                let span = ordered[upper].s - ordered[lower].s
                weight = span > 0 ? (s - ordered[lower].s) / span : 0
            }
            if interpolation == .nearest {
                if weight >= 0.5 { lower = upper }
                upper = lower
                weight = 0
            }
            for h in 0..<grid.size.y {
                for w in 0..<grid.size.x {
                    let p = grid.point(atIndex: Vector3(Double(w), Double(h), Double(d)))
                    let a = Self.sample(ordered[lower].plane, ordered[lower].pixels, p, interpolation)
                    var v = a
                    if upper != lower, weight > 0 {
                        let b = Self.sample(ordered[upper].plane, ordered[upper].pixels, p, interpolation)
                        v = a + Float(weight) * (b - a)
                    }
                    out[grid.linearIndex(w, h, d)] = v
                }
            }
        }
        return out
    }

    /// Divides by the 99.5th percentile of the positive values (nearest rank) and clips to [0, 2].
    /// Returns nil when no value is positive: there is nothing to normalise against.
    public static func normalise(_ values: [Float]) -> [Float]? {
        let positive = values.filter { $0 > 0 }.sorted()
        guard !positive.isEmpty else { return nil }
        let reference = positive[Int(0.995 * Double(positive.count - 1))]
        return values.map { min(2, max(0, $0 / reference)) }
    }

    /// Median gap between consecutive slice positions; a single slice counts as 4 mm thick.
    static func throughPlaneSpacing(_ sorted: [Double]) -> Double {
        let gaps = zip(sorted.dropFirst(), sorted).map { $0 - $1 }.filter { $0 > 1e-3 }.sorted()
        return gaps.isEmpty ? 4 : gaps[gaps.count / 2]
    }

    func centreOf(_ plane: ImagePlane) -> Vector3 {
        plane.point(column: Double(plane.columns - 1) / 2, row: Double(plane.rows - 1) / 2)
    }

    static func sample(_ plane: ImagePlane, _ pixels: [Float], _ p: Vector3, _ interpolation: Interpolation) -> Float {
        let uv = plane.pixelCoordinate(of: p)
        let x = uv.x, y = uv.y
        let cols = plane.columns, rows = plane.rows
        guard x > -0.5, y > -0.5, x < Double(cols) - 0.5, y < Double(rows) - 0.5 else { return 0 }
        if interpolation == .nearest {
            let c = min(cols - 1, max(0, Int((x).rounded()))), r = min(rows - 1, max(0, Int((y).rounded())))
            return pixels[r * cols + c]
        }
        let cx = min(Double(cols - 1), max(0, x)), cy = min(Double(rows - 1), max(0, y))
        let c0 = min(cols - 2, Int(cx)), r0 = min(rows - 2, Int(cy))
        guard c0 >= 0, r0 >= 0 else { return pixels[min(rows - 1, max(0, Int(cy.rounded()))) * cols + min(cols - 1, max(0, Int(cx.rounded())))] }
        let fx = Float(cx - Double(c0)), fy = Float(cy - Double(r0))
        let p00 = pixels[r0 * cols + c0], p01 = pixels[r0 * cols + c0 + 1]
        let p10 = pixels[(r0 + 1) * cols + c0], p11 = pixels[(r0 + 1) * cols + c0 + 1]
        let top = p00 + fx * (p01 - p00), bottom = p10 + fx * (p11 - p10)
        return top + fy * (bottom - top)
    }
}
