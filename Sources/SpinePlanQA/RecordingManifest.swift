import SpinePlanService
/// `manifest.json` of one recorded session: what was received, what was sent back, and a SHA-256 per file.
public struct RecordingManifest: Sendable, Codable, Equatable {
    /// The format name written into every manifest, so a stray JSON file is not mistaken for a recording.
    public static let formatName = "spineplan-recording"
    public static let currentVersion = 1

    /// One received instance, stored as a Part 10 file whose dataset bytes are the ones that came off the wire.
    public struct Instance: Sendable, Codable, Equatable {
        /// Relative path, e.g. `instances/0001.dcm`.
        public var file: String
        public var sopClassUID: String
        public var sopInstanceUID: String
        public var transferSyntaxUID: String
        /// Seconds since the first instance of the session arrived.
        public var arrivalSeconds: Double
        /// Which association of the session carried it: 1 for the first association, 2 for the next, and so on.
        public var association: Int
        /// Where the received dataset starts inside the file (after preamble and file meta) and how long it is.
        public var datasetOffset: Int
        public var datasetLength: Int
        /// SHA-256 of the dataset bytes alone: equal to the digest of `ReceivedInstance.datasetBytes`.
        public var datasetSHA256: String

        public init(file: String, sopClassUID: String, sopInstanceUID: String, transferSyntaxUID: String, arrivalSeconds: Double,
                    association: Int = 1, datasetOffset: Int, datasetLength: Int, datasetSHA256: String) {
            self.file = file
            self.sopClassUID = sopClassUID
            self.sopInstanceUID = sopInstanceUID
            self.transferSyntaxUID = transferSyntaxUID
            self.arrivalSeconds = arrivalSeconds
            self.association = association
            self.datasetOffset = datasetOffset
            self.datasetLength = datasetLength
            self.datasetSHA256 = datasetSHA256
        }

        enum CodingKeys: String, CodingKey {
            case file
            case sopClassUID = "sop_class_uid"
            case sopInstanceUID = "sop_instance_uid"
            case transferSyntaxUID = "transfer_syntax_uid"
            case arrivalSeconds = "arrival_s"
            case association
            case datasetOffset = "dataset_offset"
            case datasetLength = "dataset_length"
            case datasetSHA256 = "dataset_sha256"
        }
    }

    /// A file of the recording with its size and digest.
    public struct FileEntry: Sendable, Codable, Equatable {
        public var path: String
        public var bytes: Int
        public var sha256: String

        public init(path: String, bytes: Int, sha256: String) {
            self.path = path
            self.bytes = bytes
            self.sha256 = sha256
        }
    }

    public var format: String = RecordingManifest.formatName
    public var formatVersion: Int = RecordingManifest.currentVersion
    public var sessionID: String
    /// ISO 8601 UTC of the first instance's arrival.
    public var startedAt: String
    public var callingAETitle: String
    public var calledAETitle: String
    public var software: String
    public var model: String
    public var instances: [Instance]
    /// Relative paths of the results; nil when that result was not produced.
    public var plan: String?
    public var structuredReport: String?
    public var overlay: String?
    public var overlayPNG: String?
    /// Why planning produced no plan, when it did not.
    public var failure: String?
    /// Stage timings of the recorded run, in milliseconds.
    public var timingsMilliseconds: [String: Double]
    /// True once the whole session, results included, is on disk.
    public var complete: Bool
    /// True for exports with the PS3.15 Basic Application Level Confidentiality Profile applied.
    public var deidentified: Bool
    public var files: [FileEntry]

    public init(sessionID: String, startedAt: String, callingAETitle: String, calledAETitle: String, software: String, model: String,
                instances: [Instance], plan: String?, structuredReport: String?, overlay: String?, overlayPNG: String?,
                failure: String?, timingsMilliseconds: [String: Double], complete: Bool, deidentified: Bool, files: [FileEntry]) {
        self.sessionID = sessionID
        self.startedAt = startedAt
        self.callingAETitle = callingAETitle
        self.calledAETitle = calledAETitle
        self.software = software
        self.model = model
        self.instances = instances
        self.plan = plan
        self.structuredReport = structuredReport
        self.overlay = overlay
        self.overlayPNG = overlayPNG
        self.failure = failure
        self.timingsMilliseconds = timingsMilliseconds
        self.complete = complete
        self.deidentified = deidentified
        self.files = files
    }

    enum CodingKeys: String, CodingKey {
        case format
        case formatVersion = "format_version"
        case sessionID = "session_id"
        case startedAt = "started_at"
        case callingAETitle = "calling_ae"
        case calledAETitle = "called_ae"
        case software, model, instances, plan
        case structuredReport = "sr"
        case overlay
        case overlayPNG = "overlay_png"
        case failure
        case timingsMilliseconds = "timings_ms"
        case complete, deidentified, files
    }
}
