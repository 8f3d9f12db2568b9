import SpinePlanGeometry

/// Turns softmax probabilities into a labelled `Segmentation`: argmax class per voxel, and the probability of its
/// kind of structure (any disc, any vertebra, the sacrum, the canal or background).
///
/// The kind's probability, not the level class's, is the confidence: on real T2 the network is sure a voxel is disc
/// but spreads it over neighbouring level names, and the planner names levels by counting, not by those classes.
public struct Postprocessor: Sendable {
    public var classNames: [String]

    /// Kind of each class: 0 background, 1 vertebra, 2 sacrum, 3 disc, 4 anything else (the canal).
    let kinds: [Int]

    public init(classNames: [String]) {
        self.classNames = classNames
        kinds = classNames.map { name in
            if name == "background" { return 0 }
            if name == "S1" { return 2 }
            if name.contains("/") { return 3 }
            if name.first == "T" || name.first == "L" { return 1 }
            return 4
        }
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
                let kind = kinds[label]
                var sum: Float = 0
                for c in 0..<classes where kinds[c] == kind { sum += scores[c] }
                best[v] = min(1, sum)
                labels[v] = UInt8(label)
            }
        }
        return Segmentation(labels: Volume(grid: grid, voxels: labels), classNames: classNames, confidence: best)
    }
}
