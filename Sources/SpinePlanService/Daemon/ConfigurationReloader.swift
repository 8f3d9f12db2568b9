import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP re-reads the configuration file: what can change at run time applies at once, the rest is named as
/// waiting for a restart, and a bad file is refused with the running configuration kept.
public struct ConfigurationReloader: Service {
    let path: String?
    let configuration: LiveConfiguration
    /// The command line's flags, applied over the file at every reload as they were at start.
    let overrides: @Sendable (inout ServiceConfiguration) -> Void
    let outbox: Outbox
    let journal: InstanceJournal
    let assembler: SessionAssembler
    let planning: SessionPlanning
    let notifier: SystemdNotifier
    let status: ServiceStatus
    let logger: Logger

    public func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            reload()
        }
    }

    public func reload() {
        guard let path else {
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
        let old = configuration.current
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
        configuration.replace(with: applied)
        outbox.update(settings: Outbox.Settings(applied))
        journal.update(minimumFreeBytes: UInt64(applied.sessions.minFreeMB) << 20)
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
