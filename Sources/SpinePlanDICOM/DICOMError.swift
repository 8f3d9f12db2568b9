import CDCMTK
import SpinePlanGeometry

/// A failure in the DICOM edge: a code callers can switch on, and a message a person can act on.
public struct DICOMError: DomainError, Equatable {
    /// What kind of failure this is.
    public enum Code: Sendable, Equatable {
        case invalidArgument, parse, io, notFound, network, rejected, timeout, noPresentationContext, internalFailure
        case missingAttribute, unsupported, refusedStatus(UInt16)
        /// A received object's content that SpinePlan refuses at C-STORE: not finite, out of the plausible range,
        /// an orientation that is not two orthonormal directions, or a Modality other than MR.
        case nonFinite, outOfRange, notOrthonormal, wrongModality
        /// An image larger than a localizer can be (`SliceLimits`).
        case tooLarge
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }


    init(_ error: spdcm_error) {
        let message = withUnsafeBytes(of: error.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let code: Code = switch Int(error.code) {
        case Int(SPDCM_E_INVALID_ARGUMENT): .invalidArgument
        case Int(SPDCM_E_PARSE): .parse
        case Int(SPDCM_E_IO): .io
        case Int(SPDCM_E_NOT_FOUND): .notFound
        case Int(SPDCM_E_NETWORK): .network
        case Int(SPDCM_E_REJECTED): .rejected
        case Int(SPDCM_E_TIMEOUT): .timeout
        case Int(SPDCM_E_NO_CONTEXT): .noPresentationContext
        default: .internalFailure
        }
        self.init(code, message)
    }
}
