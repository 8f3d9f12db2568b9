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
        let result = try await localizer.segment(sagittal: session.sagittal)
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

    @Test("each predicted disc's centroid lies within 3 mm of the truth disc centre",
          .enabled(if: ModelFiles.trained, "the shipped weights are the random placeholder"), arguments: [UInt64(31), 32, 33])
    func discCentroids(seed: UInt64) async throws {
        let session = try SyntheticSession(seed: seed)
        defer { session.remove() }
        let localizer = try await Localizer.load(weights: ModelFiles.weights, logger: ModelFiles.logger)
        let result = try await localizer.segment(sagittal: session.sagittal)
        let labels = result.segmentation.labels
        var sums = [Int: (Vector3, Int)]()
        for k in 0..<labels.grid.size.z {
            for j in 0..<labels.grid.size.y {
                for i in 0..<labels.grid.size.x {
                    let label = Int(labels[i, j, k])
                    guard result.segmentation.classNames[label].contains("/") else { continue }
                    let p = labels.grid.point(atIndex: Vector3(Double(i), Double(j), Double(k)))
                    let (sum, count) = sums[label] ?? (.zero, 0)
                    sums[label] = (sum + p, count + 1)
                }
            }
        }
        // Ignore specks: a lumbar disc covers hundreds of 2.5 mm voxels on a 16-slice localizer.
        let discs = sums.filter { $0.value.1 >= 20 }
        #expect(discs.count >= 3, "predicted discs: \(discs.keys.map { result.segmentation.classNames[$0] })")
        for (label, (sum, count)) in discs {
            let name = result.segmentation.classNames[label]
            let centroid = sum / Double(count)
            let truth = session.summary.truth.discs.first { $0.level == name }
            guard let truth else {
                Issue.record("predicted disc \(name) is not in the truth (\(session.summary.truth.discs.map(\.level)))")
                continue
            }
            // A disc cut by the edge of the grid has a biased centroid whatever the network does: skip those.
            let index = labels.grid.index(of: truth.centre)
            let margin = 10 / result.grid.axes.c0.length
            guard index.x >= margin, index.y >= margin, index.x <= Double(labels.grid.size.x - 1) - margin,
                  index.y <= Double(labels.grid.size.y - 1) - margin, index.z >= 0, index.z <= Double(labels.grid.size.z - 1) else { continue }
            let distance = (centroid - truth.centre).length
            #expect(distance <= 3, "\(name): centroid \(distance) mm from truth")
        }
    }
}
