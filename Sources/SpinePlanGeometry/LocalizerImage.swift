import Foundation

/// One localizer slice as the model and the planner need it: where it lies and its pixels, no patient or DICOM.
public struct LocalizerImage: Sendable {
    public var plane: ImagePlane
    /// Row-major, `plane.rows * plane.columns` values.
    public var pixels: [Float]

    public init(plane: ImagePlane, pixels: [Float]) {
        precondition(pixels.count == plane.rows * plane.columns, "pixel count does not match the plane")
        self.plane = plane
        self.pixels = pixels
    }
}
