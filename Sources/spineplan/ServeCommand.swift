import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SpinePlanDICOM
import SpinePlanQA
import SpinePlanService

/// `spineplan serve`: the daemon. Flags override the configuration file; without one it runs on embedded defaults.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Receive localizers over DICOM C-STORE and send plans back.")

    @Option(help: "YAML configuration file (see config/spineplan.yaml).") var config: String?
    @Option(help: "Port to listen on (0 picks a free one).") var port: Int?
    @Option(name: .customLong("ae-title"), help: "Our AE title.") var aeTitle: String?
    @Option(help: "Address to bind.") var bind: String?
    @Option(help: "Send every result to AE@HOST:PORT instead of the sender's registered peer.") var destination: String?
    @Option(name: .customLong("record-dir"), help: "Record every session (QA) under this directory.") var recordDirectory: String?
    @Option(name: .customLong("state-dir"), help: "Directory for the outbox and recordings.") var stateDirectory: String?
    @Option(name: .customLong("acse-timeout"), help: "Seconds a peer has to complete association negotiation.") var acseTimeout: Int?
    @Option(name: .customLong("max-associations"), help: "Concurrent associations before new ones are rejected (transient).") var maxAssociations: Int?
    @Option(name: .customLong("max-pdu"), help: "Maximum PDU size we receive.") var maxPDU: UInt32?
    @Option(name: .customLong("max-dataset-mb"), help: "Largest dataset accepted, in MiB.") var maxDatasetMB: Int?
    @Option(name: .customLong("allow-ae"), help: "Calling AE title allowed (repeatable; none means any).") var allowedAETitles: [String] = []
    @Option(name: .customLong("allow-peer"), help: "Peer IP address allowed (repeatable; none means any).") var allowedPeers: [String] = []
    @Option(name: .customLong("idle-timeout"), help: "Seconds after the last slice before a session is planned anyway.") var idleTimeout: Double?
    @Option(help: "Model precision: auto, bf16 or f32.") var precision: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.") var logLevel: String?

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be 0...65535") }
        if let bind, !ConfigurationFile.isIPv4Address(bind) { throw ValidationError("--bind '\(bind)' is not an IPv4 address") }
        for peer in allowedPeers where ConfigurationFile.canonicalPeerAddress(peer) == nil {
            throw ValidationError("--allow-peer '\(peer)' is not an IP address")
        }
        if let aeTitle, aeTitle.isEmpty || aeTitle.utf8.count > 16 { throw ValidationError("--ae-title must be 1 to 16 characters") }
        if let acseTimeout, acseTimeout <= 0 { throw ValidationError("--acse-timeout must be positive") }
        if let maxAssociations, maxAssociations <= 0 { throw ValidationError("--max-associations must be positive") }
        if let maxDatasetMB, maxDatasetMB <= 0 { throw ValidationError("--max-dataset-mb must be positive") }
        if let idleTimeout, !(idleTimeout > 0) { throw ValidationError("--idle-timeout must be positive") }
        if let precision, !["auto", "bf16", "f32"].contains(precision) { throw ValidationError("--precision must be auto, bf16 or f32") }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level '\(logLevel)' is not a level") }
        if let destination {
            do { _ = try DICOMPeer(parsing: destination) } catch { throw ValidationError("--destination: \(error.message)") }
        }
    }

    /// The file (or the embedded defaults) with the flags applied on top.
    func resolvedConfiguration() throws -> ServiceConfiguration {
        var c: ServiceConfiguration
        if let config {
            do {
                c = try ConfigurationFile.load(path: config)
            } catch {
                throw CommandFailure.usage(error.description)
            }
        } else {
            c = ServiceConfiguration()
        }
        applyFlags(to: &c)
        return c
    }

    /// Command-line flags win over the file, at start and again at every reload.
    func applyFlags(to c: inout ServiceConfiguration) {
        if let port { c.network.port = port }
        if let aeTitle { c.network.aeTitle = aeTitle }
        if let bind { c.network.bind = bind }
        if let acseTimeout { c.network.acseTimeoutSeconds = acseTimeout }
        if let maxAssociations { c.network.maxAssociations = maxAssociations }
        if let maxPDU { c.network.maxPDU = maxPDU }
        if let maxDatasetMB { c.network.maxDatasetMB = maxDatasetMB }
        if !allowedAETitles.isEmpty { c.network.allowedCallingAETitles = allowedAETitles }
        if !allowedPeers.isEmpty { c.network.allowedPeers = allowedPeers.compactMap(ConfigurationFile.canonicalPeerAddress) }
        if let destination { c.destination = try? DICOMPeer(parsing: destination) }
        if let stateDirectory { c.stateDirectory = stateDirectory }
        if let recordDirectory {
            c.recording.enabled = true
            c.recording.directory = recordDirectory
        }
        if let idleTimeout { c.sessions.idleTimeoutSeconds = idleTimeout }
        if let precision { c.model.precision = precision }
        if let logLevel { c.logLevel = logLevel }
    }

    /// systemd socket activation: the first passed descriptor (fd 3) when LISTEN_PID is us.
    static func activatedSocket() -> Int32? {
        let env = ProcessInfo.processInfo.environment
        guard let pid = env["LISTEN_PID"].flatMap(Int32.init), pid == getpid(),
              let count = env["LISTEN_FDS"].flatMap(Int.init), count >= 1 else { return nil }
        return 3
    }

    func run() async throws {
        let c = try resolvedConfiguration()
        AllocatorPolicy.limitArenas()
        JournalLogHandler.bootstrap(level: Logger.Level(rawValue: c.logLevel) ?? .info)
        let logger = Logger(label: "spineplan")
        let notifier = SystemdNotifier()
        notifier.status("loading the model")
        let pipeline: PlanningPipeline
        do {
            pipeline = try await PlanningPipeline.load(configuration: c, logger: logger)
        } catch {
            throw CommandFailure.work("cannot start: \(error.message)")
        }
        let recorder = SessionRecording.make(configuration: c, modelName: pipeline.localizer.modelName, logger: logger)
        let daemon: SpinePlanDaemon
        do {
            daemon = try SpinePlanDaemon(configuration: c, configurationPath: config, planning: pipeline,
                                         listenFileDescriptor: Self.activatedSocket(), notifier: notifier, logger: logger,
                                         overrides: { [self] in applyFlags(to: &$0) }, afterPlanning: recorder)
        } catch {
            throw CommandFailure.work("cannot start: \(error.message)")
        }
        let group = ServiceGroup(services: [daemon], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
