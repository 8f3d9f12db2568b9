import Foundation
import Logging
import SpinePlanDICOM
import SpinePlanPlanner
import Synchronization
import SpinePlanService

/// Records sessions for QA replay, one folder per session under the configured root, and applies retention.
///
/// Recording never fails the caller: every write error turns into a logged warning and that session's recording is
/// dropped. Logs carry folder names and AE titles only, never patient or study identity.
public final class SessionRecorder: Sendable {
    public let configuration: RecordingConfiguration
    let disk: any RecordingDisk
    let logger: Logger
    /// Folders of sessions still being written, which retention must not delete under them.
    private let open = Mutex<Set<String>>([])

    public init(configuration: RecordingConfiguration, logger: Logger, disk: any RecordingDisk = POSIXRecordingDisk()) {
        self.configuration = configuration
        self.logger = logger
        self.disk = disk
    }

    public var isEnabled: Bool { configuration.directory != nil }

    /// Starts recording a session. With recording off (or the root unusable) the handle does nothing.
    public func begin(sessionID: String, callingAE: String, calledAE: String, startedAt: Date = Date()) -> RecordingSession {
        guard let root = configuration.directory else { return RecordingSession(inert: ()) }
        let stamp = UTCTimestamp.compact(startedAt.timeIntervalSince1970)
        let short = String(sessionID.filter { $0.isASCII && ($0.isLetter || $0.isNumber) }.prefix(8))
        var name = "\(stamp)-\(short.isEmpty ? "session" : short)"
        do throws(RecordingError) {
            try makeRoot(root)
            name = open.withLock { set in
                var candidate = name, n = 2
                while set.contains(candidate) || FileManager.default.fileExists(atPath: root + "/" + candidate) {
                    candidate = "\(name)-\(n)"; n += 1
                }
                set.insert(candidate)
                return candidate
            }
            let directory = root + "/" + name
            try disk.makeDirectory(directory)
            try disk.makeDirectory(directory + "/instances")
        } catch {
            logger.warning("recording disabled for this session", metadata: ["recording": "\(name)", "error": "\(error.message)"])
            _ = open.withLock { $0.remove(name) }
            return RecordingSession(inert: ())
        }
        logger.debug("recording session", metadata: ["recording": "\(name)"])
        return RecordingSession(recorder: self, directory: root + "/" + name, name: name, sessionID: sessionID,
                                callingAE: callingAE, calledAE: calledAE, startedAt: startedAt)
    }

    /// Begins a recording and stores a whole assembled session at once, with its arrival offsets.
    public func begin(snapshot: LocalizerSnapshot, calledAE: String, startedAt: Date) -> RecordingSession {
        let session = begin(sessionID: snapshot.sessionID, callingAE: snapshot.callingAETitle, calledAE: calledAE, startedAt: startedAt)
        for (i, instance) in snapshot.instances.enumerated() {
            session.record(instance: instance, arrivalOffset: i < snapshot.arrivalOffsets.count ? snapshot.arrivalOffsets[i] : nil)
        }
        return session
    }

    private func makeRoot(_ root: String) throws(RecordingError) {
        var path = root.hasPrefix("/") ? "" : "."
        for component in root.split(separator: "/") {
            path += "/" + component
            var st = stat()
            if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { continue }
            try disk.makeDirectory(path)
        }
    }

    func closed(_ name: String) {
        _ = open.withLock { $0.remove(name) }
    }

    /// Deletes recordings past the age limit, then the oldest while the total is above the size limit.
    /// Sessions still being written, and `sparing`, are never deleted. Returns the folder names removed.
    @discardableResult
    public func applyRetention(now: Date = Date(), sparing: Set<String> = []) -> [String] {
        guard let root = configuration.directory else { return [] }
        let busy = open.withLock { $0 }.union(sparing)
        var folders: [(name: String, time: Double, bytes: Int)] = []
        for name in POSIXRecordingDisk.entries(root) where !busy.contains(name) {
            let path = root + "/" + name
            var st = stat()
            guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { continue }
            // Only folders that look like recordings: a stamp in the name, or a manifest inside.
            let stamped = UTCTimestamp.parseCompact(name)
            guard stamped != nil || FileManager.default.fileExists(atPath: path + "/manifest.json") else { continue }
            folders.append((name, stamped ?? Double(st.st_mtim.tv_sec), Self.treeSize(path)))
        }
        folders.sort { $0.time == $1.time ? $0.name < $1.name : $0.time < $1.time }
        var removed: [String] = []
        var kept: [(name: String, time: Double, bytes: Int)] = []
        for f in folders {
            if let maxAge = configuration.maxAgeSeconds, now.timeIntervalSince1970 - f.time > maxAge {
                delete(root, f.name, reason: "age", bytes: f.bytes)
                removed.append(f.name)
            } else {
                kept.append(f)
            }
        }
        if let maxBytes = configuration.maxTotalBytes {
            var total = kept.reduce(0) { $0 + $1.bytes } + busy.reduce(0) { $0 + Self.treeSize(root + "/" + $1) }
            for f in kept where total > maxBytes {
                delete(root, f.name, reason: "size", bytes: f.bytes)
                removed.append(f.name)
                total -= f.bytes
            }
        }
        return removed
    }

    private func delete(_ root: String, _ name: String, reason: String, bytes: Int) {
        disk.removeTree(root + "/" + name)
        logger.notice("recording deleted by retention", metadata: ["recording": "\(name)", "reason": "\(reason)", "bytes": "\(bytes)"])
    }

    /// Bytes in regular files under `path`.
    static func treeSize(_ path: String) -> Int {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            return POSIXRecordingDisk.entries(path).reduce(0) { $0 + treeSize(path + "/" + $1) }
        }
        return (st.st_mode & S_IFMT) == S_IFREG ? Int(st.st_size) : 0
    }
}
