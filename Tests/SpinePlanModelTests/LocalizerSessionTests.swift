import Foundation
import Testing
import SpinePlanGeometry
import SpinePlanModel

/// Whole sessions through `Localizer.segment`: virtual scanner → DICOM → preprocess → network → postprocess.
@Suite(.enabled(if: ModelFiles.haveWeights, "no weights in Sources/SpinePlanModel/Weights"))
struct LocalizerSessionTests {
    @Test("a session segments onto the model grid with the sidecar's classes and confidences in (0, 1]")
    func plumbing() async throws {
        let session = try SyntheticSession(seed: 21)
        defer { session.remove() }
        let localizer = try await Localizer.load(weights: ModelFiles.weights, logger: ModelFiles.logger)
        let result = try await localizer.segment(sagittal: session.sagittal.map(\.image))
        let shape = localizer.sidecar.inputGrid.shapeDHW
        #expect(result.grid.size == SIMD3(shape[2], shape[1], shape[0]))
        #expect(result.segmentation.classNames == localizer.sidecar.classes)
        #expect(result.segmentation.labels.grid == result.grid)
        let confidence = try #require(result.segmentation.confidence)
        #expect(confidence.allSatisfy { $0 > 0 && $0 <= 1.0001 })
        // The argmax's probability is at least 1/classes.
        #expect(confidence.min()! >= 1 / Float(localizer.sidecar.classes.count) - 1e-5)
        #expect(result.timings.inferenceMilliseconds > 0 && result.timings.preprocessMilliseconds > 0)
        // The grid is centred on the stack: its centre is the mean of the slice centres.
        let centres = session.sagittal.map { $0.plane.point(column: Double($0.plane.columns - 1) / 2, row: Double($0.plane.rows - 1) / 2) }
        let mean = centres.reduce(Vector3.zero, +) / Double(centres.count)
        #expect((result.grid.centre - mean).length < 1e-6 + result.grid.axes.c2.length)
    }

    /// The issue's bound: every disc within 3 mm of the truth, for the discs that can be planned (T12/L1 and
    /// below); 5 mm for the thoracic discs at the top of the field, which no plan uses. Model 1.2.0 puts these
    /// sessions' discs 0.2–2.1 mm off; 1.4.0 (fine-tuned on real T2) 0.2–2.0 mm, except T10/T11 of seed 33 at 3.9 mm
    /// (1.1.0 reached 3.8 mm there too). A wrong level, a flipped axis or a shifted grid is 15 mm or more off.
    @Test("predicted disc centroids: every plannable one within 3 mm of the truth disc centre, thoracic ones within 5",
          .enabled(if: ModelFiles.trained, "the shipped weights are the random placeholder"), arguments: [UInt64(31), 32, 33])
    func discCentroids(seed: UInt64) async throws {
        let session = try SyntheticSession(seed: seed, labels: true)
        defer { session.remove() }
        let localizer = try await Localizer.load(weights: ModelFiles.weights, logger: ModelFiles.logger)
        let result = try await localizer.segment(sagittal: session.sagittal.map(\.image))
        let names = result.segmentation.classNames
        let confidence = try #require(result.segmentation.confidence)
        let predicted = Self.discCentres(result.segmentation.labels.voxels.map(Int.init), weights: confidence, grid: result.grid) {
            names[$0].contains("/")
        }
        // The truth label map on the same grid: a disc whose own truth-label centroid is more than 3 mm from its
        // truth centre is cut by the grid, the slab or the field of view, and no network can be asked to hit it.
        let truth = try session.sagittalLabels()
        let sorted = session.sagittal.sorted { ($0.instanceNumber ?? 0) < ($1.instanceNumber ?? 0) }
        try #require(truth.maps.count == sorted.count)
        let truthGrid = ModelGrid(shape: result.grid.size, inPlaneSpacing: result.grid.axes.c0.length)
            .resample(zip(sorted, truth.maps).map { ($0.plane, $1) }, onto: result.grid, interpolation: .nearest)
        let truthNames = Dictionary(truth.scheme.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        let truthCentroids = Self.centroids(truthGrid.map { Int($0.rounded()) }, grid: result.grid) { truthNames[$0]?.contains("/") == true }
        var checked: [(name: String, distance: Double)] = []
        for (label, centroid) in predicted {
            let name = result.segmentation.classNames[label]
            guard let disc = session.summary.truth.discs.first(where: { $0.level == name }) else {
                Issue.record("predicted disc \(name) is not in the truth (\(session.summary.truth.discs.map(\.level)))")
                continue
            }
            guard let value = truth.scheme[name], let own = truthCentroids[value], (own - disc.centre).length <= 3 else { continue }
            let distance = (centroid - disc.centre).length
            #expect(distance <= (DiscLevel(name: name) == nil ? 5 : 3), "\(name): centroid \(distance) mm from truth")
            checked.append((name, distance))
        }
        print("disc centroids, seed \(seed): " + checked.map { "\($0.name) \(String(format: "%.2f", $0.distance)) mm" }.joined(separator: ", "))
        #expect(checked.count >= 3, "discs checked: \(checked)")
    }

    /// The predicted disc of each label `include` accepts: its largest 6-connected component (stray specks of the same
    /// class elsewhere are not the disc), centred by the network's confidence. At least 20 voxels.
    static func discCentres(_ labels: [Int], weights: [Float], grid: VoxelGrid, include: (Int) -> Bool) -> [Int: Vector3] {
        var component = [Int32](repeating: -1, count: labels.count)
        var best = [Int: [Int]]()
        let size = grid.size
        for start in labels.indices where component[start] < 0 && labels[start] != 0 && include(labels[start]) {
            let label = labels[start]
            var members = [start], next = 0
            component[start] = Int32(start)
            while next < members.count {
                let v = members[next]
                next += 1
                let i = v % size.x, j = (v / size.x) % size.y, k = v / (size.x * size.y)
                for (di, dj, dk) in [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)] {
                    let (a, b, c) = (i + di, j + dj, k + dk)
                    guard a >= 0, b >= 0, c >= 0, a < size.x, b < size.y, c < size.z else { continue }
                    let u = grid.linearIndex(a, b, c)
                    guard component[u] < 0, labels[u] == label else { continue }
                    component[u] = Int32(start)
                    members.append(u)
                }
            }
            if members.count > best[label]?.count ?? 0 { best[label] = members }
        }
        return best.filter { $0.value.count >= 20 }.mapValues { members in
            var sum = Vector3.zero, total = 0.0
            for v in members {
                let w = Double(weights[v])
                sum = sum + grid.point(atIndex: Vector3(Double(v % size.x), Double((v / size.x) % size.y), Double(v / (size.x * size.y)))) * w
                total += w
            }
            return sum / total
        }
    }

    /// LPS centroid of each label that `include` accepts, over labels with at least 20 voxels (smaller is a speck).
    static func centroids(_ labels: [Int], grid: VoxelGrid, include: (Int) -> Bool) -> [Int: Vector3] {
        var sums = [Int: (Vector3, Int)]()
        for k in 0..<grid.size.z {
            for j in 0..<grid.size.y {
                for i in 0..<grid.size.x {
                    let label = labels[grid.linearIndex(i, j, k)]
                    guard label != 0, include(label) else { continue }
                    let (sum, count) = sums[label] ?? (.zero, 0)
                    sums[label] = (sum + grid.point(atIndex: Vector3(Double(i), Double(j), Double(k))), count + 1)
                }
            }
        }
        return sums.filter { $0.value.1 >= 20 }.mapValues { $0.0 / Double($0.1) }
    }
}
