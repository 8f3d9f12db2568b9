import Logging
import ServiceLifecycle
import SpinePlanDICOM

/// The DICOM edge as a lifecycle service: serves C-STORE/C-ECHO until graceful shutdown, then joins every association.
public struct DICOMReceiver: Service {
    public let scp: StorageSCP
    let inbox: InstanceInbox
    let logger: Logger

    /// Binds now, so a port in use fails before anything reports ready.
    /// `sink` takes each instance (the journal, in front of `inbox`); `inbox` is closed when the listener stops.
    public init(configuration: StorageSCPConfiguration, sink: InstanceSink, inbox: InstanceInbox, logger: Logger,
                onEvent: @escaping @Sendable (AssociationEvent) -> Void = { _ in }) throws(DICOMError) {
        self.scp = try StorageSCP(configuration: configuration, sink: sink, logger: logger, onEvent: onEvent)
        self.inbox = inbox
        self.logger = logger
    }

    public func run() async throws {
        logger.info("listening", metadata: ["ae_title": "\(scp.configuration.aeTitle)", "port": "\(scp.port)",
                                             "bind": "\(scp.configuration.bindAddress)",
                                             "tls": "\(Self.describe(scp.configuration.tls))"])
        try await cancelWhenGracefulShutdown {
            try await scp.run()
        }
        inbox.close()
        logger.info("listener stopped")
    }

    /// "off", or whom the TLS listener lets in, for the start-up line an admin checks first.
    static func describe(_ tls: StorageSCPConfiguration.TLS?) -> String {
        guard let tls else { return "off" }
        if tls.trustedCAFile == nil { return "on, any client" }
        return tls.allowedClientSHA256.isEmpty ? "on, clients of the CA"
            : "on, \(tls.allowedClientSHA256.count) listed client certificate(s)"
    }
}
