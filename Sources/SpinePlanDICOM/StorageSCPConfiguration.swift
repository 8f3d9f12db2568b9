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
    /// The largest image taken as a localizer slice; larger ones are refused at C-STORE (0xA700).
    public var sliceLimits = SliceLimits()
    /// Empty means any calling AE title is accepted.
    public var allowedCallingAETitles: [String] = []
    /// Empty means any peer address is accepted.
    public var allowedPeerAddresses: [String] = []
    /// Also accept Comprehensive 3D SR and Secondary Capture instances, which arrive with no slices. Off for the
    /// daemon's intake (anything else is refused at negotiation); on for a console that receives SpinePlan's results.
    public var acceptsResults = false
    /// DICOM TLS on this port; nil serves plain TCP.
    public var tls: TLS?

    /// A server certificate and key (PEM), and who may connect.
    public struct TLS: Sendable, Equatable {
        public var certificateFile: String
        public var privateKeyFile: String
        /// When set, every client must present a certificate this CA signed.
        public var trustedCAFile: String?
        /// When not empty, the client certificate's SHA-256 fingerprint must be one of these (hex, any case,
        /// colons allowed).
        public var allowedClientSHA256: [String]

        public init(certificateFile: String, privateKeyFile: String, trustedCAFile: String? = nil,
                    allowedClientSHA256: [String] = []) {
            self.certificateFile = certificateFile
            self.privateKeyFile = privateKeyFile
            self.trustedCAFile = trustedCAFile
            self.allowedClientSHA256 = allowedClientSHA256
        }

        /// The fingerprints as the shim compares them: lowercase hex without separators.
        var normalisedFingerprints: [String] {
            allowedClientSHA256.map { $0.lowercased().filter { $0.isHexDigit } }
        }
    }

    public init() {}
}
