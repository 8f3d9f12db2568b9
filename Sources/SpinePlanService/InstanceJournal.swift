import Foundation
import Logging
import SpinePlanDICOM
import Synchronization

/// Acknowledged means kept: every instance is written to the state directory before it is acknowledged with 0x0000,
/// and stays there until its session's results are in the outbox; a restart plans what it finds.
///
/// Each instance is written (mode 0600, temporary file then rename) before its C-STORE response, so a kill -9 at any
/// point keeps it; the file system is synced once per association, at its release, rather than once per slice. A full
/// disk refuses the slice with 0xA700 and a "disk full" log line, and slices are taken again once space returns.
public final class InstanceJournal: InstanceSink {
    public let directory: String
    private let next: InstanceInbox
    private let logger: Logger
    private struct State {
        var sequence: UInt64 = 0
        /// Journal files by SOP Instance UID.
        var files: [String: [String]] = [:]
        var diskFull = false
        /// Written since the last `sync()`.
        var unsynced: [String] = []
        /// Bytes kept free below which a write is not attempted (`sessions.min_free_mb`).
        var minimumFree: UInt64
    }
    private let state: Mutex<State>
    private static let magic = Array("SPINEPLAN-JOURNAL-1\n".utf8)

    public init(directory: String, next: InstanceInbox, minimumFreeBytes: UInt64, logger: Logger) throws(DaemonError) {
        state = Mutex(State(minimumFree: minimumFreeBytes))
        self.directory = directory
        self.next = next
        self.logger = logger
        do {
            try DurableFile.makeDirectory(directory)
        } catch {
            throw DaemonError(.stateDirectory, "inbox journal: \(error.message)")
        }
    }

    /// Journals the instance, then hands it on; a refusal from the next stage removes it again.
    public func accept(_ instance: ReceivedInstance) -> StoreVerdict {
        let path: String
        do {
            path = try write(instance)
        } catch {
            // The DICOM edge logs the refusal (rate-limited per peer); the disk's state is logged here, once a change.
            return .refused(status: DIMSEStatus.outOfResources, reason: error.diskFull ? "SpinePlan disk full: retry later"
                                                                                       : "SpinePlan cannot store: retry later")
        }
        let verdict = next.accept(instance)
        if verdict != .stored {
            unlink(path)
        } else {
            state.withLock { s in
                s.files[instance.sopInstanceUID, default: []].append(path)
                s.unsynced.append(path)
            }
        }
        return verdict
    }

    /// Syncs what was written to stable storage, files then directory; the daemon calls it at each association's
    /// release, so the cost is one batch per localizer rather than one fsync per slice.
    public func sync() {
        let paths = state.withLock { s in defer { s.unsynced = [] }; return s.unsynced }
        guard !paths.isEmpty else { return }
        for path in paths {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }  // forgotten meanwhile
            fsync(fd)
            close(fd)
        }
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Removes the instances whose results are safely in the outbox (or that can never give one).
    public func forget(sopInstanceUIDs: some Sequence<String>) {
        let paths = state.withLock { s in sopInstanceUIDs.flatMap { s.files.removeValue(forKey: $0) ?? [] } }
        for path in paths { unlink(path) }
    }

    /// Applies a reloaded `sessions.min_free_mb`.
    public func update(minimumFreeBytes: UInt64) { state.withLock { $0.minimumFree = minimumFreeBytes } }

    public var minimumFreeBytes: UInt64 { state.withLock { $0.minimumFree } }

    /// Instances journaled and not yet forgotten.
    public var depth: Int { state.withLock { $0.files.values.reduce(0) { $0 + $1.count } } }

    /// Whether the last write found the disk full.
    public var diskFull: Bool { state.withLock { $0.diskFull } }

    /// What an earlier run acknowledged and did not finish, in arrival order; unreadable entries are set aside
    /// (renamed `.unreadable`) and logged, never dropped silently.
    public func recover() -> [ReceivedInstance] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        var recovered: [ReceivedInstance] = []
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            if name.hasSuffix(".tmp") {
                unlink(path)  // never acknowledged: the rename had not happened
                continue
            }
            guard name.hasSuffix(".instance") else { continue }
            do {
                let instance = try Self.read(path)
                recovered.append(instance)
                state.withLock { s in
                    s.files[instance.sopInstanceUID, default: []].append(path)
                    if let n = UInt64(name.prefix(16), radix: 16) { s.sequence = max(s.sequence, n + 1) }
                }
            } catch {
                rename(path, path + ".unreadable")
                logger.error("journaled instance unreadable; set aside", metadata: ["file": "\(name)", "reason": "\(error.message)"])
            }
        }
        return recovered
    }

    private struct WriteError: Error {
        var diskFull: Bool
        var message: String
    }

    private func write(_ instance: ReceivedInstance) throws(WriteError) -> String {
        let header = Header(associationID: instance.associationID, callingAETitle: instance.callingAETitle,
                            peerAddress: instance.peerAddress, sopClassUID: instance.sopClassUID,
                            sopInstanceUID: instance.sopInstanceUID, transferSyntaxUID: instance.transferSyntaxUID)
        let json = (try? JSONEncoder().encode(header)).map(Array.init) ?? []
        let bytes = Self.magic + json + [0x0A] + instance.datasetBytes
        let (sequence, reserve) = state.withLock { s in defer { s.sequence += 1 }; return (s.sequence, s.minimumFree) }
        let path = (directory as NSString).appendingPathComponent(String(format: "%016llx.instance", sequence))
        let failure: Int32?
        if DurableFile.freeBytes(in: directory).map({ $0 < UInt64(bytes.count) + reserve }) ?? false {
            failure = ENOSPC
        } else {
            failure = DurableFile.writeUnsynced(bytes, to: path)
        }
        let full = failure == ENOSPC || failure == EDQUOT
        let changed: Bool = state.withLock { s in
            defer { s.diskFull = full }
            return s.diskFull != full
        }
        if changed {
            if full {
                logger.critical("disk full: refusing new slices (0xA700) until space returns; nothing acknowledged is lost",
                                metadata: ["directory": "\(directory)"])
            } else {
                logger.notice("disk space is back: taking slices again", metadata: ["directory": "\(directory)"])
            }
        }
        if let failure {
            throw WriteError(diskFull: full, message: DurableFile.describe(failure))
        }
        return path
    }

    /// What is needed to hand a journaled dataset on again as it was received.
    private struct Header: Codable {
        var associationID: UInt64
        var callingAETitle: String
        var peerAddress: String
        var sopClassUID: String
        var sopInstanceUID: String
        var transferSyntaxUID: String
    }

    private struct ReadError: Error {
        var message: String
    }

    private static func read(_ path: String) throws(ReadError) -> ReceivedInstance {
        guard let data = FileManager.default.contents(atPath: path) else { throw ReadError(message: "cannot read") }
        let bytes = [UInt8](data)
        guard bytes.starts(with: magic), let newline = bytes[magic.count...].firstIndex(of: 0x0A) else {
            throw ReadError(message: "not a journal entry")
        }
        guard let header = try? JSONDecoder().decode(Header.self, from: Data(bytes[magic.count..<newline])) else {
            throw ReadError(message: "bad header")
        }
        let dataset = Array(bytes[(newline + 1)...])
        let slices: [Slice]
        do {
            let object = try DICOMObject(datasetBytes: dataset, transferSyntax: header.transferSyntaxUID)
            slices = try SliceDecoder.slices(from: object)
        } catch {
            throw ReadError(message: error.message)
        }
        // Association IDs restart at each run; recovered ones live in the top half so they never meet a new one.
        return ReceivedInstance(associationID: header.associationID | (1 << 63), callingAETitle: header.callingAETitle,
                                peerAddress: header.peerAddress, sopClassUID: header.sopClassUID,
                                sopInstanceUID: header.sopInstanceUID, transferSyntaxUID: header.transferSyntaxUID,
                                datasetBytes: dataset, slices: slices)
    }
}
