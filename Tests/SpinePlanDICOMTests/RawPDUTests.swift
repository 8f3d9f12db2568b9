import Foundation
import SpinePlanDICOM
import Testing

/// Issue 16 point 6: a scripted raw-PDU corpus against the listener. A valid A-ASSOCIATE-RQ built byte by byte
/// (PS3.8 9.3.2) is cut at every byte, its length field spoiled, and PDUs sent out of order; after each the
/// listener must answer a real console at once, and nothing may crash or hang.
@Suite struct RawPDUTests {
    /// A-ASSOCIATE-RQ for Verification, called SPINEPLAN, calling RAWPDU.
    static let request: [UInt8] = {
        func item(_ type: UInt8, _ body: [UInt8]) -> [UInt8] { [type, 0, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body }
        func ae(_ s: String) -> [UInt8] { Array(s.padding(toLength: 16, withPad: " ", startingAt: 0).utf8) }
        let context = item(0x10, Array("1.2.840.10008.3.1.1.1".utf8))
        let presentation = item(0x20, [1, 0, 0, 0] + item(0x30, Array("1.2.840.10008.1.1".utf8))
                                + item(0x40, Array("1.2.840.10008.1.2".utf8)))
        let user = item(0x50, item(0x51, [0, 0, 0x40, 0]) + item(0x52, Array("1.2.826.0.1.3680043.2.1".utf8)))
        let body = [0, 1, 0, 0] + ae("SPINEPLAN") + ae("RAWPDU") + [UInt8](repeating: 0, count: 32) + context + presentation + user
        let n = body.count
        return [0x01, 0, UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + body
    }()

    /// Opens a connection, sends `bytes`, optionally reads the first reply byte, and closes.
    static func exchange(_ port: Int, _ bytes: [UInt8], readReply: Bool = false) throws -> UInt8? {
        let c = try IdleConnection(port: port)
        defer { c.close() }
        c.send(bytes)
        guard readReply else { return nil }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var reply: UInt8 = 0
        return recv(c.fd, &reply, 1, 0) == 1 ? reply : nil
    }

    @Test("the hand-built A-ASSOCIATE-RQ is valid: the listener answers it with A-ASSOCIATE-AC")
    func validRequestAccepted() throws {
        let server = try TestServer()
        defer { server.stop() }
        #expect(try Self.exchange(server.port, Self.request, readReply: true) == 0x02)
    }

    @Test("every truncation of a valid A-ASSOCIATE-RQ, spoiled lengths and PDUs out of order: each dropped, and a console is served at once after each kind")
    func corpus() throws {
        let server = try TestServer { $0.acseTimeoutSeconds = 3 }
        defer { server.stop() }
        let scu = StorageSCU(callingAETitle: "CONSOLE", timeoutSeconds: 5)
        let peer = DICOMPeer(aeTitle: "SPINEPLAN", host: "127.0.0.1", port: server.port)
        let clock = ContinuousClock()
        var worst = Duration.zero
        var served = 0
        var sent = 0
        var slowestDrop = Duration.zero
        // The console shares the garbage's address here (loopback), and an address may keep only 8 connections
        // waiting: so first every garbage connection must be dropped — at once, as its peer has closed.
        func consoleIsServed() throws {
            let dropped = try clock.measure {
                for _ in 0..<500 where server.eventLog.all.filter({ [.idleDropped, .failed, .rejected].contains($0.kind) }).count < sent {
                    Thread.sleep(forTimeInterval: 0.002)
                }
            }
            slowestDrop = max(slowestDrop, dropped)
            #expect(server.eventLog.all.filter { [.idleDropped, .failed, .rejected].contains($0.kind) }.count >= sent)
            worst = max(worst, try clock.measure { try scu.echo(peer) })
            served += 1
        }
        // Cut at every byte: the peer closes after its part, as a crashed console would.
        for cut in 1..<Self.request.count {
            _ = try Self.exchange(server.port, Array(Self.request.prefix(cut)))
            sent += 1
            if cut % 4 == 0 { try consoleIsServed() }
        }
        try consoleIsServed()
        // Spoiled length fields: zero, one short, one long, absurd.
        var spoiled: [[UInt8]] = []
        for length: UInt32 in [0, UInt32(Self.request.count - 7), UInt32(Self.request.count - 5), 0xFFFF_FFFF] {
            var bytes = Self.request
            bytes[2...5] = [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)][...]
            spoiled.append(bytes)
        }
        // Out of order: P-DATA-TF, A-RELEASE-RQ and A-ABORT before any association; an unknown PDU type.
        spoiled.append([0x04, 0, 0, 0, 0, 6, 0, 0, 0, 2, 1, 3])
        spoiled.append([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0])
        spoiled.append([0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0])
        spoiled.append([0x7F, 0, 0, 0, 0, 1, 0])
        for bytes in spoiled {
            _ = try Self.exchange(server.port, bytes)
            sent += 1
            try consoleIsServed()
        }
        let inputs = Self.request.count - 1 + spoiled.count
        print("raw-pdu: \(inputs) inputs, 0 crashes; slowest drop of a closed garbage connection \(slowestDrop), slowest console C-ECHO \(worst)")
        #expect(worst < .seconds(3), "a console waited \(worst) behind a spoiled connection")
        #expect(slowestDrop < .seconds(1), "a closed garbage connection was held \(slowestDrop)")
        #expect(server.eventLog.all.filter { $0.kind == .echo }.count == served)
    }
}
