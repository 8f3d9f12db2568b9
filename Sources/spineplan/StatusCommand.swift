import ArgumentParser
import Foundation
import SpinePlanService

/// `spineplan status`: the running daemon's state for an admin or a health check, read from the `status.json` it
/// rewrites each second in its state directory. Exit 0 when it runs and its outbox moves, 1 when it is down, 3 when
/// results have waited in the outbox longer than `--stuck-after`.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the running daemon's state; exit non-zero when it is down or its outbox is stuck.",
        discussion: "Exit 0: running. 1: not running (no status, a dead process or a status older than 10 s). 3: the oldest result has waited longer than --stuck-after. No patient data is shown.")

    @Option(name: .customLong("config"), help: "The configuration file serve uses (for its state directory).") var configurationFile: String?
    @Option(name: .customLong("state-dir"), help: "The daemon's state directory (overrides --config).") var stateDirectory: String?
    @Option(name: .customLong("stuck-after"), help: "Seconds after which a waiting result means a stuck outbox.") var stuckAfter: Double = 600
    @Flag(help: "Print the status as JSON.") var json = false

    func run() throws {
        var directory = ServiceConfiguration().stateDirectory
        if let configurationFile {
            do { directory = try ConfigurationFile.load(path: configurationFile).stateDirectory } catch {
                throw CommandFailure.usage(error.description)
            }
        }
        if let stateDirectory { directory = stateDirectory }
        let report: DaemonStatusReport
        do {
            report = try DaemonStatusReport.read(fromDirectory: directory)
        } catch {
            throw CommandFailure.work("not running: no status in \(directory) (\(DaemonStatusReport.fileName))")
        }
        let now = Date()
        let alive = kill(report.pid, 0) == 0 || errno == EPERM
        let fresh = now.timeIntervalSince(report.writtenAt) < 10
        if json {
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.describe(report, now: now, running: alive && fresh))
        }
        guard alive && fresh else {
            throw CommandFailure.work("not running: pid \(report.pid) last wrote its status \(Self.ago(report.writtenAt, now)) ago")
        }
        if let oldest = report.oldestOutboxItem, now.timeIntervalSince(oldest) > stuckAfter {
            throw CommandFailure(exitCode: 3, message: "outbox stuck: the oldest result has waited \(Self.ago(oldest, now))")
        }
    }

    static func describe(_ r: DaemonStatusReport, now: Date, running: Bool) -> String {
        let time = ISO8601DateFormatter()
        var lines = [
            running ? "spineplan: running (pid \(r.pid)), up since \(time.string(from: r.startedAt)) (\(ago(r.startedAt, now)))"
                    : "spineplan: NOT running (pid \(r.pid) last seen \(ago(r.writtenAt, now)) ago)",
            "listening: \(r.listening)",
            "configuration: \(r.configurationFile ?? "embedded defaults")",
            "model: \(r.model)",
            "sessions: \(r.sessionsPlanned) planned (\(r.sessionsAbstained) with levels not named), \(r.sessionsFailed) failed",
            "outbox: \(r.outboxDepth) waiting" + (r.oldestOutboxItem.map { ", oldest for \(ago($0, now))" } ?? ""),
            "last error: " + (r.lastError.map { "\(time.string(from: $0.at)) \($0.message)" } ?? "none"),
        ]
        if !r.recent.isEmpty {
            lines.append("last sessions:")
            for s in r.recent.reversed() {
                let latency = s.latencyMilliseconds.map { String(format: "%.0f ms", $0) } ?? "-"
                lines.append("  \(time.string(from: s.finishedAt))  \(s.outcome.padding(toLength: 9, withPad: " ", startingAt: 0))  \(latency)")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func ago(_ date: Date, _ now: Date) -> String {
        let s = max(0, Int(now.timeIntervalSince(date)))
        return s < 120 ? "\(s) s" : s < 7200 ? "\(s / 60) min" : "\(s / 3600) h"
    }
}
