import Dispatch
import SpinePlanGeometry

/// Turns a sagittal localizer stack into the network input: `ModelGrid` placement, resampling and normalisation.
public struct Preprocessor: Sendable {
    public var modelGrid: ModelGrid

    public init(modelGrid: ModelGrid) {
        self.modelGrid = modelGrid
    }

    /// The grid and its normalised values, C-order `[D, H, W]`. The images must form one parallel stack, with pixel
    /// counts matching their planes, and carry some positive signal. One frame of reference is the caller's to check.
    public func prepare(_ images: [LocalizerImage]) throws(ModelError) -> (grid: VoxelGrid, values: [Float]) {
        guard let first = images.first else { throw ModelError(.badInput, "no sagittal slices to segment") }
        let normal = first.plane.normal
        for (index, image) in images.enumerated() {
            guard image.pixels.count == image.plane.rows * image.plane.columns, image.plane.rows >= 2, image.plane.columns >= 2 else {
                throw ModelError(.badInput, "slice \(index + 1) of \(images.count) has \(image.pixels.count) pixels for a \(image.plane.rows)×\(image.plane.columns) plane")
            }
            guard abs(image.plane.normal.dot(normal)) > 0.9999 else {
                throw ModelError(.badInput, "slices are not one parallel stack: slice \(index + 1) of \(images.count) is tilted against the first")
            }
        }
        let ordered = images
        guard let grid = modelGrid.place(ordered.map(\.plane)) else {
            throw ModelError(.badInput, "the model grid cannot be placed on these slices")
        }
        let raw = resample(ordered.map { ($0.plane, $0.pixels) }, onto: grid)
        guard let values = Self.normalise(raw) else {
            throw ModelError(.badInput, "the sagittal stack has no positive signal inside the model grid")
        }
        return (grid, values)
    }

    /// `ModelGrid.resample` one depth plane per task on all cores: each plane is a one-deep grid with the same axes,
    /// so the sampling rule (and the result) is the same as resampling the whole grid at once.
    func resample(_ slices: [(plane: ImagePlane, pixels: [Float])], onto grid: VoxelGrid) -> [Float] {
        let planeSize = grid.size.x * grid.size.y
        var out = [Float](repeating: 0, count: grid.voxelCount)
        let modelGrid = modelGrid
        out.withUnsafeMutableBufferPointer { buffer in
            let base = UnsafeSendableBuffer(buffer)
            DispatchQueue.concurrentPerform(iterations: grid.size.z) { d in
                let origin = grid.point(atIndex: Vector3(0, 0, Double(d)))
                guard let plane = VoxelGrid(size: SIMD3(grid.size.x, grid.size.y, 1), origin: origin, axes: grid.axes) else { return }
                let values = modelGrid.resample(slices, onto: plane, interpolation: .linear)
                for i in 0..<planeSize { base.buffer[d * planeSize + i] = values[i] }
            }
        }
        return out
    }
}

extension Preprocessor {
    /// `ModelGrid.normalise` with the percentile found by selection instead of a full sort (the sort was most of
    /// the preprocessing time): the same nearest-rank element, so the same output.
    public static func normalise(_ values: [Float]) -> [Float]? {
        var positive = values.filter { $0 > 0 }
        guard !positive.isEmpty else { return nil }
        let reference = select(&positive, rank: Int(0.995 * Double(positive.count - 1)))
        return values.map { min(2, max(0, $0 / reference)) }
    }

    /// The element that would sit at `rank` if `values` were sorted ascending (quickselect; reorders `values`).
    static func select(_ values: inout [Float], rank k: Int) -> Float {
        values.withUnsafeMutableBufferPointer { b -> Float in
            var lo = 0, hi = b.count - 1
            while lo < hi {
                let x = b[lo], y = b[lo + (hi - lo) / 2], z = b[hi]
                let pivot = max(min(x, y), min(max(x, y), z))
                var i = lo, j = hi
                while i <= j {
                    while b[i] < pivot { i += 1 }
                    while b[j] > pivot { j -= 1 }
                    if i <= j {
                        b.swapAt(i, j)
                        i += 1
                        j -= 1
                    }
                }
                // Now b[lo...j] ≤ pivot ≤ b[i...hi], and anything strictly between j and i equals the pivot.
                if k <= j { hi = j } else if k >= i { lo = i } else { return pivot }
            }
            return b[k]
        }
    }
}

/// A buffer that parallel tasks write to at disjoint offsets.
private struct UnsafeSendableBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Float>
    init(_ buffer: UnsafeMutableBufferPointer<Float>) { self.buffer = buffer }
}
