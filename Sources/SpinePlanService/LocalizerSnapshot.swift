import SpinePlanDICOM
import SpinePlanGeometry

/// What starts planning a session.
public enum SessionTrigger: String, Sendable {
    /// The association that carried the series was released.
    case associationReleased = "release"
    /// Every series reached its ImagesInAcquisition.
    case imageCount = "count"
    /// No slice arrived for the idle timeout.
    case idle
    /// Offline: a folder or a recording was handed over whole.
    case offline
}

/// A localizer session as it stood when planning was triggered.
public struct LocalizerSnapshot: Sendable {
    public var sessionID: String
    /// 1 for the first plan of a session; later slices start a fresh plan with the next generation.
    public var generation: Int
    public var trigger: SessionTrigger
    public var callingAETitle: String
    public var peerAddress: String
    /// Instances exactly as received, in arrival order, with seconds since the session's first arrival.
    public var instances: [ReceivedInstance]
    public var arrivalOffsets: [Double]
    /// Every distinct slice (the newest copy of a re-sent one).
    public var slices: [Slice]

    public init(sessionID: String, generation: Int, trigger: SessionTrigger, callingAETitle: String, peerAddress: String,
                instances: [ReceivedInstance], arrivalOffsets: [Double], slices: [Slice]) {
        self.sessionID = sessionID
        self.generation = generation
        self.trigger = trigger
        self.callingAETitle = callingAETitle
        self.peerAddress = peerAddress
        self.instances = instances
        self.arrivalOffsets = arrivalOffsets
        self.slices = slices
    }

    /// Slices of one orientation; for sagittal, only the most recent sagittal series when there are several.
    public func stack(_ orientation: PlaneOrientation) -> [Slice] {
        let matching = slices.filter { $0.plane.orientation == orientation }
        guard let newest = matching.last?.seriesInstanceUID else { return [] }
        return matching.filter { $0.seriesInstanceUID == newest }
    }
}
