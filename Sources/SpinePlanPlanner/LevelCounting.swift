import SpinePlanGeometry

/// Names the segmented discs and vertebrae by counting them up from the sacrum, instead of trusting each voxel's
/// level class.
///
/// On real T2 the network finds discs well but spreads a disc's voxels over neighbouring level classes, so one disc
/// became two structures, or two discs shared a name and one was dropped. Like TotalSpineSeg and SpineNet
/// (Docs/planner.md, "Counting from the sacrum"), this step takes the network's job to be detection: every disc is a
/// connected component of *any* disc class, ordered along the spine; the lowest one that sits on the sacrum is the
/// lumbosacral disc, and the rest are counted up from it. The level classes only vote on one question: whether the
/// lumbosacral disc is L5/S1, L6/S1 or L4/S1. The output is the same segmentation relabelled with counted names, so
/// extraction, assignment and plane fitting downstream see one consistent name per physical structure.
struct LevelCounting {
    /// The relabelled segmentation, why the names cannot be trusted (nil when they can), and notes for the log.
    struct Result {
        var segmentation: Segmentation
        var abstentionReason: String?
        var notes: [String]
        /// Discs found, bottom-up, after merging split components and dropping specks.
        var discCount: Int
        var anchored: Bool
    }

    /// A disc component smaller than this share of the median disc is a speck.
    static let speckShare = 0.05
    /// Two components closer than this share of the disc spacing are one disc split in two.
    static let splitShare = 0.4
    /// A spacing wider than this many times the median means a disc was not found.
    static let gapRatio = 1.65
    /// A spacing narrower than this many times the median means something that is not a disc was counted.
    static let crowdRatio = 0.6
    /// Lumbar disc spacing (mm) used until enough discs are seen to measure it (median of the real references).
    static let nominalSpacing = 36.6
    /// Measured disc spacings outside this share of the nominal one are taken as the nearer bound: adult lumbar
    /// spacing is 33-39 mm (p10-p90 of the real references), and SPIDER's estimated pixel sizes are good to ±10 %.
    static let spacingRange = 0.7...1.4
    /// The lumbosacral disc must sit within this share of the spacing of the sacrum's top.
    static let sacrumReach = 0.6
    /// Share of the lumbosacral votes for a transitional name above which the count is ambiguous.
    static let transitionalDoubt = 0.25

    private struct Component {
        var voxels: [Int]
        var centroid: Vector3
        var votes: [UInt8: Int]
    }

    static func count(_ segmentation: Segmentation) -> Result {
        let grid = segmentation.labels.grid
        let labels = segmentation.labels.voxels
        let names = segmentation.classNames
        var kinds = [SpineStructure.Kind?](repeating: nil, count: 256)
        var index: [String: UInt8] = [:]
        for (i, name) in names.enumerated() where i < 256 {
            kinds[i] = SpineStructure.kind(of: name)
            index[name] = UInt8(i)
        }
        let unchanged = Result(segmentation: segmentation, abstentionReason: nil, notes: [], discCount: 0, anchored: false)

        var discs = components(of: .disc, labels: labels, kinds: kinds, grid: grid)
        guard discs.count >= 2 else { return unchanged }
        var notes: [String] = []
        let sizes = discs.map { Double($0.voxels.count) }.sorted()
        let medianSize = sizes[sizes.count / 2]
        let specks = discs.filter { Double($0.voxels.count) < max(6, speckShare * medianSize) }
        discs.removeAll { Double($0.voxels.count) < max(6, speckShare * medianSize) }
        if !specks.isEmpty { notes.append("\(specks.count) small disc-like fragment(s) ignored") }
        guard discs.count >= 2 else { return unchanged }

        let caudal = LevelAssignment.caudalAxis(through: discs.map(\.centroid))
        let position: (Vector3) -> Double = { $0.dot(caudal) }
        discs.sort { position($0.centroid) > position($1.centroid) }   // bottom-up

        // One disc cut in two (a dark nucleus, a partial-volume gap) comes back as two close components: merge them.
        let spacing = medianGap(discs.map(\.centroid)) ?? nominalSpacing
        var merged: [Component] = []
        for d in discs {
            if let last = merged.last, (d.centroid - last.centroid).length < splitShare * spacing {
                merged[merged.count - 1] = union(last, d, grid: grid)
            } else {
                merged.append(d)
            }
        }
        if merged.count < discs.count { notes.append("\(discs.count - merged.count) disc(s) found in two pieces and joined") }
        discs = merged
        // The spacing the gaps are judged by is measured, but held to what a lumbar spine can have: with two or
        // three discs found, a measured "median" of 176 mm (two discs with three missing between them) made every
        // gap look regular, and a water-fat localizer was named with L3/L4 55 mm from its true place.
        let measured = medianGap(discs.map(\.centroid)) ?? nominalSpacing
        let gapSpacing = min(max(measured, spacingRange.lowerBound * nominalSpacing), spacingRange.upperBound * nominalSpacing)

        // The sacrum: the largest sacrum component, whose cranial part the lumbosacral disc rests on.
        let sacrum = components(of: .sacrum, labels: labels, kinds: kinds, grid: grid).max { $0.voxels.count < $1.voxels.count }
        var anchored = false
        var lumbosacralMissing = false
        var reason: String?
        if let sacrum, sacrum.voxels.count >= 12 {
            let points = sacrum.voxels.map { point(grid, $0) }
            let top = points.map(position).sorted()[points.count / 10]
            // Disc-like components inside the sacrum (rudimentary sacral discs) are not counted.
            let sacral = discs.filter { position($0.centroid) > top + 5 }
            discs.removeAll { position($0.centroid) > top + 5 }
            if !sacral.isEmpty { notes.append("\(sacral.count) disc-like structure(s) within the sacrum ignored") }
            if let lowest = discs.first {
                let reach = points.map { ($0 - lowest.centroid).length }.min() ?? .infinity
                if reach <= sacrumReach * gapSpacing {
                    anchored = true
                } else if reach <= (sacrumReach + 1) * gapSpacing {
                    // One vertebra's height above the sacrum: the lumbosacral disc itself was not found.
                    anchored = true
                    lumbosacralMissing = true
                    notes.append("the lumbosacral disc was not found; counted from the sacrum across it")
                } else {
                    reason = "the lowest disc found does not rest on the sacrum, so levels cannot be counted"
                }
            } else {
                reason = "no disc above the sacrum"
            }
        } else {
            reason = "the sacrum is not in view, so levels cannot be counted from it"
        }
        guard !discs.isEmpty else { return unchanged }

        // The level classes vote on the one thing counting cannot see: how many lumbar vertebrae there are.
        var base = "L5"
        if anchored, !lumbosacralMissing, let lumbosacral = discs.first {
            let total = Double(lumbosacral.votes.values.reduce(0, +))
            let share: (String) -> Double = { name in
                guard let i = index[name] else { return 0 }
                return Double(lumbosacral.votes[i] ?? 0) / max(total, 1)
            }
            let six = share("L6/S1"), four = share("L4/S1")
            if six >= 0.5 {
                base = "L6"
            } else if four >= 0.5 {
                base = "L4"
            } else if max(six, four) >= transitionalDoubt {
                reason = "the lumbosacral junction may be transitional (a sixth or fourth lumbar vertebra), so levels are not named"
            }
        }

        // Slots count discs up from the lumbosacral one (slot 0). A spacing about twice the others is a disc the
        // network did not find: the count steps over it, and disc-space inference rebuilds it between its vertebrae.
        // Anything wider, or a spacing too narrow for a vertebra, would put every name above it in doubt.
        var slots = [lumbosacralMissing ? 1 : 0]
        for i in 1..<discs.count {
            let gap = (discs[i].centroid - discs[i - 1].centroid).length
            var step = 1
            if gap > gapRatio * gapSpacing {
                if gap <= 2.4 * gapSpacing {
                    step = 2
                    notes.append("a disc was not found above the \(ordinal(i)) disc from the sacrum; counted across it")
                } else if reason == nil, slots[i - 1] < 6 {
                    reason = "a disc seems to be missing above the \(ordinal(i)) disc from the sacrum, so levels are not named"
                }
            } else if gap < crowdRatio * gapSpacing, reason == nil, slots[i - 1] < 6 {
                reason = "the discs above the \(ordinal(i)) from the sacrum are irregularly spaced, so levels are not named"
            }
            slots.append(slots[i - 1] + step)
        }

        func vertebra(_ slot: Int) -> String? { slot < 0 ? "S1" : VertebraName.name(base, above: slot) }
        func discName(_ slot: Int) -> String? {
            guard let u = vertebra(slot), let l = vertebra(slot - 1) else { return nil }
            return "\(u)/\(l)"
        }
        if reason == nil, anchored,
           contradicted(discs: discs, slots: slots, name: { discName($0).flatMap { index[$0] } }) {
            reason = "the levels counted from the sacrum do not match how the discs look, so levels are not named"
        }

        // Without an anchor the names are provisional (counted from the lowest disc found), so that each physical disc
        // keeps its own structure; the reason withdraws them downstream.

        var out = labels
        // Bone voxels: between which two discs they lie, judged by each disc's local plane (the spine is curved).
        let tangents: [Vector3] = discs.indices.map { i in
            let below = i > 0 ? discs[i - 1].centroid : nil
            let above = i + 1 < discs.count ? discs[i + 1].centroid : nil
            if let b = below, let a = above { return (b - a).normalized }
            if let b = below { return (b - discs[i].centroid).normalized }
            if let a = above { return (discs[i].centroid - a).normalized }
            return caudal
        }
        let reach = 1.2 * gapSpacing
        for v in labels.indices {
            guard let kind = kinds[Int(labels[v])], kind != .disc else { continue }
            if kind == .sacrum && anchored { continue }
            let p = point(grid, v)
            var below = 0   // discs caudal of this voxel
            for (i, d) in discs.enumerated() where (p - d.centroid).dot(tangents[i]) < 0 { below += 1 }
            var name: String?
            if below == 0 {
                // Caudal of the lowest disc: the sacrum (or L5 above a missing lumbosacral disc) when anchored.
                name = anchored ? vertebra(slots[0] - 1) : nil
            } else if below == discs.count {
                if let top = discs.last, (p - top.centroid).length <= reach { name = vertebra(slots[below - 1]) }
            } else {
                let a = slots[below - 1], b = slots[below]
                var slot = a
                if b > a + 1 {
                    // Two vertebrae share the interval of a missing disc: split it at its middle.
                    let lowerC = discs[below - 1].centroid, upperC = discs[below].centroid
                    let t = (p - lowerC).dot(upperC - lowerC) / max((upperC - lowerC).length * (upperC - lowerC).length, 1e-9)
                    slot = a + min(b - a - 1, max(0, Int(t * Double(b - a))))
                }
                name = vertebra(slot)
            }
            out[v] = name.flatMap { index[$0] } ?? 0
        }
        let discNames = slots.map(discName)
        let dropped = Set(specks.flatMap(\.voxels))
        for v in dropped { out[v] = 0 }
        for (d, name) in zip(discs, discNames) {
            let value = name.flatMap { index[$0] } ?? 0
            for v in d.voxels { out[v] = value }
        }
        // Disc voxels that no longer belong to a counted disc (inside the sacrum) are not discs of any level.
        let counted = Set(discs.flatMap(\.voxels))
        for v in labels.indices where kinds[Int(labels[v])] == .disc && !counted.contains(v) { out[v] = 0 }

        var relabelled = segmentation
        relabelled.labels.voxels = out
        return Result(segmentation: relabelled, abstentionReason: reason, notes: notes, discCount: discs.count,
                      anchored: anchored)
    }

    /// Whether the network's own reading of the discs contradicts the count: the lowest two discs, on which the
    /// count rests, must each be read as their counted level, and no two discs up to T11/T12 may be read as the
    /// same neighbouring level. On real T2 whose sacrum was cut short, the network took L5 for the sacrum and the
    /// count came out one level low; the discs above still looked like their true levels (Docs/planner.md,
    /// "Checking the count").
    private static func contradicted(discs: [Component], slots: [Int], name: (Int) -> UInt8?) -> Bool {
        var above = 0, below = 0
        for (disc, slot) in zip(discs, slots) where slot <= 6 {
            guard let counted = name(slot) else { continue }
            let agree = disc.votes[counted] ?? 0
            if slot <= 1, let top = disc.votes.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }),
               top.key != counted, top.value > agree {
                return true
            }
            if let up = name(slot + 1), (disc.votes[up] ?? 0) > agree { above += 1 }
            if slot >= 1, let down = name(slot - 1), (disc.votes[down] ?? 0) > agree { below += 1 }
        }
        return max(above, below) >= 2
    }

    private static func point(_ grid: VoxelGrid, _ v: Int) -> Vector3 {
        let i = v % grid.size.x, j = (v / grid.size.x) % grid.size.y, k = v / (grid.size.x * grid.size.y)
        return grid.point(atIndex: Vector3(Double(i), Double(j), Double(k)))
    }

    private static func medianGap(_ centres: [Vector3]) -> Double? {
        // Gaps under 10 mm are split discs, not spacing.
        let gaps = zip(centres, centres.dropFirst()).map { ($0 - $1).length }.filter { $0 >= 10 }.sorted()
        return gaps.isEmpty ? nil : gaps[gaps.count / 2]
    }

    private static func union(_ a: Component, _ b: Component, grid: VoxelGrid) -> Component {
        let n = Double(a.voxels.count + b.voxels.count)
        let centroid = (a.centroid * Double(a.voxels.count) + b.centroid * Double(b.voxels.count)) / n
        return Component(voxels: a.voxels + b.voxels, centroid: centroid,
                         votes: a.votes.merging(b.votes, uniquingKeysWith: +))
    }

    private static func ordinal(_ n: Int) -> String {
        ["first", "second", "third", "fourth", "fifth", "sixth"][min(n, 6) - 1]
    }

    /// 6-connected components of every voxel whose class is of `kind`, whatever its level.
    private static func components(of kind: SpineStructure.Kind, labels: [UInt8], kinds: [SpineStructure.Kind?],
                                   grid: VoxelGrid) -> [Component] {
        let size = grid.size
        var visited = [Bool](repeating: false, count: labels.count)
        var result: [Component] = []
        var queue: [Int] = []
        for start in labels.indices where !visited[start] && kinds[Int(labels[start])] == kind {
            queue.removeAll(keepingCapacity: true)
            queue.append(start)
            visited[start] = true
            var head = 0
            var votes: [UInt8: Int] = [:]
            var moments = PointMoments()
            while head < queue.count {
                let v = queue[head]
                head += 1
                votes[labels[v], default: 0] += 1
                let i = v % size.x, j = (v / size.x) % size.y, k = v / (size.x * size.y)
                moments.add(grid.point(atIndex: Vector3(Double(i), Double(j), Double(k))))
                for (di, dj, dk) in [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)] {
                    let a = i + di, b = j + dj, c = k + dk
                    guard a >= 0, b >= 0, c >= 0, a < size.x, b < size.y, c < size.z else { continue }
                    let u = grid.linearIndex(a, b, c)
                    if !visited[u] && kinds[Int(labels[u])] == kind {
                        visited[u] = true
                        queue.append(u)
                    }
                }
            }
            result.append(Component(voxels: queue, centroid: moments.mean, votes: votes))
        }
        return result
    }
}
