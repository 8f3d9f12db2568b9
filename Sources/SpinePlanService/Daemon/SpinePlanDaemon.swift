import Foundation
import Logging
import ServiceLifecycle
import SpinePlanDICOM

/// The running service: one `ServiceGroup` of named services, from the DICOM edge to the outbox.
///
/// The parts are built, and the ports bound, in `init`, so a bad address or state directory fails before
/// READY=1. `run` starts them together; graceful shutdown (SIGTERM) stops them in the reverse of the order in
/// `services`: first the side services and the listener, then intake, planning and recording each drain what
/// the one before handed them, and the outbox stops last.
public final class SpinePlanDaemon: Service {
    public let receiver: DICOMReceiver
    public let outbox: Outbox
    public let status = ServiceStatus()
    public let metrics = DaemonMetrics()
    /// The Prometheus endpoint when `metrics.enabled`.
    public let metricsEndpoint: MetricsEndpoint?
    public let configuration: LiveConfiguration
    public let queue: PlanningQueue
    public let reloader: ConfigurationReloader
    let inbox: InstanceInbox
    /// Every acknowledged instance on disk until its results are in the outbox.
    public let journal: InstanceJournal
    let assembler: SessionAssembler
    let planning: SessionPlanning
    let notifier: SystemdNotifier
    let logger: Logger
    private let services: [ServiceGroupConfiguration.ServiceConfiguration]

    public init(configuration c: ServiceConfiguration, configurationPath: String?, planning: SessionPlanning,
                listenFileDescriptor: Int32? = nil, notifier: SystemdNotifier = SystemdNotifier(), logger: Logger,
                overrides: @escaping @Sendable (inout ServiceConfiguration) -> Void = { _ in },
                afterPlanning hook: @escaping AfterPlanning.Hook = { _, _ in })
        throws(DaemonError) {
        let configuration = LiveConfiguration(c)
        self.configuration = configuration
        self.planning = planning
        self.notifier = notifier
        self.logger = logger
        let inbox = InstanceInbox(capacity: c.sessions.maxPendingSlices, logger: logger)
        self.inbox = inbox
        let journal = try InstanceJournal(directory: c.statePath("inbox"), next: inbox,
                                          minimumFreeBytes: UInt64(c.sessions.minFreeMB) << 20, logger: logger)
        self.journal = journal
        assembler = SessionAssembler(idleTimeout: .milliseconds(Int64(c.sessions.idleTimeoutSeconds * 1000)), logger: logger,
                                     discarded: { journal.forget(sopInstanceUIDs: $0) })
        do {
            outbox = try Outbox(directory: c.statePath(c.outbox.directory), settings: Outbox.Settings(c), logger: logger)
        } catch {
            throw DaemonError(.stateDirectory, "outbox: \(error.message)")
        }
        var scp = c.storageSCP
        scp.listenFileDescriptor = listenFileDescriptor
        let metrics = self.metrics
        metrics.model(planning.modelDescription)
        metricsEndpoint = c.metrics.enabled
            ? try MetricsEndpoint(bind: c.metrics.bind, port: c.metrics.port, metrics: metrics, logger: logger) : nil
        do {
            receiver = try DICOMReceiver(configuration: scp, sink: journal, inbox: inbox, logger: logger) { event in
                metrics.association(event)
                // On the association's thread: what it stored reaches stable storage before the session is planned.
                if event.kind == .released { journal.sync() }
                inbox.post(event)
            }
        } catch {
            throw DaemonError(.listen, "cannot listen: \(error.message)")
        }
        queue = PlanningQueue(inbox: inbox, scp: receiver.scp, configuration: configuration, metrics: metrics, logger: logger)
        reloader = ConfigurationReloader(path: configurationPath, configuration: configuration, overrides: overrides,
                                         outbox: outbox, journal: journal, assembler: assembler, planning: planning, notifier: notifier,
                                         status: status, logger: logger)
        let afterPlanning = AfterPlanning(hook: hook)
        let intake = SessionIntake(inbox: inbox, assembler: assembler, queue: queue, journal: journal, status: status,
                                   logger: logger)
        let planningLoop = PlanningLoop(queue: queue, planning: planning, outbox: outbox, configuration: configuration,
                                        status: status, metrics: metrics, notifier: notifier, afterPlanning: afterPlanning,
                                        journal: journal, logger: logger)
        let publisher = StatusPublisher(status: status, metrics: metrics, outbox: outbox, scp: receiver.scp,
                                        configuration: configuration, configurationPath: configurationPath,
                                        modelDescription: planning.modelDescription)
        // Started in this order, shut down in the reverse.
        let ordered: [any Service] = [
            Watchdog(notifier: notifier, status: status), publisher, outbox, afterPlanning, planningLoop, intake, receiver,
            reloader,
        ] + (metricsEndpoint.map { [$0] } ?? [])
        services = ordered.map { service in
            // A listener that fails still lets what it acknowledged be planned and queued.
            .init(service: service, failureTerminationBehavior: service is DICOMReceiver ? .gracefullyShutdownGroup : .cancelGroup)
        }
    }

    public var port: Int { receiver.scp.port }
    public var currentConfiguration: ServiceConfiguration { configuration.current }

    public func run() async throws {
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask { try await self.announceReady() }
            // The first to end is READY (the group runs on) or a failure to start, which ends the group.
            do {
                try await tasks.next()
                try await tasks.next()
            } catch {
                tasks.cancelAll()
                throw error
            }
        }
        notifier.stopping()
        logger.info("stopped cleanly", metadata: ["instances": "\(inbox.acceptedCount)", "sessions": "\(status.sessionsPlanned)",
                                                   "outbox_pending": "\(outbox.depth)"])
    }

    /// READY=1 once every port listens: the DICOM port is bound in `init`; the metrics endpoint binds as it starts.
    private func announceReady() async throws {
        let c = currentConfiguration
        if let metricsEndpoint {
            try await metricsEndpoint.waitUntilListening()
            // Not "listening ... port=": that line names the DICOM port, and tools and tests look for it.
            let port = await metricsEndpoint.port ?? c.metrics.port
            logger.info("metrics endpoint ready", metadata: ["metrics_bind": "\(c.metrics.bind)", "metrics_port": "\(port)"])
        }
        notifier.ready(status: "listening on \(c.network.bind):\(port) as \(c.network.aeTitle); "
                       + status.summary(outboxDepth: outbox.depth))
    }
}
