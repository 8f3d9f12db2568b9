/// Limits and policy of the receiving side.
public struct StorageSCPConfiguration: Sendable, Equatable {
    public var aeTitle = "SPINEPLAN"
    public var bindAddress = "127.0.0.1"
    /// 0 picks a free port.
    public var port = 11112
    /// A listening socket handed over by systemd (socket activation), or nil to bind one.
    public var listenFileDescriptor: Int32?
    /// How long a connected peer has to send its A-ASSOCIATE-RQ; also the limit on a stalled negotiation.
    public var acseTimeoutSeconds = 5
    /// How long an established association may stay silent before it is aborted.
    public var dimseTimeoutSeconds = 30
    public var maxPDU: UInt32 = 65536
    public var maxAssociations = 8
    public var maxDatasetBytes: UInt64 = 256 << 20
    /// Empty means any calling AE title is accepted.
    public var allowedCallingAETitles: [String] = []
    /// Empty means any peer address is accepted.
    public var allowedPeerAddresses: [String] = []
    /// Also accept Comprehensive 3D SR and Secondary Capture instances, which arrive with no slices. Off for the
    /// daemon's intake (anything else is refused at negotiation); on for a console that receives SpinePlan's results.
    public var acceptsResults = false

    public init() {}
}
