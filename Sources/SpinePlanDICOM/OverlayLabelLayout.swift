/// Places the level labels in one column beside the stacks, each as near to its disc's height as the others allow.
///
/// Discs 5 mm apart are closer than a label is tall, so labels cannot sit at their discs; leader lines join them.
/// This is the one-dimensional cluster method: labels keep the discs' order (so leader lines never cross), touching
/// labels merge into a cluster centred on its members' wanted positions, and a cluster is pushed back inside the band.
public struct OverlayLabelLayout: Sendable {
    /// The band the labels must stay within (between the header and the legend), in canvas rows.
    public var top: Int
    public var bottom: Int
    /// Rows kept free between neighbouring labels.
    public var gap: Int

    public init(top: Int, bottom: Int, gap: Int) {
        self.top = top
        self.bottom = bottom
        self.gap = gap
    }

    /// The top row of each label, in the order of `wanted` (each label's wanted centre row); nil for labels that do
    /// not fit in the band at all (more labels than rows), which are then left out rather than drawn over another.
    public func place(wanted: [Double], height: Int) -> [Int?] {
        let pitch = height + gap
        let capacity = max(0, (bottom - top + gap) / pitch)
        // With more labels than rows the lowest ones are left out; in practice 7 labels need under a third of the band.
        let order = wanted.indices.sorted { wanted[$0] < wanted[$1] }
        let kept = Array(order.prefix(capacity))
        guard !kept.isEmpty else { return wanted.map { _ in nil } }

        // Clusters of consecutive labels stacked at `pitch`; `start` is the first label's top row.
        struct Cluster { var first: Int; var count: Int; var start: Double }
        let lowest = Double(top), highest = Double(bottom - kept.count * pitch + gap)
        var clusters: [Cluster] = []
        for (i, index) in kept.enumerated() {
            clusters.append(Cluster(first: i, count: 1, start: wanted[index] - Double(height) / 2))
            // Merge backwards while the new cluster runs into the one above it.
            while clusters.count > 1 {
                let b = clusters[clusters.count - 1], a = clusters[clusters.count - 2]
                guard a.start + Double(a.count * pitch) > b.start else { break }
                let count = a.count + b.count
                // The least-squares position of the merged run: the mean of each member's wanted top minus its offset.
                var sum = 0.0
                for k in 0..<count { sum += wanted[kept[a.first + k]] - Double(height) / 2 - Double(k * pitch) }
                clusters.removeLast(2)
                clusters.append(Cluster(first: a.first, count: count, start: sum / Double(count)))
            }
        }
        // Into the band, top to bottom: each cluster starts below the one above and leaves room for those below.
        var tops = [Int](repeating: 0, count: kept.count)
        var floor = lowest
        for cluster in clusters {
            // The lowest start that still leaves room below for the labels after this cluster.
            let ceiling = highest + Double(cluster.first * pitch)
            let start = min(max(cluster.start, floor), ceiling)
            for k in 0..<cluster.count { tops[cluster.first + k] = Int(start.rounded()) + k * pitch }
            floor = Double(tops[cluster.first + cluster.count - 1] + pitch)
        }
        var out = [Int?](repeating: nil, count: wanted.count)
        for (i, index) in kept.enumerated() { out[index] = tops[i] }
        return out
    }
}
