import ArgumentParser
import Foundation
import Logging
import SpinePlanService

/// `spineplan plan DICOM_DIR --sr OUT.dcm [--json OUT.json]`: the daemon's pipeline on a folder of files.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plan", abstract: "Plan a localizer from a folder of DICOM files.")

    @Argument(help: "Folder holding one localizer session.") var folder: String
    @Option(help: "Write the DICOM SR here.") var sr: String
    @Option(help: "Write the plan JSON here.") var json: String?
    @Option(help: "Write the overlay image (DICOM) here.") var overlay: String?
    @Option(name: .customLong("overlay-png"), help: "Write the overlay as PNG here.") var overlayPNG: String?
    @Option(help: "YAML configuration for protocol and model (defaults otherwise).") var config: String?
    @Option(help: "Model precision: auto, bf16 or f32.") var precision: String?
    @Option(name: .customLong("log-level"), help: "Log level.") var logLevel: String = "warning"

    func run() async throws {
        JournalLogHandler.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .warning)
        let logger = Logger(label: "spineplan.plan")
        var c = ServiceConfiguration()
        if let config {
            do { c = try ConfigurationFile.load(path: config) } catch { throw CommandFailure.usage(error.description) }
        }
        if let precision {
            guard ["auto", "bf16", "f32"].contains(precision) else { throw CommandFailure.usage("--precision must be auto, bf16 or f32") }
            c.model.precision = precision
        }
        let snapshot: LocalizerSnapshot
        do {
            snapshot = try LocalizerFolder.session(at: folder, logger: logger)
        } catch {
            throw CommandFailure.work(error.message)
        }
        let pipeline: PlanningPipeline
        do {
            pipeline = try await PlanningPipeline.load(configuration: c, logger: logger)
        } catch {
            throw CommandFailure.work(error.message)
        }
        let outcome = await pipeline.plan(snapshot)
        guard let plan = outcome.plan, let report = outcome.report else {
            throw CommandFailure.work("no plan: \(outcome.failure ?? "unknown failure")")
        }
        do {
            try report.write(toFile: sr)
            if let overlay, let object = outcome.overlay { try object.write(toFile: overlay) }
        } catch {
            throw CommandFailure.work("cannot write: \(error.message)")
        }
        if let overlayPNG, let png = outcome.overlayPNG {
            FileManager.default.createFile(atPath: overlayPNG, contents: Data(png))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(plan)) ?? Data()
        if let json {
            guard FileManager.default.createFile(atPath: json, contents: data) else { throw CommandFailure.work("cannot write \(json)") }
        }
        print(PlanTable.render(plan))
    }
}
