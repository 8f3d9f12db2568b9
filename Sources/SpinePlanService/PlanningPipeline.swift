import Dispatch
import Foundation
import Logging
import SpinePlanDICOM
import SpinePlanGeometry
import SpinePlanModel
import SpinePlanPlanner
import Synchronization

/// The one pipeline behind `serve`, `plan` and `replay --offline`: sagittal stack to the localizer network,
/// segmentation to the planner, plan to the SR and the overlay.
public final class PlanningPipeline: ReloadablePlanning {
    public let localizer: Localizer
    private let settings: Mutex<(scanProtocol: ScanProtocol, overlay: Bool)>
    private let device: ReportDevice
    private let logger: Logger

    public var modelDescription: String { "\(localizer.modelName) \(localizer.path.rawValue)" }

    public init(localizer: Localizer, configuration: ServiceConfiguration, logger: Logger) {
        self.localizer = localizer
        self.settings = Mutex((Self.scanProtocol(configuration), configuration.report.overlay))
        self.device = ReportDevice(modelName: localizer.modelName)
        self.logger = logger
    }

    /// Loads the configured model (the bundled one by default); a missing or damaged file stops start-up.
    public static func load(configuration: ServiceConfiguration, logger: Logger) async throws(DaemonError) -> PlanningPipeline {
        let path: String
        if configuration.model.path == "bundled" {
            guard let bundled = Localizer.bundledWeightsPath else {
                throw DaemonError(.model, "no bundled model in this build; set model.path")
            }
            path = bundled
        } else {
            path = configuration.model.path
        }
        let precision = Precision(rawValue: configuration.model.precision) ?? .auto
        do {
            let localizer = try await Localizer.load(weights: path, precision: precision, logger: logger)
            return PlanningPipeline(localizer: localizer, configuration: configuration, logger: logger)
        } catch {
            throw DaemonError(.model, "model \(path): \(error.message)")
        }
    }

    static func scanProtocol(_ c: ServiceConfiguration) -> ScanProtocol {
        ScanProtocol(discs: c.scanProtocol.discs, fieldOfView: SIMD2(c.scanProtocol.fieldOfView[0], c.scanProtocol.fieldOfView[1]),
                     slices: c.scanProtocol.slices, thickness: c.scanProtocol.thickness, gap: c.scanProtocol.gap)
    }

    public func update(configuration: ServiceConfiguration) {
        settings.withLock { $0 = (Self.scanProtocol(configuration), configuration.report.overlay) }
    }

    public func plan(_ snapshot: LocalizerSnapshot) async -> PlanningOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        var timings: [String: Double] = [:]
        func total() -> [String: Double] {
            var t = timings
            t["total"] = (clock.now - start).milliseconds
            return t
        }
        let sagittal = snapshot.stack(.sagittal)
        guard !sagittal.isEmpty else {
            return PlanningOutcome(plan: nil, report: nil, overlay: nil, timings: total(),
                                   failure: "the localizer has no sagittal slices")
        }
        let frames = Set(snapshot.slices.map(\.frameOfReferenceUID))
        guard Set(sagittal.map(\.frameOfReferenceUID)).count == 1 else {
            return PlanningOutcome(plan: nil, report: nil, overlay: nil, timings: total(),
                                   failure: "localizer: the sagittal slices span more than one frame of reference")
        }
        let result: LocalizerResult
        do {
            result = try await localizer.segment(sagittal: sagittal.sorted(by: Slice.acquisitionOrder).map(\.image))
        } catch {
            return PlanningOutcome(plan: nil, report: nil, overlay: nil, timings: total(), failure: "localizer: \(error.message)")
        }
        timings["preprocess"] = result.timings.preprocessMilliseconds
        timings["inference"] = result.timings.inferenceMilliseconds
        timings["postprocess"] = result.timings.postprocessMilliseconds
        let (scanProtocol, wantsOverlay) = settings.withLock { $0 }
        let planStart = clock.now
        let coronal = snapshot.stack(.coronal).filter { $0.frameOfReferenceUID == sagittal[0].frameOfReferenceUID }
            .map(\.image)
        var plan = Planner(protocol: scanProtocol, modelName: localizer.modelName,
                           minimumLevelProbability: localizer.sidecar.minimumLevelProbability ?? 0)
            .plan(segmentation: result.segmentation, coronal: coronal.isEmpty ? nil : coronal,
                  sagittal: sagittal.map(\.image))
        if frames.count > 1 {
            plan.warnings.append("the localizer mixes \(frames.count) frames of reference; planned in the sagittal stack's")
        }
        timings["plan"] = (clock.now - planStart).milliseconds
        let reportStart = clock.now
        let report: DICOMObject
        var overlay: DICOMObject?
        var canvas: OverlayCanvas?
        do {
            plan.timings = total()
            report = try ReportStage.structuredReport(plan: plan, sagittal: sagittal, evidence: snapshot.slices, device: device)
            if wantsOverlay {
                (overlay, canvas) = try ReportStage.overlay(plan: plan, sagittal: sagittal)
            }
        } catch {
            return PlanningOutcome(plan: plan, report: nil, overlay: nil, timings: total(), failure: "report: \(error.message)")
        }
        timings["report"] = (clock.now - reportStart).milliseconds
        plan.timings = total()
        return PlanningOutcome(plan: plan, report: report, overlay: overlay, overlayCanvas: canvas, timings: plan.timings)
    }
}

/// Who made the report, for the SR's observer context.
struct ReportDevice: Sendable {
    var modelName: String
}
