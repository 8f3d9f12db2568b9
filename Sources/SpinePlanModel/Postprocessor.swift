import SpinePlanGeometry

/// Turns softmax probabilities into a labelled `Segmentation`: argmax class and its probability per voxel.
public struct Postprocessor: Sendable {
    public var classNames: [String]

    public init(classNames: [String]) {
        self.classNames = classNames
    }

    /// `probabilities` is channels-last, `[D, H, W, classes]` in C order, on `grid`.
    public func segmentation(probabilities: [Float], grid: VoxelGrid) -> Segmentation {
        let count = grid.voxelCount, classes = classNames.count
        precondition(probabilities.count == classes * count)
        var best = [Float](repeating: 0, count: count)
        var labels = [UInt8](repeating: 0, count: count)
        // Each voxel's class scores are contiguous: one streaming pass.
        probabilities.withUnsafeBufferPointer { p in
            for v in 0..<count {
                let scores = p.baseAddress! + v * classes
                var label = 0, top = scores[0]
                for c in 1..<classes where scores[c] > top {
                    top = scores[c]
                    label = c
                }
                best[v] = top
                labels[v] = UInt8(label)
            }
        }
        return Segmentation(labels: Volume(grid: grid, voxels: labels), classNames: classNames, confidence: best)
    }
}
