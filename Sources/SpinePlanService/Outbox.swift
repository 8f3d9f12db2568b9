import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import SpinePlanDICOM
import Synchronization

/// Durable delivery of results: each is on disk (fsync) before a send is tried, and stays there until a peer has
/// taken it or it expires, across outages, restarts, kill -9 and power cuts.
public final class Outbox: Service {
    /// Retry and expiry policy.
    public struct Settings: Sendable, Equatable {
        public var retryInitialSeconds: Double
        public var retryMaxSeconds: Double
        public var expirySeconds: Double
        public var callingAETitle: String
        /// Limit on each step of a send (connect, negotiation, each C-STORE response). A console slower than this
        /// gets the object again at the next attempt: delivery is at least once, and a resend carries the same SOP
        /// Instance UID (the object is re-read from its outbox file, never rebuilt) so the console can drop it.
        public var timeoutSeconds: Int
        /// Free bytes below which a failed write counts as a full disk (`sessions.min_free_mb`).
        public var minimumFreeBytes: UInt64 = 8 << 20

        public init(retryInitialSeconds: Double = 2, retryMaxSeconds: Double = 300, expirySeconds: Double = 86400,
                    callingAETitle: String = "SPINEPLAN", timeoutSeconds: Int = 60) {
            self.retryInitialSeconds = retryInitialSeconds
            self.retryMaxSeconds = retryMaxSeconds
            self.expirySeconds = expirySeconds
            self.callingAETitle = callingAETitle
            self.timeoutSeconds = timeoutSeconds
        }
    }

    private struct State {
        var items: [String: OutboxItem] = [:]
        var delivered = 0
        var expired = 0
        /// Send attempts that failed (one per association that delivered less than it tried), for the metrics.
        var sendFailures = 0
        var settings: Settings
    }

    public let directory: String
    private let state: Mutex<State>
    /// Wakes the delivery loop: on enqueue, and from its ticker when the next item falls due.
    private let due: AsyncStream<Void>
    private let dueContinuation: AsyncStream<Void>.Continuation
    private let logger: Logger

    /// Opens (or creates) the outbox and takes over whatever an earlier run left in it.
    public init(directory: String, settings: Settings, logger: Logger) throws(OutboxError) {
        self.directory = directory
        self.logger = logger
        self.state = Mutex(State(settings: settings))
        (due, dueContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        do {
            try DurableFile.makeDirectory(directory)
        } catch {
            throw OutboxError(.directory, error.message)
        }
        try recover()
    }

    /// Results waiting to be delivered.
    public var depth: Int { state.withLock { $0.items.count } }
    public var sendFailures: Int { state.withLock { $0.sendFailures } }
    public var deliveredCount: Int { state.withLock { $0.delivered } }
    public var expiredCount: Int { state.withLock { $0.expired } }
    public var pending: [OutboxItem] { state.withLock { Array($0.items.values) }.sorted { $0.created < $1.created } }

    /// Applies a reloaded policy; items already waiting keep their schedule.
    public func update(settings: Settings) { state.withLock { $0.settings = settings } }

    /// Writes the object durably and schedules it for immediate delivery. Returns once it is safe on disk.
    @discardableResult
    public func enqueue(_ object: DICOMObject, kind: String, sessionID: String, to peer: DICOMPeer) throws(OutboxError) -> OutboxItem {
        try enqueue([(object, kind)], sessionID: sessionID, to: peer)[0]
    }

    /// Writes a session's results durably, all of them before any is offered to the sender, so that a send (and a
    /// crash after it) never sees the SR without the overlay that follows it. Returns once all are safe on disk.
    ///
    /// Every file is written and renamed first and all are synced in one pass with one directory fsync (5 fsyncs
    /// for an SR and its overlay, where each file's own commit took 8): the sync stays before the send, because a
    /// result sent before it is durable could be planned and sent again after a kill -9 (its slices are journaled
    /// until the outbox holds it), and exactly once matters more than the milliseconds.
    @discardableResult
    ///
    /// `committed` runs once they are safe and before the sender can see them: the daemon forgets the journaled
    /// slices there. Forgotten after the wake-up, a kill -9 between a quick send attempt and the forget left both
    /// the results (sent again at the next start) and the slices (planned and sent once more).
    public func enqueue(_ results: [(object: DICOMObject, kind: String)], sessionID: String,
                        to peer: DICOMPeer, committed: () -> Void = {}) throws(OutboxError) -> [OutboxItem] {
        let now = Date()
        let expiry = state.withLock { $0.settings.expirySeconds }
        var items: [OutboxItem] = []
        do throws(OutboxError) {
            for (n, (object, kind)) in results.enumerated() {
                // Distinct creation times keep the SR ahead of its overlay in the sending order.
                let created = now.addingTimeInterval(Double(n) * 1e-3)
                let id = "\(Int(now.timeIntervalSince1970 * 1000))-\(UInt32.random(in: 0...UInt32.max))-\(kind)"
                let item = OutboxItem(id: id, sessionID: sessionID, kind: kind, destination: peer, created: created,
                                      expires: created.addingTimeInterval(expiry), attempts: 0, nextAttempt: now, lastError: nil)
                items.append(item)
                let dicomPath = path(item.id, "dcm")
                do {
                    try object.write(toFile: dicomPath + ".tmp")
                } catch {
                    unlink(dicomPath + ".tmp")
                    throw writeFailure("cannot write \(dicomPath).tmp: \(error.message)")
                }
                if let failure = DurableFile.publishUnsynced(temporary: dicomPath + ".tmp", to: dicomPath) {
                    throw writeFailure("cannot write \(dicomPath): \(DurableFile.describe(failure))")
                }
                // The record is written last: it is the commit point that recovery trusts.
                try persist(item, synced: false)
            }
            try makeDurable(items)
        } catch {
            // All or none: a session's results are queued together, so a retry never sends the SR twice.
            for item in items { remove(item) }
            throw error
        }
        committed()
        state.withLock { state in for item in items { state.items[item.id] = item } }
        dueContinuation.yield()
        return items
    }

    /// fsyncs the files of `items` and the outbox directory.
    private func makeDurable(_ items: [OutboxItem]) throws(OutboxError) {
        let paths = items.flatMap { [path($0.id, "dcm"), path($0.id, "json")] }
        if let failure = DurableFile.sync(paths, directory: directory) {
            throw writeFailure("cannot sync the outbox: \(DurableFile.describe(failure))")
        }
    }

    /// A write failure, told apart as a full disk when the file system has (nearly) no room left: DCMTK's stream
    /// errors do not say so themselves.
    private func writeFailure(_ message: String) -> OutboxError {
        let reserve = state.withLock { $0.settings.minimumFreeBytes }
        if let free = DurableFile.freeBytes(in: directory), free < max(reserve, 1 << 20) {
            return OutboxError(.diskFull, "disk full (\(free / 1024) KiB free in \(directory)): \(message)")
        }
        return OutboxError(.write, message)
    }

    /// Delivers until graceful shutdown or cancellation; run it once per outbox.
    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.deliverUntilCancelled() }
    }

    private func deliverUntilCancelled() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                // Wake when the next item falls due, and at least every second for expiry; never spin.
                while !Task.isCancelled {
                    dueContinuation.yield()
                    try? await Task.sleep(for: .milliseconds(Int64(max(0.05, min(secondsUntilNextDue, 1)) * 1000)))
                }
            }
            for await _ in due {
                if Task.isCancelled { break }
                await deliverDue()
            }
            group.cancelAll()
        }
    }

    private var secondsUntilNextDue: Double {
        let next = state.withLock { s in s.items.values.map(\.nextAttempt).min() }
        return next.map { max(0, $0.timeIntervalSince(Date())) } ?? 1
    }

    /// One pass: drops expired items, sends what is due (one association per destination), and returns the
    /// seconds until the next item falls due.
    @discardableResult
    public func deliverDue(now: Date = Date()) async -> Double {
        let (expired, due) = state.withLock { s -> ([OutboxItem], [OutboxItem]) in
            let expired = s.items.values.filter { $0.expires <= now }
            for item in expired { s.items[item.id] = nil }
            s.expired += expired.count
            return (expired, s.items.values.filter { $0.nextAttempt <= now }.sorted { $0.created < $1.created })
        }
        for item in expired {
            logger.error("result expired undelivered and was dropped", metadata: [
                "session": "\(item.sessionID)", "kind": "\(item.kind)", "destination": "\(item.destination)",
                "attempts": "\(item.attempts)", "last_error": "\(item.lastError ?? "-")"])
            remove(item)
        }
        let byPeer = Dictionary(grouping: due, by: \.destination)
        for (peer, items) in byPeer {
            await send(items, to: peer)
        }
        return secondsUntilNextDue
    }

    private func send(_ items: [OutboxItem], to peer: DICOMPeer) async {
        var objects: [DICOMObject] = []
        var sendable: [OutboxItem] = []
        for item in items {
            do {
                objects.append(try DICOMObject(contentsOfFile: path(item.id, "dcm")))
                sendable.append(item)
            } catch {
                logger.error("outbox file unreadable; dropped", metadata: ["item": "\(item.id)", "error": "\(error.message)"])
                state.withLock { $0.items[item.id] = nil }
                remove(item)
            }
        }
        guard !objects.isEmpty else { return }
        let settings = state.withLock { $0.settings }
        let scu = StorageSCU(callingAETitle: settings.callingAETitle, timeoutSeconds: settings.timeoutSeconds)
        let batch = objects
        let outcome: StorageSCU.Outcome = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: scu.storeEach(batch, to: peer)) }
        }
        // Each object counts on its own: what the peer acknowledged is never sent again.
        let delivered = sendable.indices.filter { outcome.delivered($0) }.map { sendable[$0] }
        let failed = sendable.indices.filter { !outcome.delivered($0) }.map { (sendable[$0], outcome.statuses[$0]) }
        if !delivered.isEmpty {
            state.withLock { s in
                for item in delivered { s.items[item.id] = nil }
                s.delivered += delivered.count
            }
            for item in delivered { remove(item) }
            logger.info("results delivered", metadata: ["destination": "\(peer)", "count": "\(delivered.count)",
                                                         "sessions": "\(Set(delivered.map(\.sessionID)).sorted().joined(separator: ","))"])
        }
        guard !failed.isEmpty else { return }
        let now = Date()
        var updated: [OutboxItem] = []
        state.withLock { s in
            s.sendFailures += 1
            for (original, status) in failed where s.items[original.id] != nil {
                var item = original
                item.attempts += 1
                let backoff = min(s.settings.retryMaxSeconds, s.settings.retryInitialSeconds * pow(2, Double(item.attempts - 1)))
                item.nextAttempt = now.addingTimeInterval(backoff)
                item.lastError = outcome.failure?.message
                    ?? "\(peer) answered C-STORE with status 0x\(String(status, radix: 16, uppercase: true))"
                s.items[item.id] = item
                updated.append(item)
            }
        }
        for item in updated {
            do {
                try persist(item)
            } catch {
                logger.error("cannot update outbox record", metadata: ["item": "\(item.id)", "error": "\(error.message)"])
            }
        }
        logger.warning("delivery failed; will retry", metadata: [
            "destination": "\(peer)", "count": "\(updated.count)", "error": "\(updated.first?.lastError ?? "-")",
            "attempts": "\(updated.map(\.attempts).max() ?? 0)",
            "retry_in_s": "\(String(format: "%.1f", updated.first.map { $0.nextAttempt.timeIntervalSince(now) } ?? 0))"])
    }

    /// Rebuilds the queue from disk: records with their DICOM file are resumed; partial writes are removed.
    private func recover() throws(OutboxError) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw OutboxError(.directory, "cannot list \(directory): \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        var recovered: [String: OutboxItem] = [:]
        for name in names where name.hasSuffix(".tmp") {
            unlink((directory as NSString).appendingPathComponent(name))
        }
        for name in names where name.hasSuffix(".json") {
            let id = String(name.dropLast(5))
            guard let data = FileManager.default.contents(atPath: path(id, "json")),
                  let item = try? decoder.decode(OutboxItem.self, from: data),
                  FileManager.default.fileExists(atPath: path(id, "dcm")) else {
                logger.error("unreadable outbox record removed", metadata: ["item": "\(id)"])
                unlink(path(id, "json"))
                unlink(path(id, "dcm"))
                continue
            }
            recovered[id] = item
        }
        for name in names where name.hasSuffix(".dcm") && recovered[String(name.dropLast(4))] == nil {
            // A DICOM file without its record was never acknowledged as enqueued.
            unlink((directory as NSString).appendingPathComponent(name))
        }
        if !recovered.isEmpty {
            logger.notice("outbox resumed", metadata: ["pending": "\(recovered.count)"])
        }
        state.withLock { $0.items = recovered }
    }

    /// Writes an item's record, the commit point recovery trusts: synced unless the caller syncs a batch itself.
    private func persist(_ item: OutboxItem, synced: Bool = true) throws(OutboxError) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do {
            data = try encoder.encode(item)
        } catch {
            throw OutboxError(.write, "cannot encode outbox record: \(error)")
        }
        guard synced else {
            if let failure = DurableFile.writeUnsynced(Array(data), to: path(item.id, "json")) {
                throw writeFailure("cannot write \(path(item.id, "json")): \(DurableFile.describe(failure))")
            }
            return
        }
        do {
            try DurableFile.write(Array(data), to: path(item.id, "json"))
        } catch {
            throw writeFailure(error.message)
        }
    }

    private func remove(_ item: OutboxItem) {
        unlink(path(item.id, "json"))
        unlink(path(item.id, "dcm"))
    }

    private func path(_ id: String, _ ext: String) -> String {
        (directory as NSString).appendingPathComponent("\(id).\(ext)")
    }
}
