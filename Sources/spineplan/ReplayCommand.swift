import ArgumentParser
import Foundation
import Logging
import SpinePlanDICOM
import SpinePlanQA
import SpinePlanService

/// `spineplan replay`: replays recorded sessions and reports regressions against what was recorded.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay recorded sessions (offline or against a running daemon) and compare the plans with the recorded ones.",
        discussion: "Exit status: 0 when every session replays within tolerance; 1 for any regression or unreadable recording; 2 for bad usage.")

    @Argument(help: "Recording folders (each holds a manifest.json).") var recordings: [String] = []
    @Option(help: "Replay against a running daemon at AE@HOST:PORT, acting as the console.") var target: String?
    @Flag(help: "Run the planning pipeline in this process.") var offline = false
    @Option(help: "Sending pace with --target: original or max.") var speed: String = "original"
    @Option(help: "Where the console listens for the daemon's results, AE@PORT (the daemon's destination for this console).")
    var listen: String = "QA_CONSOLE@11113"
    @Option(help: "Address the console's listener binds.") var bind: String = "0.0.0.0"
    @Option(help: "Seconds to wait for each SR with --target.") var timeout: Double = 60
    @Option(help: "Write a JUnit XML report here.") var junit: String?
    @Option(help: "Write a self-contained HTML report here.") var html: String?
    @Option(name: .customLong("tolerance-mm"), help: "Allowed centre shift per plane, mm.") var toleranceMM: Double = 1
    @Option(name: .customLong("tolerance-deg"), help: "Allowed normal rotation per plane, degrees.") var toleranceDeg: Double = 1
    @Option(help: "YAML configuration for the offline pipeline's protocol and model (defaults otherwise).") var config: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.") var logLevel: String = "warning"

    func validate() throws {
        guard !recordings.isEmpty else { throw ValidationError("give at least one recording folder") }
        guard (target != nil) != offline else { throw ValidationError("give exactly one of --target AE@HOST:PORT or --offline") }
        if let target { do { _ = try DICOMPeer(parsing: target) } catch { throw ValidationError("--target: \(error.message)") } }
        guard ConsoleReplay.Speed(rawValue: speed) != nil else { throw ValidationError("--speed must be original or max") }
        guard toleranceMM > 0, toleranceDeg > 0 else { throw ValidationError("tolerances must be positive") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        _ = try Self.listenAddress(listen)
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level '\(logLevel)' is not a level") }
    }

    /// Parses `AE@PORT`.
    static func listenAddress(_ text: String) throws -> (aeTitle: String, port: Int) {
        let parts = text.split(separator: "@", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 16, let port = Int(parts[1]), (0...65535).contains(port) else {
            throw ValidationError("--listen must be AE@PORT, e.g. QA_CONSOLE@11113")
        }
        return (parts[0], port)
    }

    func run() async throws {
        JournalLogHandler.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .warning)
        let logger = Logger(label: "spineplan.replay")
        let tolerance = ReplayTolerance(centreMillimetres: toleranceMM, normalDegrees: toleranceDeg)
        let outcomes: [ReplayOutcome]
        let mode: String
        if let target {
            let peer = try DICOMPeer(parsing: target)
            let (ae, port) = try Self.listenAddress(listen)
            let console: ConsoleReplay
            do {
                console = try ConsoleReplay(target: peer, aeTitle: ae, port: port, bindAddress: bind,
                                            speed: ConsoleReplay.Speed(rawValue: speed) ?? .original, timeoutSeconds: timeout, logger: logger)
            } catch {
                throw CommandFailure.work(error.message)
            }
            mode = "target \(peer), console \(ae) on port \(console.port), speed \(speed)"
            let runner = ReplayRunner(tolerance: tolerance) { recording throws(RecordingError) in try await console.run(recording: recording) }
            let paths = recordings
            let progress = TerminalProgress("replay", total: paths.count)
            outcomes = await console.serving { await runner.run(paths: paths, recordingDone: { progress.advance() }) }
            progress.finish()
        } else {
            var c = ServiceConfiguration()
            if let config {
                do { c = try ConfigurationFile.load(path: config) } catch { throw CommandFailure.usage(error.description) }
            }
            let pipeline: PlanningPipeline
            do {
                pipeline = try await PlanningPipeline.load(configuration: c, logger: logger)
            } catch {
                throw CommandFailure.work(error.message)
            }
            mode = "offline, model \(pipeline.localizer.modelName)"
            let runner = ReplayRunner(tolerance: tolerance) { recording throws(RecordingError) in
                try await OfflineReplay.run(recording: recording, planning: pipeline)
            }
            let progress = TerminalProgress("replay", total: recordings.count)
            outcomes = await runner.run(paths: recordings, recordingDone: { progress.advance() })
            progress.finish()
        }
        let report = ReplayReport(outcomes: outcomes, tolerance: tolerance, mode: mode)
        print(report.table(), terminator: "")
        do {
            if let junit { try Data(report.junit().utf8).write(to: URL(fileURLWithPath: junit)) }
            if let html { try Data(report.html().utf8).write(to: URL(fileURLWithPath: html)) }
        } catch {
            throw CommandFailure.work("cannot write the report: \(error.localizedDescription)")
        }
        if report.exitCode != 0 { throw CommandFailure(exitCode: report.exitCode, message: "\(report.regressions) regression(s), \(report.errors) error(s)") }
    }
}
