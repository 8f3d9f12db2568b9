import ServiceLifecycle

/// Pets systemd's watchdog while the loops turn and no plan is stuck, so a wedged pipeline gets us restarted.
struct Watchdog: Service {
    let notifier: SystemdNotifier
    let status: ServiceStatus

    func run() async throws {
        guard let interval = notifier.watchdogInterval else {
            try? await gracefulShutdown()
            return
        }
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if status.isHealthy(limit: interval) { notifier.watchdog() }
                try await Task.sleep(for: interval / 2)
            }
        }
    }
}
