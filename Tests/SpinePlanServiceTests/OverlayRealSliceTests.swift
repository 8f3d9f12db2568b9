import Foundation
import Logging
import SpinePlanDICOM
import SpinePlanScanner
import SpinePlanTestSupport
import Testing
@testable import SpinePlanService

/// Issue 18: the overlay stays legible on real images, not only on phantoms. Real lumbar T2 volumes (vb2-, held out
/// from training) are acquired as localizers by the virtual scanner, planned by the shipped model and planner, and
/// drawn at console sizes; no text may overlap or leave the image. The volumes are read from `../shared/data/real`
/// (never copied into the repository), so the suite says so when they are missing.
@Suite(.serialized, .enabled(if: RealVolumes.available, "needs ../shared/data/real beside the package"))
struct OverlayRealSliceTests {
    static let realData = RealVolumes.directory

    /// One model for all cases: each load builds oneDNN primitives and OpenMP threads, and in the full parallel suite
    /// four loads beside the other suites' models took ten minutes and starved every async test in the process.
    static let loaded = Task { try await PlanningPipeline.load(configuration: ServiceConfiguration(), logger: Logger(label: "test.overlay-real")) }
    static func pipeline() async throws -> PlanningPipeline { try await loaded.value }

    @Test("real T2 localizers, named and abstained, drawn at 256, 512 and 1024 px: no text overlaps, none leaves the image",
          arguments: ["vb2-02", "vb2-09", "vb2-14", "vb2-18"])
    func realSlices(_ name: String) async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let options = SynthesisOptions(outputDirectory: tmp.path, seed: 950_000, count: 1,
                                       volumePath: "\(Self.realData)/\(name)_image.nii.gz",
                                       referencesPath: "\(Self.realData)/references.json")
        let session = try #require(try VirtualScanner.synthesize(options: options).first)
        let logger = Logger(label: "test.overlay-real")
        let snapshot = try LocalizerFolder.session(at: "\(tmp.path)/\(session.caseName)/localizer", logger: logger)
        let pipeline = try await Self.pipeline()
        let outcome = await pipeline.plan(snapshot)
        let plan = try #require(outcome.plan, "\(outcome.failure ?? "")")
        let source = try #require(ReportStage.midSagittal(snapshot.stack(.sagittal)))
        for size in [256, 512, 1024] {
            let boxes = ReportStage.overlayRendering(plan: plan, source: source, size: size).textBoxes
            for (a, b) in boxes.overlapping { Issue.record("\(name) at \(size) px: \(a) overlaps \(b)") }
            for box in boxes.clipped { Issue.record("\(name) at \(size) px: \(box) runs off the \(boxes.width)×\(boxes.height) image") }
            #expect(boxes.boxes(.label).count == plan.planes.count, "\(name) at \(size) px: a label per plane")
            if plan.abstained {
                #expect(boxes.boxes(.message).first?.text.hasPrefix("Levels not named:") == true)
            }
        }
        print("overlay-real: \(name) \(plan.planes.count) planes, \(plan.abstained ? "abstained" : "named"), legible at 256/512/1024 px")
    }
}

/// Where the real volumes are: `../shared/data/real` beside the package root.
enum RealVolumes {
    static let directory: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.deletingLastPathComponent().appendingPathComponent("shared/data/real").path
    }()

    static var available: Bool { FileManager.default.fileExists(atPath: directory + "/references.json") }
}
