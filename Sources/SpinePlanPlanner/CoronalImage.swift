import SpinePlanGeometry

/// One coronal localizer slice as the planner needs it: where it lies and its pixels, no DICOM.
public struct CoronalImage: Sendable {
    public var plane: ImagePlane
    /// Row-major, `plane.rows * plane.columns` values.
    public var pixels: [Float]

    public init(plane: ImagePlane, pixels: [Float]) {
        precondition(pixels.count == plane.rows * plane.columns, "pixel count does not match the plane")
        self.plane = plane
        self.pixels = pixels
    }
}
