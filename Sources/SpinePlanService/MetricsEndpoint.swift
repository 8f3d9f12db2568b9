import FlyingFox
import FlyingSocks
import Foundation
import Logging

/// `GET /metrics` over HTTP for Prometheus, on its own address (loopback by default); every other path is 404.
public final class MetricsEndpoint: Sendable {
    private let server: HTTPServer

    public init(bind: String, port: Int, metrics: DaemonMetrics, logger: Logger) throws(DaemonError) {
        let address: sockaddr_in
        do {
            address = try .inet(ip4: bind, port: UInt16(port))
        } catch {
            throw DaemonError(.listen, "metrics.bind \(bind) is not an IPv4 address")
        }
        server = HTTPServer(address: address, timeout: 10, logger: FlyingFoxLog(logger: logger))
        self.metrics = metrics
    }

    private let metrics: DaemonMetrics

    /// Starts serving and returns once the socket listens, or throws when it cannot (address in use, say).
    public func start() async throws(DaemonError) -> Task<Void, Never> {
        let metrics = self.metrics
        await server.appendRoute("GET /metrics") { _ in
            HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                         body: Data(metrics.exposition()))
        }
        let server = self.server
        let task = Task { _ = try? await server.run() }
        do {
            try await server.waitUntilListening(timeout: 10)
        } catch {
            task.cancel()
            throw DaemonError(.listen, "metrics endpoint: cannot listen: \(error)")
        }
        return task
    }

    /// The port it listens on (the one asked for, or the kernel's choice for 0).
    public var port: Int? {
        get async {
            if case .ip4(_, let port) = await server.listeningAddress { return Int(port) }
            return nil
        }
    }

    public func stop() async { await server.stop(timeout: 1) }
}

/// FlyingFox's log lines into swift-log: its per-request chatter at debug, its failures as they are.
private struct FlyingFoxLog: FlyingSocks.Logging {
    let logger: Logger
    func logDebug(_ debug: @autoclosure () -> String) { logger.trace("\(debug())") }
    func logInfo(_ info: @autoclosure () -> String) { logger.debug("\(info())") }
    func logWarning(_ warning: @autoclosure () -> String) { logger.warning("metrics endpoint: \(warning())") }
    func logError(_ error: @autoclosure () -> String) { logger.error("metrics endpoint: \(error())") }
    func logCritical(_ critical: @autoclosure () -> String) { logger.critical("metrics endpoint: \(critical())") }
}
