#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import SpinePlanGeometry

/// The disc's left-right line measured on the coronal localizer: the orientation of the disc band in the
/// coronal slice nearest the disc centre, from the structure tensor of the image gradients in a window
/// around the projected centre.
struct CoronalTiltEstimate: Sendable {
    /// Unit vector along the disc band, in patient space.
    var bandDirection: Vector3
    /// (λ1 − λ2) / (λ1 + λ2) of the structure tensor: 1 for a clean band, 0 for no orientation.
    var coherence: Double
    /// Distance of the disc centre from the slice used, in mm.
    var distance: Double

    /// Half-sizes of the analysis window along the band and across it, in mm.
    static let halfWidth = 16.0, halfHeight = 9.0
    /// Slices farther than this from the disc centre are not used.
    static let maximumDistance = 12.0

    static func measure(centre: Vector3, normal: Vector3, images: [CoronalImage]) -> CoronalTiltEstimate? {
        guard let (image, distance) = CoronalImage.nearest(to: centre, within: maximumDistance, in: images) else { return nil }
        let plane = image.plane
        let px = plane.pixelCoordinate(of: centre)
        let colSpacing = plane.pixelSpacing.y, rowSpacing = plane.pixelSpacing.x
        guard colSpacing > 0, rowSpacing > 0 else { return nil }
        let cols = plane.columns, rows = plane.rows
        guard px.x >= 0, px.y >= 0, px.x <= Double(cols - 1), px.y <= Double(rows - 1) else { return nil }

        // The expected band direction in the image: the patient-space lateral line of the current normal.
        let inPlaneNormal = Vector3(normal.dot(plane.rowDirection), normal.dot(plane.columnDirection), 0)
        guard inPlaneNormal.length > 0.3 else { return nil }
        let across = SIMD2(inPlaneNormal.x, inPlaneNormal.y) / SIMD2(inPlaneNormal.x, inPlaneNormal.y).lengthValue
        let along = SIMD2(-across.y, across.x)

        let reach = Int((max(halfWidth, halfHeight) / min(colSpacing, rowSpacing)).rounded(.up)) + 2
        let c0 = Int(px.x.rounded()), r0 = Int(px.y.rounded())
        var jxx = 0.0, jyy = 0.0, jxy = 0.0
        func value(_ c: Int, _ r: Int) -> Double {
            let cc = min(cols - 1, max(0, c)), rr = min(rows - 1, max(0, r))
            return Double(image.pixels[rr * cols + cc])
        }
        // 3×3 box-smoothed value, so that noise does not dominate the gradients.
        func smooth(_ c: Int, _ r: Int) -> Double {
            var s = 0.0
            for dr in -1...1 { for dc in -1...1 { s += value(c + dc, r + dr) } }
            return s / 9
        }
        for r in (r0 - reach)...(r0 + reach) {
            for c in (c0 - reach)...(c0 + reach) {
                guard r >= 1, c >= 1, r < rows - 1, c < cols - 1 else { continue }
                let offset = SIMD2((Double(c) - px.x) * colSpacing, (Double(r) - px.y) * rowSpacing)
                let u = (offset * along).sum(), v = (offset * across).sum()
                guard abs(u) <= halfWidth, abs(v) <= halfHeight else { continue }
                let weight = exp(-(u * u) / (2 * halfWidth * halfWidth / 4) - (v * v) / (2 * halfHeight * halfHeight / 4))
                let gx = (smooth(c + 1, r) - smooth(c - 1, r)) / (2 * colSpacing)
                let gy = (smooth(c, r + 1) - smooth(c, r - 1)) / (2 * rowSpacing)
                jxx += weight * gx * gx; jyy += weight * gy * gy; jxy += weight * gx * gy
            }
        }
        let trace = jxx + jyy
        guard trace > 0 else { return nil }
        let root = ((jxx - jyy) * (jxx - jyy) + 4 * jxy * jxy).squareRoot()
        let coherence = root / trace
        // Dominant gradient direction; the band runs perpendicular to it.
        let theta = 0.5 * atan2(2 * jxy, jxx - jyy)
        var band = SIMD2(-sin(theta), cos(theta))
        if (band * along).sum() < 0 { band = -band }
        let direction = (plane.rowDirection * band.x + plane.columnDirection * band.y).normalized
        return CoronalTiltEstimate(bandDirection: direction, coherence: coherence, distance: distance)
    }

    /// The normal turned as little as possible to be perpendicular to the measured band.
    func corrected(_ normal: Vector3) -> Vector3 {
        let l = bandDirection
        var n = (normal - l * normal.dot(l)).normalized
        if n.dot(normal) < 0 { n = -n }
        return n
    }
}

extension SIMD2 where Scalar == Double {
    var lengthValue: Double { (self * self).sum().squareRoot() }
}
