import SpinePlanGeometry

/// The structures of a spine put in order and named by counting up from the sacrum, cross-checked with
/// the class names the segmentation gave them.
struct LevelAssignment: Sendable {
    /// A presacral vertebra or the sacrum, top to bottom, with the level it was given (nil when abstaining).
    struct Vertebra: Sendable {
        var structure: SpineStructure
        var level: String?
    }

    /// A disc with the vertebrae bounding it (indices into `vertebrae`) and its level.
    struct Disc: Sendable {
        var structure: SpineStructure
        var upper: Int?
        var lower: Int?
        var level: String?
    }

    var vertebrae: [Vertebra]
    var discs: [Disc]
    /// Unit vector along which the structures were ordered, pointing caudal.
    var caudal: Vector3
    /// Why the levels could not be named; nil when they were.
    var abstentionReason: String?
    var warnings: [String]
    var lumbarCount: Int?
    var transitionalAnatomy: Bool

    init(_ structures: [SpineStructure]) {
        warnings = []
        transitionalAnatomy = false
        lumbarCount = nil
        abstentionReason = nil
        let bones = structures.filter { $0.kind != .disc }
        let discStructures = structures.filter { $0.kind == .disc }

        let axis = Self.caudalAxis(through: structures.map(\.centroid))
        caudal = axis
        let position: (SpineStructure) -> Double = { $0.centroid.dot(axis) }
        var ordered = bones.sorted { position($0) < position($1) }
        var conflicts: [String] = []

        // The sacrum is the reference every level is counted from.
        let sacrumIndex = ordered.firstIndex { $0.kind == .sacrum }
        if let s = sacrumIndex, s != ordered.count - 1 {
            let below = ordered[(s + 1)...].map(\.className).joined(separator: ", ")
            conflicts.append("the sacrum lies above \(below)")
        }
        // Keep the sacrum last so that indices count up from it.
        if let s = sacrumIndex { ordered.append(ordered.remove(at: s)) }
        vertebrae = ordered.map { Vertebra(structure: $0, level: nil) }

        // Discs go between the two bones whose positions bracket them.
        discs = discStructures.sorted { position($0) < position($1) }.map { d in
            let p = position(d)
            let above = ordered.lastIndex { position($0) < p && $0.kind != .sacrum }
            let below = ordered.indices.first { position(ordered[$0]) > p }
            return Disc(structure: d, upper: above, lower: below, level: nil)
        }

        guard sacrumIndex != nil else {
            abstentionReason = "no sacrum in view: levels cannot be counted"
            if !bones.isEmpty || !discs.isEmpty {
                warnings.append("levels are the model's names only and were not verified against the sacrum")
            }
            return
        }
        let presacral = Array(vertebrae.indices.dropLast().reversed())   // bottom-up
        guard let lowest = presacral.first else {
            abstentionReason = "no vertebra above the sacrum in view"
            return
        }

        // Thoracic disagreements far above the planned discs are reported, not fatal: the count from the
        // sacrum is what names the lumbar levels.
        var remarks: [String] = []
        func note(_ message: String, level: String?) {
            if let level, !Self.matters(level) { remarks.append(message) } else { conflicts.append(message) }
        }

        // A vertebra missing from the segmentation breaks the count above it: look for a gap much wider
        // than the others, walking up from the sacrum.
        let positions = presacral.map { position(vertebrae[$0].structure) }   // bottom-up, decreasing
        let gaps = zip(positions, positions.dropFirst()).map { $0 - $1 }
        var countable = presacral.count
        if gaps.count >= 2 {
            let median = gaps.sorted()[gaps.count / 2]
            if let g = gaps.firstIndex(where: { $0 > 1.6 * median }) { countable = g + 1 }
        }

        // Count up from the sacrum; the model decides only whether the lowest mobile vertebra is L4, L5 or L6.
        let lowestName = vertebrae[lowest].structure.className
        let base: String
        if ["L4", "L5", "L6"].contains(lowestName) {
            base = lowestName
        } else {
            base = "L5"
            conflicts.append("the vertebra above the sacrum is labelled \(lowestName), expected L4, L5 or L6")
        }
        for (k, index) in presacral.enumerated() {
            guard k < countable else { break }
            guard let expected = VertebraName.name(base, above: k) else {
                conflicts.append("more vertebrae above the sacrum than the vocabulary names")
                break
            }
            vertebrae[index].level = expected
            if vertebrae[index].structure.className != expected {
                note("counting from the sacrum gives \(expected) where the model says \(vertebrae[index].structure.className)", level: expected)
            }
        }
        if countable < presacral.count {
            let below = vertebrae[presacral[countable - 1]]
            note("a vertebra seems to be missing above \(below.level ?? below.structure.className): levels above it are not counted",
                 level: below.level)
        }
        vertebrae[vertebrae.count - 1].level = "S1"

        // Discs: named after the vertebrae around them, and checked against the model's disc names.
        for i in discs.indices {
            let d = discs[i]
            var lowerName = d.lower.flatMap { vertebrae[$0].level }
            var upperName = d.upper.flatMap { vertebrae[$0].level }
            if d.upper == nil, let l = lowerName { upperName = l == "S1" ? base : VertebraName.name(l, above: 1) }
            if d.lower == nil, let u = upperName { lowerName = VertebraName.name(u, above: -1) }
            guard let u = upperName, let l = lowerName else {
                note("\(d.structure.className) cannot be placed between two counted vertebrae", level: d.structure.className)
                continue
            }
            let expected = "\(u)/\(l)"
            discs[i].level = expected
            if d.structure.className != expected {
                note("the disc the model calls \(d.structure.className) lies between \(u) and \(l)", level: expected)
            }
            if let a = d.upper, let b = d.lower {
                let pa = position(vertebrae[a].structure), pb = position(vertebrae[b].structure)
                let t = (position(d.structure) - pa) / max(pb - pa, 1e-6)
                if b != vertebrae.count - 1, !(0.2...0.8).contains(t), Self.matters(expected) {
                    // A disc far from midway means a vertebra split or merged in the segmentation: the one such
                    // named plan among the calibration sessions with model 1.4.0 was named wrongly (a warning only, it
                    // went out with its names).
                    conflicts.append("\(expected) is not midway between its vertebrae")
                }
            }
        }
        // Two discs between the same two vertebrae: the network split one disc between two names. From T12/L1 down
        // that puts the count in doubt; above it, the count from the sacrum has already named every planned level.
        for (a, b) in zip(discs, discs.dropFirst()) where a.upper != nil && a.upper == b.upper && a.lower == b.lower {
            note("\(a.structure.className) and \(b.structure.className) lie between the same two vertebrae",
                 level: a.level ?? a.structure.className)
        }
        if !remarks.isEmpty {
            warnings.append("thoracic levels not verified: " + remarks.joined(separator: "; "))
        }

        // Transitional anatomy: six or four lumbar vertebrae, or a rudimentary lumbosacral disc.
        lumbarCount = base == "L6" ? 6 : (base == "L4" ? 4 : 5)
        if base == "L6" {
            transitionalAnatomy = true
            warnings.append("transitional anatomy: six lumbar vertebrae (L6 present); levels are counted from the sacrum, confirm before scanning")
        } else if base == "L4" {
            transitionalAnatomy = true
            warnings.append("transitional anatomy: four lumbar vertebrae; levels are counted from the sacrum, confirm before scanning")
        }
        let lumbosacral = discs.first { $0.lower == vertebrae.count - 1 }
        let above = discs.first { $0.lower == lowest }
        // A rudimentary or missing lumbosacral disc is a transitional vertebra, or the sacrum's S1/S2 remnant under a
        // missed L5/S1: the flag asks the technologist to confirm either way. Withdrawing the names as well was tried
        // (Docs/planner.md, "Rudimentary lumbosacral disc"): with model 1.4.0 it cost right names and caught none wrong.
        if lumbosacral == nil {
            transitionalAnatomy = true
            warnings.append("transitional anatomy: no disc between \(base) and the sacrum (possible sacralised \(base))")
        } else if let ls = lumbosacral, let up = above {
            // A sacralised vertebra leaves a thin, small lumbosacral disc: compare it with the disc above.
            let t = Self.thickness(ls.structure), tu = Self.thickness(up.structure)
            if Double(ls.structure.count) < 0.45 * Double(up.structure.count) || t < 0.6 * tu {
                transitionalAnatomy = true
                let name = ls.level ?? ls.structure.className
                warnings.append("transitional anatomy: rudimentary \(name) disc, \(Int(t.rounded())) mm thick against \(Int(tu.rounded())) mm above (possible sacralised \(base))")
            }
        }

        if !conflicts.isEmpty {
            abstain(because: "conflicting level evidence: " + conflicts.joined(separator: "; "))
        }
    }

    /// The spine's caudal direction: the long axis of `centres`, pointing down (LPS −z); straight down for fewer
    /// than three centres or an axis that is not mostly cranio-caudal.
    static func caudalAxis(through centres: [Vector3]) -> Vector3 {
        guard centres.count >= 3 else { return Vector3(0, 0, -1) }
        var m = PointMoments()
        for c in centres { m.add(c) }
        let principal = m.principalAxes[2].axis
        guard abs(principal.z) > 0.5 else { return Vector3(0, 0, -1) }
        return principal.z > 0 ? -principal : principal
    }

    /// Withdraws every name, as a conflict inside the assignment would.
    mutating func abstain(because reason: String) {
        abstentionReason = reason
        for i in vertebrae.indices { vertebrae[i].level = nil }
        for i in discs.indices { discs[i].level = nil }
    }

    /// The structure with the lowest mean network probability among those the names rest on: the sacrum, the
    /// counted vertebrae from T12 down, and the discs of `planned` levels. Nil when nothing was named.
    func weakestEvidence(planned: [DiscLevel]) -> (name: String, probability: Double)? {
        guard abstentionReason == nil else { return nil }
        var candidates: [(String, Double)] = []
        for v in vertebrae {
            guard let level = v.level, level == "S1" || Self.matters(level) else { continue }
            candidates.append((level, v.structure.meanConfidence))
        }
        for d in discs where !d.structure.inferred {
            guard let level = d.level, let disc = DiscLevel(name: level), planned.contains(disc) else { continue }
            candidates.append((level, d.structure.meanConfidence))
        }
        return candidates.min { $0.1 < $1.1 }.map { (name: $0.0, probability: $0.1) }
    }

    /// Thickness of a disc (mm) from its pooled in-plane spread across the thin axis.
    static func thickness(_ disc: SpineStructure) -> Double {
        guard disc.points.count >= 3 else { return 0 }
        var m = PointMoments()
        for p in disc.points { m.add(p) }
        // The second-smallest axis survives a single slice (whose smallest axis is the empty lateral one).
        let axes = m.principalAxes
        let variance = disc.depths.count > 1 ? axes[0].variance : axes[1].variance
        return (12 * max(0, variance)).squareRoot()
    }

    /// True for levels whose naming matters to lumbar planning: T12 and below, and discs touching them.
    static func matters(_ level: String) -> Bool {
        let parts = level.split(separator: "/").map(String.init)
        return parts.allSatisfy { VertebraName.ordered.firstIndex(of: $0).map { $0 >= 4 } ?? true }
            || parts.last.map { VertebraName.ordered.firstIndex(of: $0).map { $0 >= 5 } ?? false } == true
    }
}
