import ArgumentParser
import Foundation

/// The `spineplan` executable: one root command with a verb per job.
struct SpinePlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spineplan",
        abstract: "Scanner-side lumbar spine MRI planning: localizer in over DICOM, disc-parallel oblique axial planes out.",
        subcommands: [ServeCommand.self, SynthCommand.self, CheckConfigCommand.self, PlanCommand.self, ReplayCommand.self, RecordingCommand.self, StatusCommand.self])
}

/// A failure with the exit code the CLI contract gives it: 1 when the work failed, 2 for bad usage or config.
struct CommandFailure: Error, CustomStringConvertible {
    let exitCode: Int32
    let message: String
    var description: String { message }

    static func usage(_ message: String) -> CommandFailure { CommandFailure(exitCode: 2, message: message) }
    static func work(_ message: String) -> CommandFailure { CommandFailure(exitCode: 1, message: message) }
}

@main
enum Main {
    static func main() async {
        do {
            var command = try SpinePlanCommand.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as CommandFailure {
            FileHandle.standardError.write(Data("spineplan: \(failure.message)\n".utf8))
            exit(failure.exitCode)
        } catch {
            // Help and version requests exit 0 as ArgumentParser prints them; any parse error is bad usage (2).
            if SpinePlanCommand.exitCode(for: error) == .success { SpinePlanCommand.exit(withError: error) }
            FileHandle.standardError.write(Data((SpinePlanCommand.fullMessage(for: error) + "\n").utf8))
            exit(2)
        }
    }
}
