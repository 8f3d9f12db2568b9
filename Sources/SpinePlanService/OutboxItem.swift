import Foundation
import SpinePlanDICOM

/// One result waiting in the outbox: its DICOM file sits next to this record as `<id>.dcm`.
public struct OutboxItem: Sendable, Codable, Equatable {
    public var id: String
    public var sessionID: String
    /// `sr` or `overlay`.
    public var kind: String
    public var destination: DICOMPeer
    public var created: Date
    public var expires: Date
    public var attempts: Int
    public var nextAttempt: Date
    public var lastError: String?

    enum CodingKeys: String, CodingKey {
        case id
        case sessionID = "session_id"
        case kind, destination, created, expires, attempts
        case nextAttempt = "next_attempt"
        case lastError = "last_error"
    }
}
