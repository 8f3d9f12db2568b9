/// The one error pattern of every SpinePlan domain: a code callers switch on, and a message a person can act on.
///
/// Each domain (DICOM, model, daemon, outbox, recording, scanner) has exactly one such struct; its message says what
/// failed and where, so the one place that handles it can log it once, as it is.
public protocol DomainError: Error, Sendable, CustomStringConvertible {
    associatedtype Code: Sendable, Equatable
    var code: Code { get }
    var message: String { get }
    init(_ code: Code, _ message: String)
}

extension DomainError {
    public var description: String { message }
}
