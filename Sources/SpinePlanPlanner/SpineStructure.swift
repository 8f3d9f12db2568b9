import SpinePlanGeometry

/// One labelled structure found in a segmentation: a vertebral body, the sacrum or a disc.
struct SpineStructure: Sendable {
    enum Kind: Sendable, Equatable { case vertebra, sacrum, disc }

    /// The class name the segmentation gave it (`L4`, `S1`, `L4/L5`).
    var className: String
    var kind: Kind
    /// Linear voxel indices on the segmentation grid.
    var voxels: [Int]
    /// LPS positions of the voxel centres, in the order of `voxels`.
    var points: [Vector3]
    var centroid: Vector3
    /// Mean per-voxel probability (1 for truth labels).
    var meanConfidence: Double
    /// Distinct depth indices (sagittal slices) the structure touches.
    var depths: Set<Int>
    /// Voxels of the class outside the kept component, relative to the kept ones: fragmentation.
    var discardedFraction: Double
    /// True for a disc reconstructed from the space between two vertebrae because its class was missing.
    var inferred = false

    var count: Int { voxels.count }

    /// For a disc name `A/B`, the two vertebra names.
    var discNeighbours: (upper: String, lower: String)? {
        guard kind == .disc else { return nil }
        let parts = className.split(separator: "/").map(String.init)
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }

    /// The kind of a vocabulary class name; nil for `background`, `canal` and unknown names.
    static func kind(of name: String) -> Kind? {
        if name == "S1" { return .sacrum }
        if VertebraName.rank(of: name) != nil { return .vertebra }
        let parts = name.split(separator: "/").map(String.init)
        if parts.count == 2, VertebraName.rank(of: parts[0]) != nil, VertebraName.rank(of: parts[1]) != nil || parts[1] == "S1" {
            return .disc
        }
        return nil
    }
}

/// Ordering of the vertebra names of the vocabulary: T8 … T12, L1 … L6, S1.
enum VertebraName {
    static let ordered = ["T8", "T9", "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "L6", "S1"]

    /// Position from the top (T8 = 0); nil for names outside the vocabulary. S1 is not a presacral rank.
    static func rank(of name: String) -> Int? {
        guard name != "S1", let i = ordered.firstIndex(of: name) else { return nil }
        return i
    }

    /// The name `steps` above `name` (steps > 0 goes cranial); nil when it leaves the vocabulary.
    static func name(_ name: String, above steps: Int) -> String? {
        guard let i = ordered.firstIndex(of: name) else { return nil }
        let j = i - steps
        return ordered.indices.contains(j) && j < ordered.count - 1 ? ordered[j] : nil
    }

    static func isLumbar(_ name: String) -> Bool { name.hasPrefix("L") }
}
