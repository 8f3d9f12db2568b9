import SpinePlanGeometry

/// Why a model could not be loaded or run.
public struct ModelError: DomainError {
    /// What kind of failure this is.
    public enum Code: Sendable, Equatable {
        case missingFile, truncatedFile, malformedHeader, mismatchedTensor, unsupportedArchitecture, engineFailure, badInput
        /// The requested precision cannot run on this CPU (bf16 without AVX512-BF16 or AMX).
        case unsupportedPrecision
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

}
