import ArgumentParser
import Logging
import ServiceLifecycle
import SpinePlanDICOM
import SpinePlanService

/// `spineplan serve`: the daemon.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Receive localizers over DICOM C-STORE.")

    @Option(help: "Port to listen on (0 picks a free one).") var port: Int = 11112
    @Option(name: .customLong("ae-title"), help: "Our AE title.") var aeTitle: String = "SPINEPLAN"
    @Option(help: "Address to bind.") var bind: String = "127.0.0.1"
    @Option(name: .customLong("acse-timeout"), help: "Seconds a peer has to complete association negotiation.") var acseTimeout: Int = 5
    @Option(name: .customLong("max-associations"), help: "Concurrent associations before new ones are rejected (transient).") var maxAssociations: Int = 8
    @Option(name: .customLong("max-pdu"), help: "Maximum PDU size we receive.") var maxPDU: UInt32 = 65536
    @Option(name: .customLong("max-dataset-mb"), help: "Largest dataset accepted, in MiB.") var maxDatasetMB: Int = 256
    @Option(name: .customLong("allow-ae"), help: "Calling AE title allowed (repeatable; none means any).") var allowedAETitles: [String] = []
    @Option(name: .customLong("allow-peer"), help: "Peer IP address allowed (repeatable; none means any).") var allowedPeers: [String] = []
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.") var logLevel: String = "info"

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        guard !aeTitle.isEmpty, aeTitle.utf8.count <= 16 else { throw ValidationError("--ae-title must be 1 to 16 characters") }
        guard acseTimeout > 0 else { throw ValidationError("--acse-timeout must be positive") }
        guard maxAssociations > 0 else { throw ValidationError("--max-associations must be positive") }
        guard maxDatasetMB > 0 else { throw ValidationError("--max-dataset-mb must be positive") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level '\(logLevel)' is not a level") }
    }

    func run() async throws {
        JournalLogHandler.bootstrap(level: Logger.Level(rawValue: logLevel) ?? .info)
        let logger = Logger(label: "spineplan")
        var config = StorageSCPConfiguration()
        config.port = port
        config.aeTitle = aeTitle
        config.bindAddress = bind
        config.acseTimeoutSeconds = acseTimeout
        config.maxAssociations = maxAssociations
        config.maxPDU = maxPDU
        config.maxDatasetBytes = UInt64(maxDatasetMB) << 20
        config.allowedCallingAETitles = allowedAETitles
        config.allowedPeerAddresses = allowedPeers
        let inbox = InstanceInbox(capacity: 512, logger: logger)
        let receiver: DICOMReceiver
        do {
            receiver = try DICOMReceiver(configuration: config, inbox: inbox, logger: logger)
        } catch {
            throw CommandFailure.work("cannot start: \(error.message)")
        }
        let reception = ReceptionLog(inbox: inbox, logger: logger)
        let notifier = SystemdNotifier()
        // The port is bound by now (DICOMReceiver binds in init), so a supervisor may route traffic to us.
        notifier.ready(status: "listening on \(bind):\(receiver.scp.port) as \(aeTitle)")
        let group = ServiceGroup(
            services: [receiver],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        async let drained: Void = reception.run()
        try await group.run()
        notifier.stopping()
        await drained
        logger.info("stopped cleanly", metadata: ["instances": "\(inbox.acceptedCount)"])
    }
}
