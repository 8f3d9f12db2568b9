import SpinePlanGeometry

/// Why the virtual scanner could not synthesise a session.
public struct ScannerError: DomainError, Equatable {
    /// The kinds of failure; callers map the usage kinds to exit code 2.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// An option is out of range (count, output directory, seed).
        case invalidArgument
        /// The `--from-volume` file does not exist.
        case volumeNotFound
        /// The volume exists but is not a NIfTI-1 file this reader understands.
        case volumeUnreadable
        /// The references file is missing or not valid JSON of the expected shape.
        case referencesUnreadable
        /// The references do not describe this volume (no such case, or points outside its grid).
        case referencesMismatch
        /// The requested localizer geometry cannot be acquired or cannot cover the spine.
        case impossibleGeometry
        /// Writing DICOM, JSON or arrays to the output directory failed.
        case writeFailed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// True when the caller passed bad arguments (exit code 2) rather than the work failing (exit code 1).
    public var isUsageError: Bool { code != .writeFailed }

    public var description: String { "\(code.rawValue): \(message)" }
}
