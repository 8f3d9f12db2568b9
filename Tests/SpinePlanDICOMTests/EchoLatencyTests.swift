import Foundation
import SpinePlanDICOM
import Testing

/// Issue 15 point 1: DCMTK leaves Nagle on, and each C-ECHO (or C-STORE) response waited 41-55 ms on a delayed ACK.
/// The shim sets TCP_NODELAY on every socket it accepts or connects; this holds it there.
@Suite struct EchoLatencyTests {
    @Test("a whole C-ECHO association (connect, A-ASSOCIATE, C-ECHO, A-RELEASE) against our SCP on loopback: fastest of 21 under 10 ms, none stalled 40 ms")
    func echoUnderTenMilliseconds() throws {
        let server = try TestServer()
        defer { server.stop() }
        let peer = DICOMPeer(aeTitle: "SPINEPLAN", host: "127.0.0.1", port: server.port)
        let scu = StorageSCU(callingAETitle: "CONSOLE", timeoutSeconds: 5)
        // The first association pays for lazy set-up (dictionary, thread start); a console's steady state does not.
        try scu.echo(peer)
        let clock = ContinuousClock()
        // A delayed-ACK stall is a floor under every round trip, so the fastest shows whether one is there; the
        // median is left to the benchmark, because the rest of the suite shares the two cores (CI measured 12 ms).
        let times = try (0..<21).map { _ in try clock.measure { try scu.echo(peer) } }.map(\.milliseconds).sorted()
        print("C-ECHO association round trips (ms): \(times.map { String(format: "%.2f", $0) }.joined(separator: " "))")
        #expect(times[0] < 10, "fastest \(times[0]) ms; with Nagle on every one took 41-55 ms")
        #expect(times[10] < 40, "median \(times[10]) ms is at the delayed-ACK floor")
        #expect(server.eventLog.all.filter { $0.kind == .echo }.count == 22)
    }
}

private extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
