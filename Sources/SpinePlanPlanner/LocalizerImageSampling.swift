import SpinePlanGeometry

/// A coronal localizer slice: it gives the lateral tilt a single sagittal slice cannot (`CoronalTiltEstimate`).
public typealias CoronalImage = LocalizerImage
/// A sagittal localizer slice: its pixels refine the disc planes (`SagittalEndplateRefinement`).
public typealias SagittalImage = LocalizerImage

/// Sampling and noise on a localizer slice, for the planner's refinements.
extension LocalizerImage {
    /// Bilinear value at a patient-space point projected onto the slice; nil outside the pixel grid.
    func value(at p: Vector3) -> Double? {
        guard plane.pixelSpacing.x > 0, plane.pixelSpacing.y > 0 else { return nil }
        let q = plane.pixelCoordinate(of: p)
        return value(column: q.x, row: q.y)
    }

    /// Bilinear value at a continuous pixel position; nil outside the pixel grid.
    func value(column col: Double, row: Double) -> Double? {
        let c0 = Int(col.rounded(.down)), r0 = Int(row.rounded(.down))
        guard c0 >= 0, r0 >= 0, c0 < plane.columns - 1, r0 < plane.rows - 1 else { return nil }
        let fc = col - Double(c0), fr = row - Double(r0)
        let i = r0 * plane.columns + c0
        let a = Double(pixels[i]), b = Double(pixels[i + 1])
        let c = Double(pixels[i + plane.columns]), e = Double(pixels[i + plane.columns + 1])
        return (a * (1 - fc) + b * fc) * (1 - fr) + (c * (1 - fc) + e * fc) * fr
    }

    /// The slice of `images` nearest to `point` along its normal, if one lies within `maximumDistance` mm.
    static func nearest(to point: Vector3, within maximumDistance: Double,
                        in images: [LocalizerImage]) -> (image: LocalizerImage, distance: Double)? {
        images.map { ($0, abs((point - $0.plane.position).dot($0.plane.normal))) }
            .filter { $0.1 <= maximumDistance }
            .min { $0.1 < $1.1 }
    }

    /// Standard deviation of the pixel noise in a square window around a point: the median absolute response to a
    /// second-difference kernel (Immerkær's mask, norm 6), which edges, being few, hardly move. nil when the window
    /// holds too few pixels.
    func noise(around p: Vector3, halfWidth: Double) -> Double? {
        let uv = plane.pixelCoordinate(of: p)
        let hc = Int(halfWidth / plane.pixelSpacing.y), hr = Int(halfWidth / plane.pixelSpacing.x)
        let c0 = max(1, Int(uv.x) - hc), c1 = min(plane.columns - 2, Int(uv.x) + hc)
        let r0 = max(1, Int(uv.y) - hr), r1 = min(plane.rows - 2, Int(uv.y) + hr)
        guard c1 - c0 >= 3, r1 - r0 >= 3 else { return nil }
        let w = plane.columns
        var responses: [Double] = []
        responses.reserveCapacity((c1 - c0 + 1) * (r1 - r0 + 1))
        for r in r0...r1 {
            for c in c0...c1 {
                let i = r * w + c
                let corners = pixels[i - w - 1] + pixels[i - w + 1] + pixels[i + w - 1] + pixels[i + w + 1]
                let sides = pixels[i - 1] + pixels[i + 1] + pixels[i - w] + pixels[i + w]
                responses.append(abs(Double(corners - 2 * sides + 4 * pixels[i])))
            }
        }
        responses.sort()
        return 1.4826 * responses[responses.count / 2] / 6
    }
}
