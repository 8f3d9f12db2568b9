import SpinePlanService
import SpinePlanGeometry

/// A recording that cannot be used: which way it is broken, and a message naming the file at fault.
public struct RecordingError: DomainError, Equatable {
    /// How the recording is broken; corrupt, incomplete and checksum failures are kept apart on purpose.
    public enum Code: Sendable, Equatable {
        /// No such directory, or it cannot be read.
        case notFound
        /// The manifest is missing while instance files exist, or a listed file is missing or shorter/longer than recorded.
        case incomplete
        /// A file's SHA-256 differs from the manifest's.
        case checksumMismatch
        /// The manifest or a file cannot be parsed, or the manifest contradicts itself.
        case corrupt
        /// Writing failed (export, de-identification).
        case io
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

}
