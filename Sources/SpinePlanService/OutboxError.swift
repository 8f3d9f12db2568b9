import SpinePlanGeometry

/// Why the outbox could not take or keep a result.
public struct OutboxError: DomainError {
    /// What kind of failure this is.
    public enum Code: Sendable, Equatable { case directory, write, diskFull }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

}
