import Foundation

/// What `spineplan status` reads: the running daemon's state, rewritten about once a second into its state directory.
///
/// A file, not a socket: it needs no listener of its own, survives the admin's lack of access to the service's
/// sockets, and a stale one (dead pid, old `writtenAt`) already says "down". It holds no patient data.
public struct DaemonStatusReport: Codable, Sendable, Equatable {
    /// One finished session, as the admin sees it: when, how it ended, and how long it took.
    public struct Session: Codable, Sendable, Equatable {
        public var finishedAt: Date
        /// `planned`, `abstained` (planned, levels not named) or `failed`.
        public var outcome: String
        public var latencyMilliseconds: Double?
    }

    /// The last failure: when, and its message (safe to log: no PHI).
    public struct Failure: Codable, Sendable, Equatable {
        public var at: Date
        public var message: String
    }

    public static let fileName = "status.json"

    public var pid: Int32
    public var startedAt: Date
    public var writtenAt: Date
    /// The configuration file in use, or nil for the embedded defaults.
    public var configurationFile: String?
    public var listening: String
    public var model: String
    public var sessionsPlanned: Int
    public var sessionsAbstained: Int
    public var sessionsFailed: Int
    /// The last sessions, newest last.
    public var recent: [Session]
    public var outboxDepth: Int
    public var oldestOutboxItem: Date?
    public var lastError: Failure?

    /// Writes the report atomically (temporary file, then rename), so a reader never sees half of one.
    public func write(toDirectory directory: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = (directory as NSString).appendingPathComponent(Self.fileName)
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    public static func read(fromDirectory directory: String) throws -> DaemonStatusReport {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let path = (directory as NSString).appendingPathComponent(fileName)
        return try decoder.decode(DaemonStatusReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
