import SpinePlanGeometry

/// Splits a segmentation into spinal structures: the largest 6-connected component of each class.
///
/// Smaller components of a class are dropped (a network's stray voxels), and so is a class whose largest
/// component is a speck.
struct StructureExtraction {
    /// Components smaller than this many voxels are specks.
    var minimumVoxels = 6

    func structures(in segmentation: Segmentation) -> (structures: [SpineStructure], notes: [String]) {
        let grid = segmentation.labels.grid
        let labels = segmentation.labels.voxels
        let names = segmentation.classNames
        let size = grid.size
        var kinds = [SpineStructure.Kind?](repeating: nil, count: 256)
        for (index, name) in names.enumerated() where index < 256 { kinds[index] = SpineStructure.kind(of: name) }

        var visited = [Bool](repeating: false, count: labels.count)
        var best: [UInt8: [Int]] = [:]
        var totals: [UInt8: Int] = [:]
        var queue: [Int] = []
        for start in labels.indices where !visited[start] {
            let label = labels[start]
            guard kinds[Int(label)] != nil else { continue }
            queue.removeAll(keepingCapacity: true)
            queue.append(start)
            visited[start] = true
            var head = 0
            while head < queue.count {
                let v = queue[head]
                head += 1
                let i = v % size.x, j = (v / size.x) % size.y, k = v / (size.x * size.y)
                for (di, dj, dk) in [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)] {
                    let a = i + di, b = j + dj, c = k + dk
                    guard a >= 0, b >= 0, c >= 0, a < size.x, b < size.y, c < size.z else { continue }
                    let u = grid.linearIndex(a, b, c)
                    if !visited[u] && labels[u] == label {
                        visited[u] = true
                        queue.append(u)
                    }
                }
            }
            totals[label, default: 0] += queue.count
            if queue.count > best[label]?.count ?? 0 { best[label] = queue }
        }

        var structures: [SpineStructure] = []
        var notes: [String] = []
        for (label, voxels) in best.sorted(by: { $0.key < $1.key }) {
            let name = names[Int(label)]
            guard voxels.count >= minimumVoxels, let kind = kinds[Int(label)] else {
                notes.append("\(name): only a speck of \(voxels.count) voxels, ignored")
                continue
            }
            var moments = PointMoments()
            var confidence = 0.0
            var depths = Set<Int>()
            var points: [Vector3] = []
            points.reserveCapacity(voxels.count)
            for v in voxels.sorted() {
                let i = v % size.x, j = (v / size.x) % size.y, k = v / (size.x * size.y)
                let p = grid.point(atIndex: Vector3(Double(i), Double(j), Double(k)))
                points.append(p)
                moments.add(p)
                depths.insert(k)
                confidence += Double(segmentation.confidence?[v] ?? 1)
            }
            let total = totals[label] ?? voxels.count
            structures.append(SpineStructure(
                className: name, kind: kind, voxels: voxels.sorted(), points: points, centroid: moments.mean,
                meanConfidence: confidence / Double(voxels.count), depths: depths,
                discardedFraction: Double(total - voxels.count) / Double(total)))
        }
        return (structures, notes)
    }
}
