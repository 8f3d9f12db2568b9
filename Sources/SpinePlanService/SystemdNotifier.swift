import CSystemd
import Foundation

/// Tells systemd about the service's state through `sd_notify` (Type=notify). Without NOTIFY_SOCKET it does nothing.
public struct SystemdNotifier: Sendable {
    public init() {}

    /// Whether a supervisor is listening (NOTIFY_SOCKET is set).
    public var isSupervised: Bool { ProcessInfo.processInfo.environment["NOTIFY_SOCKET"] != nil }

    /// READY=1 with a status line: call only once the port is open (and, later, the model is loaded).
    public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }
    public func status(_ text: String) { send("STATUS=\(text)") }
    public func stopping() { send("STOPPING=1\nSTATUS=stopping") }
    public func reloading() { send("RELOADING=1") }
    public func watchdog() { send("WATCHDOG=1") }

    /// The watchdog interval systemd asked for (WATCHDOG_USEC), if any.
    public var watchdogInterval: Duration? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return .microseconds(Int64(usec))
    }

    func send(_ state: String) {
        guard isSupervised else { return }
        _ = sd_notify(0, state)
    }
}
