/// A label volume with named classes: the network's output, or truth labels, on the model grid.
///
/// Class names are level names (`L4`, `S1` for the sacrum, `L4/L5` for a disc) or `background`; see
/// `Docs/model-contract.md`. The planner reads names, never class indices.
public struct Segmentation: Sendable {
    public var labels: Volume<UInt8>
    /// Name of each class index.
    public var classNames: [String]
    /// Per-voxel probability of the chosen class, when a network produced the labels; nil for truth.
    public var confidence: [Float]?

    public init(labels: Volume<UInt8>, classNames: [String], confidence: [Float]? = nil) {
        precondition(confidence == nil || confidence!.count == labels.voxels.count)
        self.labels = labels
        self.classNames = classNames
        self.confidence = confidence
    }
}
