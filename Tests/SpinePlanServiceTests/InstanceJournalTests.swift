import Foundation
import Logging
import SpinePlanDICOM
import SpinePlanScanner
import SpinePlanTestSupport
import Testing
@testable import SpinePlanService

/// Issue 16 point 4: what is acknowledged is on disk first, and a full disk refuses slices (0xA700) rather than
/// losing them, until space returns.
@Suite struct InstanceJournalTests {
    /// A real encoded instance, as it would come off the wire.
    func instance(_ index: Int, association: UInt64 = 7) throws -> ReceivedInstance {
        let slice = ServiceFixtures.slice(index: index)
        let bytes = try DICOMFileWriter.makeMRImage(slice).encoded()
        var instance = ServiceFixtures.instance(slice, association: association)
        instance.datasetBytes = bytes
        return instance
    }

    @Test("an accepted slice is journaled (0600) before it is handed on, recovered as it was, and gone once forgotten")
    func journalRecoverForget() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let inbox = InstanceInbox(capacity: 16, logger: Logger(label: "test"))
        let journal = try InstanceJournal(directory: tmp.appending("inbox"), next: inbox, minimumFreeBytes: 0, logger: Logger(label: "test"))
        let sent = try (0..<3).map { try instance($0) }
        for i in sent { #expect(journal.accept(i) == .stored) }
        journal.sync()
        let files = try FileManager.default.contentsOfDirectory(atPath: journal.directory).sorted()
        #expect(files.count == 3 && files.allSatisfy { $0.hasSuffix(".instance") }, "\(files)")
        for f in files {
            let mode = try FileManager.default.attributesOfItem(atPath: journal.directory + "/" + f)[.posixPermissions] as? Int
            #expect(mode == 0o600)
        }
        // A new run finds them, byte for byte and decoded, in arrival order, under association IDs of their own.
        let again = try InstanceJournal(directory: journal.directory, next: inbox, minimumFreeBytes: 0, logger: Logger(label: "test"))
        let recovered = again.recover()
        #expect(recovered.map(\.sopInstanceUID) == sent.map(\.sopInstanceUID))
        #expect(recovered.map(\.datasetBytes) == sent.map(\.datasetBytes))
        #expect(recovered.map { $0.slices.map(\.plane) } == sent.map { $0.slices.map(\.plane) })
        #expect(Set(recovered.map(\.associationID)) == [UInt64(7) | (UInt64(1) << 63)])
        again.forget(sopInstanceUIDs: sent.prefix(2).map(\.sopInstanceUID))
        #expect(try FileManager.default.contentsOfDirectory(atPath: journal.directory).count == 1)
        #expect(again.depth == 1)
    }

    @Test("below the free-space floor a slice is refused 0xA700 'disk full', logged once; with space back it is taken")
    func diskFull() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let log = CapturedLog()
        let inbox = InstanceInbox(capacity: 16, logger: log.logger)
        let free = try #require(DurableFile.freeBytes(in: tmp.path))
        // A floor above what the file system has free is a full disk, as far as the journal can tell.
        let journal = try InstanceJournal(directory: tmp.appending("inbox"), next: inbox, minimumFreeBytes: free + (1 << 30),
                                          logger: log.logger)
        for n in 0..<3 {
            #expect(journal.accept(try instance(n)) == .refused(status: 0xA700, reason: "SpinePlan disk full: retry later"))
        }
        #expect(inbox.depth == 0 && journal.depth == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: journal.directory).isEmpty)
        #expect(log.all.filter { $0.contains("disk full") }.count == 1, "\(log.all)")
        #expect(journal.diskFull)
        journal.update(minimumFreeBytes: 1 << 20)
        #expect(journal.accept(try instance(3)) == .stored)
        #expect(!journal.diskFull && inbox.depth == 1 && journal.depth == 1)
        #expect(log.all.filter { $0.contains("disk space is back") }.count == 1, "\(log.all)")
    }

    @Test("a slice the inbox refuses (full) is not left in the journal")
    func refusedDownstream() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let inbox = InstanceInbox(capacity: 16, logger: Logger(label: "test"))
        let journal = try InstanceJournal(directory: tmp.appending("inbox"), next: inbox, minimumFreeBytes: 0, logger: Logger(label: "test"))
        for n in 0..<16 { #expect(journal.accept(try instance(n)) == .stored) }
        guard case .refused(let status, _) = journal.accept(try instance(16)) else {
            Issue.record("the 17th slice was taken by a full inbox")
            return
        }
        #expect(status == 0xA700)
        #expect(try FileManager.default.contentsOfDirectory(atPath: journal.directory).count == 16)
    }
}
