import Foundation
import Testing
import SpinePlanGeometry
@testable import SpinePlanPlanner

/// Disc planes refined on the sagittal slices' pixels: drawn images of exact discs pull a segmentation that is a few
/// degrees off to the true planes, and images without edges, or with edges far off, leave it within the bounds.
@Suite struct SagittalRefinementTests {
    /// The true discs: (sagittal, coronal) tilts in degrees.
    static let truthTilts: [(Double, Double)] = [(-8, 3), (-3, -2), (2, 4), (7, 0), (14, -3)]
    /// A model-like grid: 2.5 mm in plane, 15 slices 4 mm apart.
    static let grid = AnalyticSpine.grid(size: SIMD3(80, 100, 15), inPlane: 2.5)

    static func spine(offset: (Double, Double)) -> AnalyticSpine {
        .lumbar(tilts: truthTilts.map { ($0.0 + offset.0, $0.1 + offset.1) })
    }

    /// Sagittal slices at the grid's slice positions within 16 mm of the middle, 1 mm pixels: each pixel the mean of
    /// 2 × 2 samples of the spine's classes (disc 900, bone 450, background 150) plus Gaussian noise of `noise`.
    static func images(of spine: AnalyticSpine, on grid: VoxelGrid, noise: Double = 40, seed: UInt64 = 7) -> [SagittalImage] {
        var rng = SplitMixRandom(seed: seed)
        let r = grid.axes.c0.normalized, c = grid.axes.c1.normalized, n = grid.axes.c2.normalized
        let spacing = grid.axes.c2.length
        let middle = grid.point(atIndex: Vector3(Double(grid.size.x - 1) / 2, Double(grid.size.y - 1) / 2, Double(grid.size.z - 1) / 2))
        let columns = 100, rows = 210
        var images: [SagittalImage] = []
        for k in 0..<grid.size.z {
            let depth = (Double(k) - Double(grid.size.z - 1) / 2) * spacing
            guard abs(depth) <= 16 else { continue }
            let centre = middle + n * depth
            let plane = ImagePlane(position: centre - r * (Double(columns - 1) / 2) - c * (Double(rows - 1) / 2),
                                   rowDirection: r, columnDirection: c, pixelSpacing: SIMD2(1, 1), rows: rows, columns: columns)
            var pixels = [Float](repeating: 0, count: rows * columns)
            for row in 0..<rows {
                for column in 0..<columns {
                    var sum = 0.0
                    for (dc, dr) in [(-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25)] {
                        let label = Int(spine.label(at: plane.point(column: Double(column) + dc, row: Double(row) + dr)))
                        sum += label == 0 ? 150 : (AnalyticSpine.classNames[label].contains("/") ? 900 : 450)
                    }
                    // Box–Muller.
                    let gauss = (-2 * log(max(rng.unit(), 1e-12))).squareRoot() * cos(2 * .pi * rng.unit())
                    pixels[row * columns + column] = Float(sum / 4 + noise * gauss)
                }
            }
            images.append(SagittalImage(plane: plane, pixels: pixels))
        }
        return images
    }

    /// Per planned disc: the plane, and the same disc's plane planned without images.
    static func plans(segmentation: Segmentation, images: [SagittalImage]) -> [(with: ScanPlan.Plane, without: ScanPlan.Plane)] {
        let without = Planner().plan(segmentation: segmentation)
        let with = Planner().plan(segmentation: segmentation, sagittal: images)
        #expect(!with.abstained && !without.abstained)
        #expect(with.planes.map(\.level) == without.planes.map(\.level))
        return Array(zip(with.planes, without.planes))
    }

    @Test("a segmentation 4° off sagittally and 2° laterally is pulled to the drawn discs")
    func pullsToTruth() {
        let truth = Self.spine(offset: (0, 0))
        let segmentation = Self.spine(offset: (4, -2)).segmentation(on: Self.grid)
        let pairs = Self.plans(segmentation: segmentation, images: Self.images(of: truth, on: Self.grid))
        #expect(pairs.count == 5)
        for (with, without) in pairs {
            let disc = truth.discs.first { $0.name == with.level?.name }!
            // The setup is meaningful only when the segmentation alone is clearly off.
            #expect(without.normal.angleDegrees(to: disc.normal) >= 3, "\(disc.name): unrefined \(without.normal.angleDegrees(to: disc.normal))°")
            #expect(with.normal.angleDegrees(to: disc.normal) <= 0.75, "\(disc.name): refined \(with.normal.angleDegrees(to: disc.normal))°")
            let through = abs((disc.centre - with.centre).dot(with.normal))
            #expect(through <= 0.3, "\(disc.name): centre \(through) mm off the plane")
        }
    }

    @Test("a single sagittal slice: the tilt within the slice is refined, the lateral tilt left as it was")
    func singleSlice() {
        let grid = AnalyticSpine.grid(size: SIMD3(80, 100, 1), inPlane: 2.5)
        let truth = AnalyticSpine.lumbar(tilts: Self.truthTilts.map { ($0.0, 0) })
        let segmentation = AnalyticSpine.lumbar(tilts: Self.truthTilts.map { ($0.0 - 4, 0) }).segmentation(on: grid)
        let images = Self.images(of: truth, on: grid)
        #expect(images.count == 1)
        for (with, without) in Self.plans(segmentation: segmentation, images: images) {
            let disc = truth.discs.first { $0.name == with.level?.name }!
            #expect(without.normal.angleDegrees(to: disc.normal) >= 3)
            #expect(with.normal.angleDegrees(to: disc.normal) <= 0.75, "\(disc.name): refined \(with.normal.angleDegrees(to: disc.normal))°")
            // The lateral component (across the slices) is untouched by a single slice.
            #expect(abs(with.normal.dot(grid.axes.c2.normalized) - without.normal.dot(grid.axes.c2.normalized)) < 1e-9)
        }
    }

    @Test("images without edges (flat, or noise only) leave every plane exactly as the segmentation gives it")
    func noEvidence() {
        let segmentation = Self.spine(offset: (4, -2)).segmentation(on: Self.grid)
        let drawn = Self.images(of: Self.spine(offset: (0, 0)), on: Self.grid)
        let flat = drawn.map { SagittalImage(plane: $0.plane, pixels: [Float](repeating: 500, count: $0.pixels.count)) }
        var rng = SplitMixRandom(seed: 11)
        let noisy = drawn.map { SagittalImage(plane: $0.plane, pixels: $0.pixels.map { _ in Float(500 + 40 * (rng.unit() - 0.5) * 3.46) }) }
        for (what, images) in [("flat", flat), ("noise", noisy)] {
            for (with, without) in Self.plans(segmentation: segmentation, images: images) {
                #expect(with.normal.angleDegrees(to: without.normal) < 1e-9, "\(what) \(with.level?.name ?? ""): normal moved")
                #expect((with.centre - without.centre).length < 1e-9, "\(what) \(with.level?.name ?? ""): centre moved")
            }
        }
    }

    @Test("discs drawn 4° past the angle bound: the planned plane stays within the bound of the segmentation's")
    func misleadingEvidence() {
        let segmentation = Self.spine(offset: (0, 0)).segmentation(on: Self.grid)
        let turned = Self.spine(offset: (SagittalEndplateRefinement.maximumCorrection + 4, 0))
        for (with, without) in Self.plans(segmentation: segmentation, images: Self.images(of: turned, on: Self.grid)) {
            let angle = with.normal.angleDegrees(to: without.normal)
            #expect(angle <= SagittalEndplateRefinement.maximumCorrection + 1e-9, "\(with.level?.name ?? ""): turned \(angle)°")
            let shift = abs((with.centre - without.centre).dot(without.normal))
            #expect(shift <= SagittalEndplateRefinement.maximumShift + 1e-9, "\(with.level?.name ?? ""): moved \(shift) mm")
        }
    }

    @Test("corrections beyond the bounds (angle or shift) are refused, smaller ones accepted and exact")
    func boundsDecide() {
        // A thick disc (14 mm), so that a centre handed in 4.5 mm off still has both edges inside the search.
        var truth = Self.spine(offset: (0, 0))
        truth.discHeight = 14
        let images = Self.images(of: truth, on: Self.grid)
        let disc = truth.discs[2]
        let axis = disc.normal.cross(Vector3(1, 0, 0)).normalized
        let cases: [(what: String, degrees: Double, shift: Double, accepted: Bool)] = [
            ("turned 7°", 7, 0, true),
            ("turned past the bound", SagittalEndplateRefinement.maximumCorrection + 3, 0, false),
            ("moved 1.5 mm", 0, 1.5, true),
            ("moved past the bound", 0, SagittalEndplateRefinement.maximumShift + 1.5, false),
        ]
        for c in cases {
            let start = (Matrix3.rotation(axis: axis, degrees: c.degrees) * disc.normal).normalized
            switch SagittalEndplateRefinement.refine(centre: disc.centre + disc.normal * c.shift, normal: start,
                                                     thickness: 16, images: images) {
            case .refined(let r):
                #expect(c.accepted, "\(c.what): accepted a correction of \(r.correction)° and \(r.shift) mm")
                #expect(r.normal.angleDegrees(to: disc.normal) <= 0.5, "\(c.what): \(r.normal.angleDegrees(to: disc.normal))° off")
                #expect(abs((r.centre - disc.centre).dot(disc.normal)) <= 0.3, "\(c.what): centre \((r.centre - disc.centre).dot(disc.normal)) mm off")
                #expect(r.lateralTiltRefined)
            case .kept(let why):
                #expect(!c.accepted, "\(c.what): kept (\(why.rawValue))")
                #expect(why == .beyondBound, "\(c.what): kept (\(why.rawValue))")
            }
        }
    }
}
