import ArgumentParser
import Foundation
import SpinePlanService

/// `spineplan check-config FILE`: validates a configuration and names every error with its key and line.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate a configuration file; every error is listed with its key and line.")

    @Argument(help: "The YAML configuration file.") var file: String

    func run() throws {
        do {
            let config = try ConfigurationFile.load(path: file)
            print("\(file): OK (port \(config.network.port), AE \(config.network.aeTitle), "
                  + "\(config.peers.count) peer(s), model \(config.model.path)/\(config.model.precision), "
                  + "recording \(config.recording.enabled ? "on" : "off"))")
        } catch {
            throw CommandFailure.usage(error.description)
        }
    }
}
