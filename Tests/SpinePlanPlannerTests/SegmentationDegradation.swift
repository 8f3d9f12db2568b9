import SpinePlanGeometry

/// Network-like damage to truth labels, for calibrating the planner's confidence: boundary voxels swap labels
/// with a neighbour, a disc may bleed into a vertebra over part of its width, and the per-voxel probability drops
/// where the labels are uncertain, as a softmax would.
struct SegmentationDegradation {
    /// Probability that a boundary voxel takes its neighbour's label.
    var boundarySwap: Double
    /// Probability, per disc, that it bleeds one voxel into the vertebra above over half its columns.
    var bleed: Double
    var seed: UInt64

    func apply(_ segmentation: Segmentation) -> Segmentation {
        var rng = SplitMixRandom(seed: seed)
        let grid = segmentation.labels.grid
        let size = grid.size
        let source = segmentation.labels.voxels
        var labels = source
        var confidence = [Float](repeating: 0.98, count: source.count)
        let isDisc = segmentation.classNames.map { $0.contains("/") }
        for k in 0..<size.z {
            for j in 0..<size.y {
                for i in 0..<size.x {
                    let v = grid.linearIndex(i, j, k)
                    for (di, dj) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                        let a = i + di, b = j + dj
                        guard a >= 0, b >= 0, a < size.x, b < size.y else { continue }
                        let u = grid.linearIndex(a, b, k)
                        guard source[u] != source[v] else { continue }
                        confidence[v] = min(confidence[v], Float(0.9 - 0.6 * boundarySwap * rng.unit()))
                        if rng.unit() < boundarySwap / 4 {
                            labels[v] = source[u]
                            confidence[v] = Float(0.4 + 0.2 * rng.unit())
                        }
                    }
                }
            }
        }
        // Bleeding: on a random side of the disc, the voxel above a disc column becomes disc.
        var bleeding: [UInt8: (Bool, Int)] = [:]
        for (label, disc) in isDisc.enumerated() where disc && label < 256 {
            if rng.unit() < bleed { bleeding[UInt8(label)] = (rng.unit() < 0.5, Int(rng.unit() * 64)) }
        }
        if !bleeding.isEmpty {
            for k in 0..<size.z {
                for j in 1..<size.y {
                    for i in 0..<size.x {
                        let v = grid.linearIndex(i, j, k), up = grid.linearIndex(i, j - 1, k)
                        guard let (side, pivot) = bleeding[source[v]], source[up] != source[v] else { continue }
                        if (i >= 64 + pivot / 4) == side {
                            labels[up] = source[v]
                            confidence[up] = Float(0.55 + 0.2 * rng.unit())
                        }
                    }
                }
            }
        }
        return Segmentation(labels: Volume(grid: grid, voxels: labels), classNames: segmentation.classNames, confidence: confidence)
    }
}

/// A small seeded generator, so degraded cases are reproducible.
struct SplitMixRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E3779B97F4A7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
