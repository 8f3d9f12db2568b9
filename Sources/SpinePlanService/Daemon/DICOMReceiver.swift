import Logging
import ServiceLifecycle
import SpinePlanDICOM

/// The DICOM edge as a lifecycle service: serves C-STORE/C-ECHO until graceful shutdown, then joins every association.
public struct DICOMReceiver: Service {
    public let scp: StorageSCP
    let inbox: InstanceInbox
    let logger: Logger

    /// Binds now, so a port in use fails before anything reports ready.
    public init(configuration: StorageSCPConfiguration, inbox: InstanceInbox, logger: Logger,
                onEvent: @escaping @Sendable (AssociationEvent) -> Void = { _ in }) throws(DICOMError) {
        self.scp = try StorageSCP(configuration: configuration, sink: inbox, logger: logger, onEvent: onEvent)
        self.inbox = inbox
        self.logger = logger
    }

    public func run() async throws {
        logger.info("listening", metadata: ["ae_title": "\(scp.configuration.aeTitle)", "port": "\(scp.port)",
                                             "bind": "\(scp.configuration.bindAddress)"])
        try await cancelWhenGracefulShutdown {
            try await scp.run()
        }
        inbox.close()
        logger.info("listener stopped")
    }
}
