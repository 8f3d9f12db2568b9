import SpinePlanGeometry
import SpinePlanPlanner

/// A spine built from exact shapes: discs are elliptic slabs with known centres and normals, vertebral
/// bodies fill the space between them, the sacrum lies below the last disc.
struct AnalyticSpine {
    struct Disc {
        var name: String
        var centre: Vector3
        /// Unit normal pointing inferior.
        var normal: Vector3
    }

    var discs: [Disc]
    var vertebrae: [String]
    var discHeight = 9.0
    var radius = 20.0

    /// Five lumbar discs along a column through `origin`, rotated by `pose`, each disc tilted by its own
    /// (sagittal, coronal) angles in degrees.
    static func lumbar(origin: Vector3 = .zero, pose: Matrix3 = .identity, tilts: [(Double, Double)]? = nil) -> AnalyticSpine {
        let names = ["L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1"]
        let tilts = tilts ?? [(-8, 0), (-3, 0), (2, 0), (7, 0), (14, 0)]
        var discs: [Disc] = []
        for (i, name) in names.enumerated() {
            let local = Vector3(0, 0, 70 - Double(i) * 36)
            let tilt = Matrix3.rotation(axis: Vector3(1, 0, 0), degrees: tilts[i].0)
                * Matrix3.rotation(axis: Vector3(0, 1, 0), degrees: tilts[i].1)
            discs.append(Disc(name: name, centre: origin + pose * local, normal: (pose * (tilt * Vector3(0, 0, -1))).normalized))
        }
        return AnalyticSpine(discs: discs, vertebrae: ["L1", "L2", "L3", "L4", "L5", "S1"])
    }

    static let classNames = ["background", "T12", "L1", "L2", "L3", "L4", "L5", "S1",
                             "T12/L1", "L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1"]

    /// Labels on `grid`: the nearest disc decides; between discs, the vertebra; outside the radius, background.
    func segmentation(on grid: VoxelGrid) -> Segmentation {
        var labels = [UInt8](repeating: 0, count: grid.voxelCount)
        for k in 0..<grid.size.z {
            for j in 0..<grid.size.y {
                for i in 0..<grid.size.x {
                    labels[grid.linearIndex(i, j, k)] = label(at: grid.point(atIndex: Vector3(Double(i), Double(j), Double(k))))
                }
            }
        }
        return Segmentation(labels: Volume(grid: grid, voxels: labels), classNames: Self.classNames)
    }

    /// Labels and probabilities as an ideal network would give them on `grid`: the class covering most of each
    /// voxel's in-plane footprint (`samples`² points) and that share as the probability.
    func partialVolumeSegmentation(on grid: VoxelGrid, samples: Int = 8) -> Segmentation {
        let hard = segmentation(on: grid).labels.voxels
        var labels = hard
        var probability = [Float](repeating: 1, count: hard.count)
        var counts = [Int](repeating: 0, count: Self.classNames.count)
        for k in 0..<grid.size.z {
            for j in 0..<grid.size.y {
                for i in 0..<grid.size.x {
                    let v = grid.linearIndex(i, j, k)
                    // Only voxels at a boundary can be shared between classes.
                    var uniform = true
                    for dj in -1...1 {
                        for di in -1...1 where i + di >= 0 && j + dj >= 0 && i + di < grid.size.x && j + dj < grid.size.y {
                            if hard[grid.linearIndex(i + di, j + dj, k)] != hard[v] { uniform = false }
                        }
                    }
                    if uniform { continue }
                    for c in counts.indices { counts[c] = 0 }
                    for b in 0..<samples {
                        for a in 0..<samples {
                            let index = Vector3(Double(i) + (Double(a) + 0.5) / Double(samples) - 0.5,
                                                Double(j) + (Double(b) + 0.5) / Double(samples) - 0.5, Double(k))
                            counts[Int(label(at: grid.point(atIndex: index)))] += 1
                        }
                    }
                    let best = counts.indices.max { counts[$0] < counts[$1] }!
                    labels[v] = UInt8(best)
                    probability[v] = Float(counts[best]) / Float(samples * samples)
                }
            }
        }
        return Segmentation(labels: Volume(grid: grid, voxels: labels), classNames: Self.classNames, confidence: probability)
    }

    /// The class at a point.
    func label(at p: Vector3) -> UInt8 {
        let axis = (discs.first!.centre - discs.last!.centre).normalized   // cranial
        // Signed distance (cranial positive) from each disc plane.
        var above = -1
        for (d, disc) in discs.enumerated() {
            let s = -(p - disc.centre).dot(disc.normal)
            let radial = (p - disc.centre) - (-disc.normal) * s
            if abs(s) <= discHeight / 2 && radial.length <= radius {
                return UInt8(Self.classNames.firstIndex(of: disc.name)!)
            }
            if s < 0 { above = d } else { break }
        }
        // Within the column's radius: the vertebra below the last disc above p.
        let nearest = discs.min { ($0.centre - p).length < ($1.centre - p).length }!
        let off = (p - nearest.centre) - axis * (p - nearest.centre).dot(axis)
        let reach = (p - discs.first!.centre).dot(axis)
        if off.length <= radius, reach <= 40, (p - discs.last!.centre).dot(axis) >= -60 {
            return UInt8(Self.classNames.firstIndex(of: vertebrae[above + 1])!)
        }
        return 0
    }

    /// A sagittal-like grid: rows along `row`, columns along `column`, slices along row × column.
    static func grid(centre: Vector3 = .zero, rotation: Matrix3 = .identity, size: SIMD3<Int> = SIMD3(128, 160, 15),
                     inPlane: Double = 1.5, sliceSpacing: Double = 4) -> VoxelGrid {
        let r = rotation * Vector3(0, 1, 0), c = rotation * Vector3(0, 0, -1), n = r.cross(c)
        let origin = centre - r * (Double(size.x - 1) / 2 * inPlane) - c * (Double(size.y - 1) / 2 * inPlane)
            - n * (Double(size.z - 1) / 2 * sliceSpacing)
        return VoxelGrid(size: size, origin: origin, axes: Matrix3(columns: r * inPlane, c * inPlane, n * sliceSpacing))!
    }
}
