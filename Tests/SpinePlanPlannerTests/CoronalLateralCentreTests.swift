import Foundation
import Testing
import SpinePlanGeometry
@testable import SpinePlanPlanner

/// The disc's left-right centre taken from the coronal localizer: a drawn column (bodies, discs, psoas) pulls a
/// centre placed off it back onto its midline; a slice far from the disc, or one with nothing symmetric in it,
/// leaves the centre alone.
@Suite struct CoronalLateralCentreTests {
    /// The column's midline in patient x (mm), off the image centre as a patient lying off the table's axis would be.
    static let midline = -13.0

    /// A 256² coronal slice at y = `y`, 1.5 mm pixels: vertebral bodies 40 mm wide with dark discs between them,
    /// psoas muscles either side, fat around; noise with a fixed seed.
    static func coronal(y: Double = 0, flat: Bool = false) -> CoronalImage {
        let spacing = 1.5, size = 256
        let plane = ImagePlane(position: Vector3(-191.25, y, 191.25), rowDirection: Vector3(1, 0, 0),
                               columnDirection: Vector3(0, 0, -1), pixelSpacing: SIMD2(spacing, spacing),
                               rows: size, columns: size)
        var rng = SplitMixRandom(seed: 7)
        var pixels = [Float](repeating: 0, count: size * size)
        for r in 0..<size {
            for c in 0..<size {
                let p = plane.point(column: Double(c), row: Double(r))
                let dx = p.x - midline, z = p.z
                var v = 300.0
                if !flat {
                    if abs(dx) <= 20 {
                        // 28 mm bodies and 10 mm discs, repeating along z.
                        let phase = (z + 1000).truncatingRemainder(dividingBy: 38)
                        v = phase < 10 ? 150 : 420
                    } else if abs(dx) <= 38, abs(dx) >= 22 {
                        v = 180  // psoas
                    }
                }
                // Box–Muller from two uniforms.
                let g = (-2 * log(max(rng.unit(), 1e-12))).squareRoot() * cos(2 * .pi * rng.unit())
                pixels[r * size + c] = Float(v + 25 * g)
            }
        }
        return CoronalImage(plane: plane, pixels: pixels)
    }

    static let normal = Vector3(0, 0.2, -1).normalized

    @Test("a centre 9 mm off the column moves onto its midline, within the disc plane")
    func pullsOntoMidline() throws {
        let centre = Vector3(Self.midline + 9, 4, 20)
        let found = try #require(CoronalLateralCentre.measure(centre: centre, normal: Self.normal, images: [Self.coronal()]))
        let moved = centre + found.shift
        #expect(abs(moved.x - Self.midline) < 0.5, "moved to x = \(moved.x)")
        #expect(abs(found.shift.dot(Self.normal)) < 1e-9, "the shift must stay in the disc plane")
        #expect(found.symmetry >= CoronalLateralCentre.minimumSymmetry)
    }

    @Test("a slice farther than 16 mm from the disc, or without a column in it, is not used")
    func farOrFlatSlicesAreIgnored() {
        let centre = Vector3(Self.midline + 9, 4, 20)
        #expect(CoronalLateralCentre.measure(centre: centre, normal: Self.normal, images: [Self.coronal(y: 30)]) == nil)
        #expect(CoronalLateralCentre.measure(centre: centre, normal: Self.normal, images: [Self.coronal(flat: true)]) == nil)
    }

    @Test("of two slices, the nearer one decides")
    func nearestSliceDecides() throws {
        let centre = Vector3(Self.midline - 6, 4, 20)
        let found = try #require(CoronalLateralCentre.measure(centre: centre, normal: Self.normal,
                                                              images: [Self.coronal(y: 30, flat: true), Self.coronal(y: 2)]))
        #expect(abs((centre + found.shift).x - Self.midline) < 0.5)
    }
}
