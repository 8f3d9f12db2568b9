import Logging
import Synchronization

/// A log handler that keeps every line (`level message key=value ...`), for tests that check what was logged.
package final class CapturedLog: LogHandler, Sendable {
    private struct State {
        var lines: [String] = []
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
    }

    private let state = Mutex(State())

    package init() {}

    package var metadata: Logger.Metadata {
        get { state.withLock { $0.metadata } }
        set { state.withLock { $0.metadata = newValue } }
    }

    package var logLevel: Logger.Level {
        get { state.withLock { $0.logLevel } }
        set { state.withLock { $0.logLevel = newValue } }
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        let meta = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        state.withLock { $0.lines.append("\(event.level) \(event.message) \(meta)") }
    }

    package var all: [String] { state.withLock { $0.lines } }

    package var logger: Logger {
        let handler = self
        return Logger(label: "captured") { _ in handler }
    }
}
