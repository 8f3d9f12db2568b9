import Foundation
import SpinePlanDICOM
import Testing

/// Issue 15 point 1: DCMTK leaves Nagle on, and each C-ECHO (or C-STORE) response waited 41-55 ms on a delayed ACK.
/// The shim sets TCP_NODELAY on every socket it accepts or connects; this holds it there.
@Suite struct EchoLatencyTests {
    @Test("a whole C-ECHO association (connect, A-ASSOCIATE, C-ECHO, A-RELEASE) against our SCP on loopback: median of 5 under 10 ms")
    func echoUnderTenMilliseconds() throws {
        let server = try TestServer()
        defer { server.stop() }
        let peer = DICOMPeer(aeTitle: "SPINEPLAN", host: "127.0.0.1", port: server.port)
        let scu = StorageSCU(callingAETitle: "CONSOLE", timeoutSeconds: 5)
        // The first association pays for lazy set-up (dictionary, thread start); a console's steady state does not.
        try scu.echo(peer)
        let clock = ContinuousClock()
        let times = try (0..<5).map { _ in try clock.measure { try scu.echo(peer) } }.map(\.milliseconds).sorted()
        let median = times[2]
        print("C-ECHO association round trips (ms): \(times.map { String(format: "%.2f", $0) }.joined(separator: " ")); median \(String(format: "%.2f", median))")
        #expect(median < 10, "median \(median) ms; with Nagle on it was 41-55 ms")
        #expect(server.eventLog.all.filter { $0.kind == .echo }.count == 6)
    }
}

private extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
