import SpinePlanGeometry

/// Reconstructs a disc the segmentation left out from the space between its two vertebrae.
///
/// When both vertebrae of a disc are labelled but the disc class is absent (a network that missed it, or
/// labels of vertebral bodies only), the voxels between the caudal surface of the upper body and the cranial
/// surface of the lower one are the disc space: planning then proceeds as for a labelled disc, with a warning.
enum DiscSpaceInference {
    /// Farthest the gap may reach, in voxels along the scan axis.
    static let maximumSteps = 10

    static func infer(_ structures: [SpineStructure], segmentation: Segmentation) -> (structures: [SpineStructure], notes: [String]) {
        let grid = segmentation.labels.grid

        let names = Set(structures.map(\.className))
        var out = structures
        var notes: [String] = []
        let bones = structures.filter { $0.kind == .vertebra || $0.kind == .sacrum }
        for upper in bones where upper.kind == .vertebra {
            guard let rank = VertebraName.ordered.firstIndex(of: upper.className) else { continue }
            // The next vertebra down that is present: the direct neighbour, or the sacrum for the lowest lumbar.
            let candidates = VertebraName.ordered[(rank + 1)...].prefix(2)
            guard let lower = candidates.lazy.compactMap({ name in bones.first { $0.className == name } }).first else { continue }
            if lower.className != VertebraName.ordered[rank + 1] && lower.kind != .sacrum { continue }
            if lower.kind == .sacrum && !["L4", "L5", "L6"].contains(upper.className) { continue }
            let discName = "\(upper.className)/\(lower.className)"
            // Only where planning needs it: thoracic discs at the edge of the field are often cut to specks.
            guard !names.contains(discName), LevelAssignment.matters(discName) else { continue }
            // Toward the near part of the lower structure: the sacrum's centroid lies far behind and below S1's top.
            let near = lower.points.sorted { ($0 - upper.centroid).length < ($1 - upper.centroid).length }
                .prefix(max(1, lower.points.count * 3 / 10))
            let nearCentre = near.reduce(Vector3.zero, +) / Double(near.count)
            let axis = (nearCentre - upper.centroid).normalized
            // Any labelled disc already between the two (under another name) rules the inference out.
            let between = structures.contains { s in
                guard s.kind == .disc else { return false }
                let t = (s.centroid - upper.centroid).dot(axis) / max((lower.centroid - upper.centroid).length, 1e-6)
                return (0.1...0.9).contains(t)
            }
            guard !between else { continue }
            // Step from the upper body toward the lower one along the in-plane grid axis closest to the spine.
            let ci = grid.axes.c0.normalized.dot(axis), cj = grid.axes.c1.normalized.dot(axis)
            let step: SIMD2<Int> = abs(cj) >= abs(ci) ? SIMD2(0, cj >= 0 ? 1 : -1) : SIMD2(ci >= 0 ? 1 : -1, 0)
            let upperSet = Set(upper.voxels), lowerSet = Set(lower.voxels)
            var gap = Set<Int>()
            for v in upper.voxels {
                let i = v % grid.size.x, j = (v / grid.size.x) % grid.size.y, k = v / (grid.size.x * grid.size.y)
                var path: [Int] = []
                var a = i + step.x, b = j + step.y
                var reached = false
                for _ in 0..<maximumSteps {
                    guard a >= 0, b >= 0, a < grid.size.x, b < grid.size.y else { break }
                    let u = grid.linearIndex(a, b, k)
                    if upperSet.contains(u) { path.removeAll(); break }
                    if lowerSet.contains(u) { reached = true; break }
                    path.append(u)
                    a += step.x
                    b += step.y
                }
                if reached { gap.formUnion(path) }
            }

            // Labels of whole vertebrae include the arch: keep the gap in front of it, between the bodies. The body
            // is the anterior ~40 % of a lumbar vertebra's front-to-back extent (over 55 mm with the arch).
            var anterior = Vector3(0, -1, 0) - axis * (-axis.y)
            anterior = anterior.length > 0.1 ? anterior.normalized : Vector3(0, -1, 0)
            let depth = upper.points.map { $0.dot(anterior) }
            let front = depth.max() ?? 0, back = depth.min() ?? 0
            // Body-only labels (real references) are ~35 mm deep and need no cut.
            let cut = front - back > 55 ? front - 0.45 * (front - back) : -Double.infinity
            gap = gap.filter { v in
                let i = v % grid.size.x, j = (v / grid.size.x) % grid.size.y, k = v / (grid.size.x * grid.size.y)
                return grid.point(atIndex: Vector3(Double(i), Double(j), Double(k))).dot(anterior) >= cut
            }
            guard gap.count >= 6 else { continue }
            let voxels = gap.sorted()
            var moments = PointMoments()
            var depths = Set<Int>()
            let points = voxels.map { v -> Vector3 in
                let i = v % grid.size.x, j = (v / grid.size.x) % grid.size.y, k = v / (grid.size.x * grid.size.y)
                depths.insert(k)
                let p = grid.point(atIndex: Vector3(Double(i), Double(j), Double(k)))
                moments.add(p)
                return p
            }
            var disc = SpineStructure(className: discName, kind: .disc, voxels: voxels, points: points, centroid: moments.mean,
                                      meanConfidence: 0.8 * min(upper.meanConfidence, lower.meanConfidence), depths: depths,
                                      discardedFraction: 0)
            disc.inferred = true
            out.append(disc)
            notes.append("\(discName) is not labelled: planned on the space between \(upper.className) and \(lower.className)")
        }
        return (out, notes)
    }
}
