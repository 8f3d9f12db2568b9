import SpinePlanGeometry

/// Why the daemon could not start.
public struct DaemonError: DomainError {
    /// What kind of failure this is.
    public enum Code: Sendable, Equatable { case listen, stateDirectory, model, configuration }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

}
