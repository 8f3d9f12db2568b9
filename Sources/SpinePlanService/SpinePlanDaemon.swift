import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import SpinePlanDICOM
import Synchronization

/// The running service: DICOM edge, session assembly, planning, outbox, systemd status and watchdog, SIGHUP reload.
///
/// Stages are loops joined by bounded hand-offs: the SCP's worker threads decode into the inbox, one intake loop
/// assembles sessions, one planning loop runs the pipeline (inference is single-threaded by design), and the
/// outbox delivers in the background.
public final class SpinePlanDaemon: Service, Sendable {
    public let receiver: DICOMReceiver
    public let outbox: Outbox
    public let status = ServiceStatus()
    public let metrics = DaemonMetrics()
    /// The Prometheus endpoint when `metrics.enabled`; it listens from `run()` on.
    public let metricsEndpoint: MetricsEndpoint?
    let inbox: InstanceInbox
    let assembler: SessionAssembler
    let planning: SessionPlanning
    let configuration: Mutex<ServiceConfiguration>
    let configurationPath: String?
    let notifier: SystemdNotifier
    let logger: Logger
    let ready: Handoffs
    /// Localizers handed to the planning loop and not yet planned, and whether the edge is refusing associations.
    let pressure = Mutex((queued: 0, busy: false))
    /// The outbox's send failures already counted into the metrics.
    let reportedSendFailures = Mutex(0)
    /// Called after each planned session, e.g. by QA recording; never allowed to fail the session.
    let afterPlanning: @Sendable (LocalizerSnapshot, PlanningOutcome) -> Void
    /// Runs `afterPlanning` in order but off the planning loop: recording hashes and writes megabytes, and the
    /// next localizer must not wait for that.
    let afterPlanningQueue = DispatchQueue(label: "spineplan.after-planning")
    /// The command line's flags, applied over the file at every reload as they were at start.
    let overrides: @Sendable (inout ServiceConfiguration) -> Void

    /// Snapshots waiting for the planning loop.
    final class Handoffs: Sendable {
        let stream: AsyncStream<LocalizerSnapshot>
        let continuation: AsyncStream<LocalizerSnapshot>.Continuation
        /// Unbounded on purpose: what was acknowledged must be planned. The queue is bounded upstream, by rejecting
        /// new associations while it is long (see `updatePressure`).
        init() { (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded) }
    }

    /// Binds the port and opens the outbox now, so a bad address or state directory fails before READY=1.
    public init(configuration: ServiceConfiguration, configurationPath: String?, planning: SessionPlanning,
                listenFileDescriptor: Int32? = nil, notifier: SystemdNotifier = SystemdNotifier(), logger: Logger,
                overrides: @escaping @Sendable (inout ServiceConfiguration) -> Void = { _ in },
                afterPlanning: @escaping @Sendable (LocalizerSnapshot, PlanningOutcome) -> Void = { _, _ in })
        throws(DaemonError) {
        self.configuration = Mutex(configuration)
        self.configurationPath = configurationPath
        self.planning = planning
        self.notifier = notifier
        self.logger = logger
        self.afterPlanning = afterPlanning
        self.overrides = overrides
        self.ready = Handoffs()
        let inbox = InstanceInbox(capacity: configuration.sessions.maxPendingSlices, logger: logger)
        self.inbox = inbox
        self.assembler = SessionAssembler(idleTimeout: .milliseconds(Int64(configuration.sessions.idleTimeoutSeconds * 1000)),
                                          logger: logger)
        do {
            self.outbox = try Outbox(directory: configuration.statePath(configuration.outbox.directory),
                                     settings: Self.outboxSettings(configuration), logger: logger)
        } catch {
            throw DaemonError(.stateDirectory, "outbox: \(error.message)")
        }
        var scp = configuration.storageSCP
        scp.listenFileDescriptor = listenFileDescriptor
        let metrics = self.metrics
        metrics.model(planning.modelDescription)
        if configuration.metrics.enabled {
            metricsEndpoint = try MetricsEndpoint(bind: configuration.metrics.bind, port: configuration.metrics.port,
                                                  metrics: metrics, logger: logger)
        } else {
            metricsEndpoint = nil
        }
        do {
            self.receiver = try DICOMReceiver(configuration: scp, inbox: inbox, logger: logger) { event in
                metrics.association(event)
                inbox.post(event)
            }
        } catch {
            throw DaemonError(.listen, "cannot listen: \(error.message)")
        }
    }

    static func outboxSettings(_ c: ServiceConfiguration) -> Outbox.Settings {
        Outbox.Settings(retryInitialSeconds: c.outbox.retryInitialSeconds, retryMaxSeconds: c.outbox.retryMaxSeconds,
                        expirySeconds: c.outbox.expiryHours * 3600, callingAETitle: c.outbox.callingAETitle,
                        timeoutSeconds: c.outbox.sendTimeoutSeconds)
    }

    public var port: Int { receiver.scp.port }
    public var currentConfiguration: ServiceConfiguration { configuration.withLock { $0 } }

    public func run() async throws {
        let c = currentConfiguration
        // The endpoint listens before READY=1, so an address in use fails the start as a DICOM port would.
        let metricsTask = try await metricsEndpoint?.start()
        if let metricsEndpoint {
            let port = await metricsEndpoint.port ?? c.metrics.port
            // Not "listening ... port=": that line names the DICOM port, and tools and tests look for it.
            logger.info("metrics endpoint ready", metadata: ["metrics_bind": "\(c.metrics.bind)", "metrics_port": "\(port)"])
        }
        defer { metricsTask?.cancel() }
        notifier.ready(status: "listening on \(c.network.bind):\(port) as \(c.network.aeTitle); "
                       + status.summary(outboxDepth: outbox.depth))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.outbox.run() }
            group.addTask { await self.idleTicker() }
            group.addTask { await self.watchdog() }
            group.addTask { await self.reloadOnHangUp() }
            let intake = Task { await self.intake() }
            let planning = Task { await self.planningLoop() }
            var failure: Error?
            do {
                // Returns once graceful shutdown has stopped the listener and closed the inbox.
                try await self.receiver.run()
            } catch {
                failure = error
                inbox.close()
            }
            await intake.value
            await self.gracefulShutdownRemainder()
            await planning.value
            // Recordings of the last sessions finish before we exit.
            afterPlanningQueue.sync {}
            group.cancelAll()
            if let failure { throw failure }
        }
        notifier.stopping()
        // Gone is what status should report once we have stopped, not the last second we ran.
        unlink((currentConfiguration.stateDirectory as NSString).appendingPathComponent(DaemonStatusReport.fileName))
        logger.info("stopped cleanly", metadata: ["instances": "\(inbox.acceptedCount)", "sessions": "\(status.sessionsPlanned)",
                                                   "outbox_pending": "\(outbox.depth)"])
    }

    /// After the listener stops: give the sessions already assembled a bounded chance to be planned and queued.
    private func gracefulShutdownRemainder() async {
        handToPlanning(assembler.expireIdle(at: .now + .seconds(3600)))
        ready.continuation.finish()
    }

    private func intake() async {
        while let item = await inbox.next() {
            status.beat()
            let snapshots: [LocalizerSnapshot]
            switch item {
            case let .instance(instance):
                logger.info("instance received", metadata: ReceptionLog.metadata(instance))
                snapshots = assembler.add(instance)
            case let .event(event):
                // The DICOM edge has logged the event (refusals rate-limited per peer); here it only triggers.
                snapshots = event.kind == .released ? assembler.released(associationID: event.associationID) : []
            }
            handToPlanning(snapshots)
        }
    }

    private func handToPlanning(_ snapshots: [LocalizerSnapshot]) {
        if !snapshots.isEmpty { pressure.withLock { $0.queued += snapshots.count } }
        for snapshot in snapshots {
            metrics.sessionReceived()
            ready.continuation.yield(snapshot)
        }
        updatePressure()
    }

    /// Backpressure at the edge: while the planning queue or the inbox is long, new associations are rejected as
    /// transient, so consoles retry later; associations already open finish, and nothing acknowledged is dropped.
    private func updatePressure() {
        let limits = currentConfiguration.sessions
        let slices = inbox.depth
        let change: (busy: Bool, queued: Int)? = pressure.withLock { p in
            let busy = p.queued >= limits.maxQueuedSessions || slices >= max(1, limits.maxPendingSlices / 2)
            guard busy != p.busy else { return nil }
            p.busy = busy
            return (busy, p.queued)
        }
        guard let change else { return }
        receiver.scp.setBusy(change.busy)
        let metadata: Logger.Metadata = ["queued_sessions": "\(change.queued)", "pending_slices": "\(slices)"]
        if change.busy {
            logger.warning("overloaded: rejecting new associations until the queue drains", metadata: metadata)
        } else {
            logger.notice("accepting new associations again", metadata: metadata)
        }
    }

    /// Rewrites `status.json` for `spineplan status`; a failure to write it is not the service's failure.
    func publishStatus() {
        let c = currentConfiguration
        let report = status.report(pid: getpid(), configurationFile: configurationPath,
                                   listening: "\(c.network.bind):\(port) as \(c.network.aeTitle)",
                                   model: planning.modelDescription, outboxDepth: outbox.depth,
                                   oldestOutboxItem: outbox.pending.first?.created)
        try? report.write(toDirectory: c.stateDirectory)
        let failures = outbox.sendFailures
        metrics.outbox(depth: report.outboxDepth, oldest: report.oldestOutboxItem,
                       failuresSinceLast: failures - reportedSendFailures.withLock { seen in defer { seen = failures }; return seen })
    }

    private func idleTicker() async {
        var published = ContinuousClock.now - .seconds(2)
        while !Task.isCancelled {
            status.beat()
            if ContinuousClock.now - published >= .seconds(1) {
                publishStatus()
                published = .now
            }
            receiver.scp.flushRefusalSummaries()
            handToPlanning(assembler.expireIdle())
            let wait = assembler.nextIdleDeadline.map { max(.milliseconds(20), min(.seconds(1), $0 - .now)) } ?? .seconds(1)
            try? await Task.sleep(for: wait)
        }
    }

    private func planningLoop() async {
        for await snapshot in ready.stream {
            let started = ContinuousClock.now
            status.planningStarted(at: started)
            let outcome = await planning.plan(snapshot)
            status.planningFinished()
            pressure.withLock { $0.queued -= 1 }
            updatePressure()
            status.beat()
            deliver(snapshot, outcome, started: started)
            let hook = afterPlanning
            afterPlanningQueue.async { hook(snapshot, outcome) }
            notifier.status(status.summary(outboxDepth: outbox.depth))
        }
    }

    private func deliver(_ snapshot: LocalizerSnapshot, _ outcome: PlanningOutcome, started: ContinuousClock.Instant) {
        var metadata: Logger.Metadata = [
            "session": "\(snapshot.sessionID)", "generation": "\(snapshot.generation)", "trigger": "\(snapshot.trigger.rawValue)",
            "calling_ae": "\(snapshot.callingAETitle)", "slices": "\(snapshot.slices.count)"]
        for (stage, ms) in outcome.timings { metadata["ms_\(stage)"] = "\(String(format: "%.1f", ms))" }
        guard let report = outcome.report, let plan = outcome.plan else {
            metrics.session(outcome: "failed", timings: outcome.timings, totalMilliseconds: nil)
            status.failed(reason: "session could not be planned: \(outcome.failure ?? "no report")")
            metadata["reason"] = "\(outcome.failure ?? "no report")"
            logger.error("session could not be planned", metadata: metadata)
            return
        }
        let c = currentConfiguration
        guard let peer = c.returnPeer(forCallingAETitle: snapshot.callingAETitle) else {
            metrics.session(outcome: "failed", timings: outcome.timings, totalMilliseconds: nil)
            status.failed(reason: "no destination for results of calling AE \(snapshot.callingAETitle)")
            logger.error("no destination for results: set `destination` or register the calling AE under `peers`",
                         metadata: metadata)
            return
        }
        do {
            var results: [(object: DICOMObject, kind: String)] = [(report, "sr")]
            if c.report.overlay, let overlay = outcome.overlay { results.append((overlay, "overlay")) }
            try outbox.enqueue(results, sessionID: snapshot.sessionID, to: peer)
        } catch {
            metrics.session(outcome: "failed", timings: outcome.timings, totalMilliseconds: nil)
            status.failed(reason: "result could not be stored in the outbox: \(error.message)")
            metadata["reason"] = "\(error.message)"
            logger.critical("result could not be stored in the outbox", metadata: metadata)
            return
        }
        let ms = (ContinuousClock.now - started).milliseconds
        status.planned(latencyMilliseconds: ms, abstained: plan.abstained)
        metrics.session(outcome: plan.abstained ? "abstained" : "planned", timings: outcome.timings, totalMilliseconds: ms)
        metadata["planes"] = "\(plan.planes.count)"
        metadata["abstained"] = "\(plan.abstained)"
        metadata["warnings"] = "\(plan.warnings.count)"
        metadata["latency_ms"] = "\(String(format: "%.1f", ms))"
        metadata["destination"] = "\(peer)"
        logger.info("session planned", metadata: metadata)
    }

    private func watchdog() async {
        guard let interval = notifier.watchdogInterval else { return }
        let period = interval / 2
        while !Task.isCancelled {
            // Pet only while the loops are turning and no plan is stuck: a wedged pipeline must let systemd restart us.
            if status.isHealthy(limit: interval) { notifier.watchdog() }
            try? await Task.sleep(for: period)
        }
    }

    private func reloadOnHangUp() async {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            reload()
        }
    }

    /// Re-reads the file; a bad file is logged and the running configuration kept.
    public func reload() {
        guard let path = configurationPath else {
            logger.notice("SIGHUP ignored: running on embedded defaults, no file to reload")
            return
        }
        notifier.reloading()
        defer { notifier.ready(status: status.summary(outboxDepth: outbox.depth)) }
        var fresh: ServiceConfiguration
        do {
            fresh = try ConfigurationFile.load(path: path)
            overrides(&fresh)
        } catch {
            logger.error("reload refused; keeping the running configuration", metadata: [
                "path": "\(path)", "errors": "\(error.issues.map(\.description).joined(separator: "; "))"])
            return
        }
        let old = currentConfiguration
        var applied = fresh
        // These are built into long-lived parts at start (listener, model, inbox, recorder, log handler).
        var restartOnly: [String] = []
        if fresh.network != old.network { restartOnly.append("network"); applied.network = old.network }
        if fresh.stateDirectory != old.stateDirectory { restartOnly.append("state_directory"); applied.stateDirectory = old.stateDirectory }
        if fresh.model != old.model { restartOnly.append("model"); applied.model = old.model }
        if fresh.sessions.maxPendingSlices != old.sessions.maxPendingSlices {
            restartOnly.append("sessions.max_pending_slices")
            applied.sessions.maxPendingSlices = old.sessions.maxPendingSlices
        }
        if fresh.recording != old.recording { restartOnly.append("recording"); applied.recording = old.recording }
        if fresh.metrics != old.metrics { restartOnly.append("metrics"); applied.metrics = old.metrics }
        if fresh.logLevel != old.logLevel { restartOnly.append("logging.level"); applied.logLevel = old.logLevel }
        if !restartOnly.isEmpty {
            logger.warning("changes to \(restartOnly.joined(separator: ", ")) take effect at the next restart; the rest applies now")
        }
        configuration.withLock { $0 = applied }
        outbox.update(settings: Self.outboxSettings(applied))
        assembler.update(idleTimeout: .milliseconds(Int64(applied.sessions.idleTimeoutSeconds * 1000)))
        if let reloadable = planning as? ReloadablePlanning { reloadable.update(configuration: applied) }
        logger.notice("configuration reloaded", metadata: [
            "path": "\(path)", "destination": "\(applied.destination.map { "\($0)" } ?? "-")",
            "idle_timeout_s": "\(applied.sessions.idleTimeoutSeconds)"])
    }
}

/// A planning stage whose protocol settings can change on reload.
public protocol ReloadablePlanning: SessionPlanning {
    func update(configuration: ServiceConfiguration)
}
