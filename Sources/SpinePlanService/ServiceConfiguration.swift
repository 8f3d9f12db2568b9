import Foundation
import SpinePlanDICOM
import SpinePlanGeometry

/// Everything `spineplan serve` can be told: the YAML file's sections, with the embedded defaults.
public struct ServiceConfiguration: Sendable, Equatable {
    /// `network:` the DICOM listener.
    public struct Network: Sendable, Equatable {
        public var aeTitle = "SPINEPLAN"
        public var port = 11112
        public var bind = "127.0.0.1"
        public var acseTimeoutSeconds = 5
        public var dimseTimeoutSeconds = 30
        public var maxAssociations = 8
        public var maxPDU: UInt32 = 65536
        public var maxDatasetMB = 256
        /// Rows and Columns of a slice may each be at most this (`SliceLimits.maxMatrix`).
        public var maxMatrix = 1024
        /// Pixels of one object, frames included, in millions (`SliceLimits.maxMegapixels`).
        public var maxMegapixels = 32
        public var allowedCallingAETitles: [String] = []
        public var allowedPeers: [String] = []
        /// `network.tls`: DICOM TLS on the port instead of plain TCP.
        public var tls: StorageSCPConfiguration.TLS?
    }

    /// `sessions:` when a localizer counts as complete.
    public struct Sessions: Sendable, Equatable {
        /// Seconds without a new slice after which an open session is planned anyway.
        public var idleTimeoutSeconds = 5.0
        /// Received instances waiting for the intake loop before new ones are refused (0xA700). Fixed at start.
        public var maxPendingSlices = 512
        /// Localizers waiting for the planning loop before new associations are rejected (A-ASSOCIATE-RJ, transient).
        public var maxQueuedSessions = 8
        /// MiB kept free on the state directory's file system: below it new slices are refused (0xA700, disk full),
        /// and the room left is for the results of slices already taken, which wait in memory only if that runs out.
        public var minFreeMB = 8
    }

    /// `protocol:` the oblique axial stacks to plan.
    public struct ScanProtocolSettings: Sendable, Equatable {
        public var discs = DiscLevel.lumbar
        public var fieldOfView: [Double] = [200, 200]
        public var slices = 5
        public var thickness = 4.0
        public var gap = 0.4
    }

    /// `model:` which weights and which arithmetic.
    public struct Model: Sendable, Equatable {
        /// `bundled` or a path to a `.safetensors` file with its `.json` sidecar next to it.
        public var path = "bundled"
        /// `auto`, `bf16` or `f32`.
        public var precision = "auto"
    }

    /// `report:` what is sent back.
    public struct Report: Sendable, Equatable {
        public var overlay = true
    }

    /// `outbox:` durable delivery of results.
    public struct Outbox: Sendable, Equatable {
        /// Relative paths are under `state_directory`.
        public var directory = "outbox"
        public var retryInitialSeconds = 2.0
        public var retryMaxSeconds = 300.0
        public var expiryHours = 24.0
        /// Seconds each step of a send may take (connect, negotiation, every C-STORE response) before the attempt
        /// is abandoned and retried. A busy console can take 10 s or more per C-STORE; a limit below that makes the
        /// outbox resend what the console already stored, so the default leaves room.
        public var sendTimeoutSeconds = 60
        /// Our calling AE title when we send results.
        public var callingAETitle = "SPINEPLAN"
    }

    /// `recording:` QA recordings of whole sessions (PHI: mode 0600, retention limits).
    public struct Recording: Sendable, Equatable {
        public var enabled = false
        public var directory = "recordings"
        public var maxAgeDays = 30.0
        public var maxTotalMB = 2048.0
    }

    /// `metrics:` Prometheus text format over HTTP at `/metrics`; off by default, loopback when on.
    public struct Metrics: Sendable, Equatable {
        public var enabled = false
        public var bind = "127.0.0.1"
        public var port = 9464
    }

    public var network = Network()
    /// `peers:` registered consoles; a result goes back to the entry of the AE that sent the localizer.
    public var peers: [DICOMPeer] = []
    /// `destination:` when set, every result goes here instead of to the sender.
    public var destination: DICOMPeer?
    public var sessions = Sessions()
    public var scanProtocol = ScanProtocolSettings()
    public var model = Model()
    public var report = Report()
    public var outbox = Outbox()
    public var recording = Recording()
    public var metrics = Metrics()
    /// `logging: level:` trace … critical.
    public var logLevel = "info"
    /// `state_directory:` where the outbox and recordings live; systemd's `$STATE_DIRECTORY` when unset.
    public var stateDirectory: String

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        stateDirectory = environment["STATE_DIRECTORY"].flatMap { $0.split(separator: ":").first.map(String.init) }
            ?? "spineplan-state"
    }

    /// A path from the file, resolved against the state directory when relative.
    public func statePath(_ path: String) -> String {
        path.hasPrefix("/") ? path : (stateDirectory as NSString).appendingPathComponent(path)
    }

    /// The listener settings for the DICOM edge.
    public var storageSCP: StorageSCPConfiguration {
        var c = StorageSCPConfiguration()
        c.aeTitle = network.aeTitle
        c.port = network.port
        c.bindAddress = network.bind
        c.acseTimeoutSeconds = network.acseTimeoutSeconds
        c.dimseTimeoutSeconds = network.dimseTimeoutSeconds
        c.maxAssociations = network.maxAssociations
        c.maxPDU = network.maxPDU
        c.maxDatasetBytes = UInt64(network.maxDatasetMB) << 20
        c.sliceLimits = SliceLimits(maxMatrix: network.maxMatrix, maxMegapixels: network.maxMegapixels)
        c.allowedCallingAETitles = network.allowedCallingAETitles
        c.allowedPeerAddresses = network.allowedPeers
        c.tls = network.tls
        return c
    }

    /// Where results for a localizer sent by `callingAETitle` go: the destination, else the sender's registered entry.
    public func returnPeer(forCallingAETitle callingAETitle: String) -> DICOMPeer? {
        destination ?? peers.first { $0.aeTitle == callingAETitle }
    }
}

extension Outbox.Settings {
    /// The outbox's policy as configured under `outbox:`.
    package init(_ c: ServiceConfiguration) {
        self.init(retryInitialSeconds: c.outbox.retryInitialSeconds, retryMaxSeconds: c.outbox.retryMaxSeconds,
                  expirySeconds: c.outbox.expiryHours * 3600, callingAETitle: c.outbox.callingAETitle,
                  timeoutSeconds: c.outbox.sendTimeoutSeconds)
        minimumFreeBytes = UInt64(c.sessions.minFreeMB) << 20
    }
}
