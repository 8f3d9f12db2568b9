/// One instance received over C-STORE, decoded and ready for the next stage.
public struct ReceivedInstance: Sendable {
    public var associationID: UInt64
    public var callingAETitle: String
    public var peerAddress: String
    public var sopClassUID: String
    public var sopInstanceUID: String
    public var transferSyntaxUID: String
    /// The dataset exactly as it came off the wire, for recording.
    public var datasetBytes: [UInt8]
    public var slices: [Slice]

    public init(associationID: UInt64, callingAETitle: String, peerAddress: String, sopClassUID: String,
                sopInstanceUID: String, transferSyntaxUID: String, datasetBytes: [UInt8], slices: [Slice]) {
        self.associationID = associationID
        self.callingAETitle = callingAETitle
        self.peerAddress = peerAddress
        self.sopClassUID = sopClassUID
        self.sopInstanceUID = sopInstanceUID
        self.transferSyntaxUID = transferSyntaxUID
        self.datasetBytes = datasetBytes
        self.slices = slices
    }
}

/// What the next stage says about an instance handed to it; the C-STORE response follows from it.
public enum StoreVerdict: Sendable, Equatable {
    case stored
    /// Refused with a DIMSE status (e.g. 0xA700 out of resources) and a short reason for the peer.
    case refused(status: UInt16, reason: String)
}

/// The stage that takes received instances. `accept` runs on the association's thread and must not block long.
public protocol InstanceSink: Sendable {
    func accept(_ instance: ReceivedInstance) -> StoreVerdict
}

/// What happened to an association, for logs and session triggers.
public struct AssociationEvent: Sendable {
    /// The kind of event.
    public enum Kind: Sendable, Equatable { case accepted, rejected, released, aborted, echo, idleDropped, failed }

    public var kind: Kind
    public var associationID: UInt64
    public var callingAETitle: String
    public var calledAETitle: String
    public var peerAddress: String
    public var detail: String
}

/// DIMSE status codes SpinePlan sends.
public enum DIMSEStatus {
    public static let success: UInt16 = 0x0000
    public static let outOfResources: UInt16 = 0xA700
    public static let dataSetDoesNotMatchSOPClass: UInt16 = 0xA900
    public static let cannotUnderstand: UInt16 = 0xC000
    // PS3.4 B.2.3 leaves the low bits of Cxxx ("cannot understand") to the implementation: one code per kind of
    // refused geometry, so a console log that keeps only the status still says what was wrong.
    /// Image Position/Orientation, Pixel Spacing, Slice Thickness or Spacing Between Slices is NaN or infinite.
    public static let geometryNotFinite: UInt16 = 0xC001
    /// Pixel Spacing or Slice Thickness outside what an MR image can have.
    public static let geometryOutOfRange: UInt16 = 0xC002
    /// Image Orientation (Patient) is not two orthonormal directions.
    public static let orientationNotOrthonormal: UInt16 = 0xC003

    /// The C-STORE status for a dataset `SliceDecoder` refused.
    public static func refusing(_ error: DICOMError) -> UInt16 {
        switch error.code {
        // A CT inside an MR object is, word for word, a data set that does not match its SOP class.
        case .unsupported, .wrongModality: dataSetDoesNotMatchSOPClass
        case .nonFinite: geometryNotFinite
        case .outOfRange: geometryOutOfRange
        case .notOrthonormal: orientationNotOrthonormal
        case .tooLarge: outOfResources
        default: cannotUnderstand
        }
    }
}
