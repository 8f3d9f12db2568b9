import Foundation
import SpinePlanDICOM
import SpinePlanGeometry
import SpinePlanPlanner
import SpinePlanScanner

/// One synthetic session read back from disk: localizer slices, truth and the exported label maps.
struct SyntheticSession: Sendable {
    var directory: String
    var truth: TruthRecord
    /// Sagittal slices in stack order (the order of `labels/sag.npy`).
    var sagittal: [Slice]
    var coronal: [Slice]
    /// Label value of each class name (`labels/labels.json`).
    var scheme: [String: Int]
    /// `labels/sag.npy`, one row-major map per sagittal slice.
    var sagittalLabels: [[UInt8]]

    struct LoadFailure: Error, CustomStringConvertible { var description: String }

    static func load(_ directory: String) throws -> SyntheticSession {
        let truthData = try Data(contentsOf: URL(fileURLWithPath: directory + "/truth.json"))
        let truth = try JSONDecoder().decode(TruthRecord.self, from: truthData)
        let localizer = directory + "/localizer"
        let files = try FileManager.default.contentsOfDirectory(atPath: localizer).filter { $0.hasSuffix(".dcm") }.sorted()
        var sagittal: [Slice] = [], coronal: [Slice] = []
        for f in files {
            let object = try DICOMObject(contentsOfFile: localizer + "/" + f)
            for s in try SliceDecoder.slices(from: object) {
                if f.hasPrefix("sag") { sagittal.append(s) } else if f.hasPrefix("cor") { coronal.append(s) }
            }
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/labels/labels.json")))
        guard let scheme = (json as? [String: Any])?["label_scheme"] as? [String: Int] else {
            throw LoadFailure(description: "labels.json has no label_scheme")
        }
        let (shape, bytes) = try Self.readNumpyUInt8(directory + "/labels/sag.npy")
        guard shape.count == 3, shape[0] == sagittal.count else { throw LoadFailure(description: "sag.npy shape \(shape) does not match \(sagittal.count) slices") }
        let per = shape[1] * shape[2]
        let maps = (0..<shape[0]).map { Array(bytes[($0 * per)..<(($0 + 1) * per)]) }
        return SyntheticSession(directory: directory, truth: truth, sagittal: sagittal, coronal: coronal, scheme: scheme,
                                sagittalLabels: maps)
    }

    /// Class names indexed by label value; `dural_sac` becomes the vocabulary's `canal`.
    var classNames: [String] {
        var names = [String](repeating: "unused", count: 256)
        for (name, value) in scheme where (0..<256).contains(value) { names[value] = name == "dural_sac" ? "canal" : name }
        return names
    }

    /// The truth labels on the model grid, as the network's output would arrive (nearest neighbour).
    func segmentation(slices: [Int]? = nil, grid modelGrid: ModelGrid = ModelGrid()) -> Segmentation {
        let chosen = slices ?? Array(sagittal.indices)
        let planes = chosen.map { sagittal[$0].plane }
        let grid = modelGrid.place(planes)!
        let input = chosen.map { (plane: sagittal[$0].plane, pixels: sagittalLabels[$0].map(Float.init)) }
        let values = modelGrid.resample(input, onto: grid, interpolation: .nearest)
        return Segmentation(labels: Volume(grid: grid, voxels: values.map { UInt8(clamping: Int($0.rounded())) }),
                            classNames: classNames)
    }

    /// The truth labels on the model grid as an ideal network would give them: each voxel labelled with the class
    /// covering most of its in-plane footprint, and that share as its probability (partial volume). Shares come from
    /// `samples`² points spread over the footprint, each read by nearest neighbour from the label pixels.
    func partialVolumeSegmentation(slices: [Int]? = nil, grid modelGrid: ModelGrid = ModelGrid(), samples: Int = 8) -> Segmentation {
        let chosen = slices ?? Array(sagittal.indices)
        let hard = segmentation(slices: slices, grid: modelGrid)
        let grid = hard.labels.grid
        // Which slice each voxel was read from (0: none), by the same nearest-neighbour rule.
        let which = modelGrid.resample(chosen.enumerated().map { (n, s) in
            (plane: sagittal[s].plane, pixels: [Float](repeating: Float(n + 1), count: sagittalLabels[s].count))
        }, onto: grid, interpolation: .nearest)
        var labels = hard.labels.voxels
        var probability = [Float](repeating: 1, count: labels.count)
        let size = grid.size
        var counts = [Int](repeating: 0, count: 256)
        for k in 0..<size.z {
            for j in 0..<size.y {
                for i in 0..<size.x {
                    let v = grid.linearIndex(i, j, k)
                    let slice = Int(which[v].rounded()) - 1
                    guard slice >= 0 else { continue }
                    // Voxels whose eight in-plane neighbours share their label are covered by that class alone.
                    var uniform = true
                    for dj in -1...1 {
                        for di in -1...1 where i + di >= 0 && j + dj >= 0 && i + di < size.x && j + dj < size.y {
                            if hard.labels.voxels[grid.linearIndex(i + di, j + dj, k)] != hard.labels.voxels[v] { uniform = false }
                        }
                    }
                    if uniform { continue }
                    let plane = sagittal[chosen[slice]].plane, pixels = sagittalLabels[chosen[slice]]
                    for c in counts.indices { counts[c] = 0 }
                    for b in 0..<samples {
                        for a in 0..<samples {
                            let offset = Vector3((Double(a) + 0.5) / Double(samples) - 0.5, (Double(b) + 0.5) / Double(samples) - 0.5, 0)
                            let uv = plane.pixelCoordinate(of: grid.point(atIndex: Vector3(Double(i), Double(j), Double(k)) + offset))
                            let col = Int(uv.x.rounded()), row = Int(uv.y.rounded())
                            let label = col >= 0 && row >= 0 && col < plane.columns && row < plane.rows ? Int(pixels[row * plane.columns + col]) : 0
                            counts[label] += 1
                        }
                    }
                    var best = Int(hard.labels.voxels[v])
                    for c in counts.indices where counts[c] > counts[best] { best = c }
                    labels[v] = UInt8(best)
                    probability[v] = Float(counts[best]) / Float(samples * samples)
                }
            }
        }
        return Segmentation(labels: Volume(grid: grid, voxels: labels), classNames: classNames, confidence: probability)
    }

    var coronalImages: [CoronalImage] { coronal.map { CoronalImage(plane: $0.plane, pixels: $0.pixels) } }

    static func readNumpyUInt8(_ path: String) throws -> (shape: [Int], bytes: [UInt8]) {
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard data.count > 10, data[0] == 0x93 else { throw LoadFailure(description: "\(path) is not a .npy file") }
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        let header = String(decoding: data[10..<(10 + headerLength)], as: UTF8.self)
        guard header.contains("|u1"), let open = header.firstIndex(of: "("), let close = header.firstIndex(of: ")") else {
            throw LoadFailure(description: "\(path): unexpected header \(header)")
        }
        let shape = header[header.index(after: open)..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        return (shape, Array(data[(10 + headerLength)...]))
    }
}

/// How far a plan is from the truth, per planned disc.
struct PlaneError: Sendable, CustomStringConvertible {
    var level: String
    /// 3D distance between the planned and the true disc centre.
    var centre: Double
    /// Distance of the true centre from the planned plane, along the planned normal.
    var throughPlane: Double
    /// Angle between the planned and the true normal, degrees.
    var angle: Double
    var confidence: Double

    var description: String {
        "\(level): centre \(String(format: "%.2f", centre)) mm, through-plane \(String(format: "%.2f", throughPlane)) mm, angle \(String(format: "%.2f", angle))°, confidence \(String(format: "%.2f", confidence))"
    }

    /// Errors of every plane whose level the truth knows.
    static func compare(_ plan: ScanPlan, _ truth: TruthRecord) -> [PlaneError] {
        plan.planes.compactMap { p in
            guard let level = p.level, let t = truth.discs.first(where: { $0.level == level.name }) else { return nil }
            return PlaneError(level: level.name, centre: (p.centre - t.centre).length,
                              throughPlane: abs((t.centre - p.centre).dot(p.normal)),
                              angle: p.normal.angleDegrees(to: t.normal), confidence: p.confidence)
        }
    }
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func percentile(_ values: [Double], _ q: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let s = values.sorted()
    return s[min(s.count - 1, Int((q * Double(s.count - 1)).rounded()))]
}
