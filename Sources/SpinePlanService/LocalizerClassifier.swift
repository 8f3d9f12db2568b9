import SpinePlanDICOM

/// Decides whether an incoming series is a localizer (scout, survey, 3-plane loc) worth planning on.
public enum LocalizerClassifier {
    static let descriptionHints = ["loc", "scout", "survey", "3-plane", "3 plane", "tri-plane", "triplane", "planning", "aahead", "aascout"]

    /// ImageType LOCALIZER wins; otherwise the series description or the geometry (thick, low-resolution slices
    /// in two or more orientations of one series) must say so.
    public static func isLocalizer(_ slice: Slice, orientationsInSeries: Int = 1) -> Bool {
        if slice.imageType.contains(where: { $0.uppercased() == "LOCALIZER" }) { return true }
        let description = slice.seriesDescription.lowercased()
        if descriptionHints.contains(where: { description.contains($0) }) { return true }
        return orientationsInSeries >= 2 && mayBeLocalizerByGeometry(slice)
    }

    /// Thick, low-resolution slices: a localizer if its series turns out to hold several orientations.
    public static func mayBeLocalizerByGeometry(_ slice: Slice) -> Bool {
        (slice.sliceThickness ?? 0) >= 3 && slice.plane.rows <= 512
    }
}
