import Synchronization

/// The configuration the daemon runs on now: read by every service, replaced only by a reload.
public final class LiveConfiguration: Sendable {
    private let value: Mutex<ServiceConfiguration>

    init(_ configuration: ServiceConfiguration) { value = Mutex(configuration) }

    public var current: ServiceConfiguration { value.withLock { $0 } }

    func replace(with configuration: ServiceConfiguration) { value.withLock { $0 = configuration } }
}
