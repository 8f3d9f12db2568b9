import SpinePlanGeometry

/// What one localizer run produced, with its stage timings.
public struct LocalizerResult: Sendable {
    /// Wall time of each stage in milliseconds.
    public struct Timings: Sendable, Equatable {
        public var preprocessMilliseconds: Double
        public var inferenceMilliseconds: Double
        public var postprocessMilliseconds: Double
    }

    public var segmentation: Segmentation
    /// The model grid the segmentation lives on (LPS millimetres).
    public var grid: VoxelGrid
    public var timings: Timings
}
