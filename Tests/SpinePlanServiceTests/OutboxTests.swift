import Foundation
import Logging
import Testing
import SpinePlanDICOM
import SpinePlanScanner
import SpinePlanTestSupport
@testable import SpinePlanService

@Suite struct OutboxTests {
    let logger = Logger(label: "test.outbox")

    func results(_ count: Int) throws -> [DICOMObject] {
        try (0..<count).map { try DICOMFileWriter.makeMRImage(ServiceFixtures.slice(index: $0)) }
    }

    @Test("results survive a destination outage and a restart, and are delivered once the peer is back")
    func outageAndRestart() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let port = freePort()
        let peer = DICOMPeer(aeTitle: "PEERSCP", host: "127.0.0.1", port: port)
        let settings = Outbox.Settings(retryInitialSeconds: 0.05, retryMaxSeconds: 0.2, expirySeconds: 600, timeoutSeconds: 3)
        let directory = tmp.appending("outbox")
        do {
            let outbox = try Outbox(directory: directory, settings: settings, logger: logger)
            for object in try results(3) { try outbox.enqueue(object, kind: "sr", sessionID: "s1", to: peer) }
            await outbox.deliverDue()
            #expect(outbox.depth == 3)
            #expect(outbox.pending.allSatisfy { $0.attempts == 1 && $0.lastError != nil })
        }
        // Every result is on disk as a record and its DICOM file, readable only by us.
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(files.filter { $0.hasSuffix(".json") }.count == 3 && files.filter { $0.hasSuffix(".dcm") }.count == 3)
        for file in files {
            let mode = try FileManager.default.attributesOfItem(atPath: directory + "/" + file)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file) has mode \(String(mode ?? 0, radix: 8))")
        }
        // A new process takes over the same directory.
        let restarted = try Outbox(directory: directory, settings: settings, logger: logger)
        #expect(restarted.depth == 3)
        let received = tmp.appending("received")
        try FileManager.default.createDirectory(atPath: received, withIntermediateDirectories: true)
        let scp = try LiveProcess(PythonPeer.python, [PythonPeer.script("console.py"), "scp", "--listen-port", "\(port)", "--out", received],
                                  stdin: true)
        defer { scp.closeStdin() }
        #expect(scp.waitForLine(containing: "READY") != nil)
        for _ in 0..<100 where restarted.depth > 0 {
            await restarted.deliverDue(now: Date().addingTimeInterval(1))
            if restarted.depth > 0 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(restarted.depth == 0)
        #expect(restarted.deliveredCount == 3)
        let arrived = try FileManager.default.contentsOfDirectory(atPath: received).filter { $0.hasSuffix(".dcm") }
        #expect(Set(arrived) == Set((0..<3).map { ServiceFixtures.slice(index: $0).sopInstanceUID + ".dcm" }))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    @Test("a result the peer refuses is retried alone: what it acknowledged is never sent twice")
    func partialRefusal() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let port = freePort()
        let scp = try LiveProcess(PythonPeer.python, [PythonPeer.script("console.py"), "scp", "--listen-port", "\(port)",
                                                      "--refuse-first", "1"], stdin: true)
        #expect(scp.waitForLine(containing: "READY") != nil)
        let peer = DICOMPeer(aeTitle: "PEERSCP", host: "127.0.0.1", port: port)
        let settings = Outbox.Settings(retryInitialSeconds: 0.05, retryMaxSeconds: 0.2, expirySeconds: 600, timeoutSeconds: 10)
        let outbox = try Outbox(directory: tmp.appending("outbox"), settings: settings, logger: logger)
        for object in try results(3) { try outbox.enqueue(object, kind: "sr", sessionID: "s3", to: peer) }
        await outbox.deliverDue()
        #expect(outbox.depth == 1, "the refused result waits; the other two are delivered")
        #expect(outbox.pending.first?.lastError?.contains("0xA700") == true, "\(outbox.pending)")
        for _ in 0..<100 where outbox.depth > 0 {
            await outbox.deliverDue(now: Date().addingTimeInterval(1))
            if outbox.depth > 0 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(outbox.depth == 0)
        scp.closeStdin()
        #expect(scp.waitForExit() == 0)
        let line = try #require(scp.text.split(separator: "\n").last { $0.hasPrefix("{") })
        let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let accepted = try #require(report["accepted"] as? [String])
        #expect(accepted.count == 3, "\(accepted)")
        #expect(Set(accepted) == Set((0..<3).map { ServiceFixtures.slice(index: $0).sopInstanceUID }))
        #expect(report["refused"] as? Int == 1)
    }

    @Test("an undelivered result is dropped once it expires, and a partial write left by a crash is cleaned up")
    func expiryAndPartialWrites() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let directory = tmp.appending("outbox")
        let peer = DICOMPeer(aeTitle: "NOBODY", host: "127.0.0.1", port: freePort())
        let settings = Outbox.Settings(retryInitialSeconds: 0.05, retryMaxSeconds: 0.1, expirySeconds: 60, timeoutSeconds: 2)
        let outbox = try Outbox(directory: directory, settings: settings, logger: logger)
        try outbox.enqueue(try results(1)[0], kind: "sr", sessionID: "s2", to: peer)
        await outbox.deliverDue(now: Date().addingTimeInterval(61))
        #expect(outbox.depth == 0)
        #expect(outbox.expiredCount == 1)
        // A crash between the DICOM file and its record, and a half-written temp file.
        FileManager.default.createFile(atPath: directory + "/orphan.dcm", contents: Data([1, 2, 3]))
        FileManager.default.createFile(atPath: directory + "/x.json.tmp", contents: Data([1]))
        FileManager.default.createFile(atPath: directory + "/broken.json", contents: Data("{".utf8))
        let reopened = try Outbox(directory: directory, settings: settings, logger: logger)
        #expect(reopened.depth == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }
}
