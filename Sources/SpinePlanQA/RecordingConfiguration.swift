import SpinePlanService
/// Whether and where sessions are recorded, and how long recordings are kept. Recording is off unless a directory is set.
public struct RecordingConfiguration: Sendable, Equatable {
    /// Root folder, e.g. `/var/lib/spineplan/recordings`; nil turns recording off.
    public var directory: String?
    /// Recordings older than this are deleted; nil keeps them regardless of age.
    public var maxAgeSeconds: Double?
    /// The oldest recordings are deleted while all of them together are larger than this; nil means no size limit.
    public var maxTotalBytes: Int?

    public init(directory: String? = nil, maxAgeSeconds: Double? = 30 * 86_400, maxTotalBytes: Int? = 2 << 30) {
        self.directory = directory
        self.maxAgeSeconds = maxAgeSeconds
        self.maxTotalBytes = maxTotalBytes
    }

    /// Recording off.
    public static let off = RecordingConfiguration()
}
