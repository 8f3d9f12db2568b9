import ArgumentParser
import Foundation
import SpinePlanService

/// `spineplan check-config FILE`: validates a configuration and names every error with its key and line, then checks
/// what `serve` needs of this machine (model readable, state directories writable), so that a file it passes starts.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate a configuration file; every error is listed with its key and line.",
        discussion: "Paths are checked as the user running this command: run it as the service's user.")

    @Argument(help: "The YAML configuration file.") var file: String

    func run() throws {
        do {
            let config = try ConfigurationFile.load(path: file, checkingHost: true)
            print("\(file): OK (bind \(config.network.bind), port \(config.network.port), AE \(config.network.aeTitle), "
                  + "TLS \(config.network.tls == nil ? "off" : "on"), "
                  + "\(config.peers.count) peer(s), model \(config.model.path)/\(config.model.precision), "
                  + "state \(config.stateDirectory), recording \(config.recording.enabled ? "on" : "off"))")
        } catch {
            throw CommandFailure.usage(error.description)
        }
    }
}
