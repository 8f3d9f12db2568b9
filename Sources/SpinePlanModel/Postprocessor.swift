import SpinePlanGeometry

/// Turns softmax probabilities into a labelled `Segmentation`: argmax class and its probability per voxel.
public struct Postprocessor: Sendable {
    public var classNames: [String]

    public init(classNames: [String]) {
        self.classNames = classNames
    }

    /// `probabilities` is `[classes, D, H, W]` in C order, on `grid`.
    public func segmentation(probabilities: [Float], grid: VoxelGrid) -> Segmentation {
        let count = grid.voxelCount
        precondition(probabilities.count == classNames.count * count)
        var best = [Float](repeating: -1, count: count)
        var labels = [UInt8](repeating: 0, count: count)
        // Class-major sweep: each pass streams one contiguous class plane.
        probabilities.withUnsafeBufferPointer { p in
            for c in 0..<classNames.count {
                let plane = p.baseAddress! + c * count
                let label = UInt8(c)
                for v in 0..<count where plane[v] > best[v] {
                    best[v] = plane[v]
                    labels[v] = label
                }
            }
        }
        return Segmentation(labels: Volume(grid: grid, voxels: labels), classNames: classNames, confidence: best)
    }
}
