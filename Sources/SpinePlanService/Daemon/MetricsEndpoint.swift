import FlyingFox
import FlyingSocks
import Foundation
import Logging
import ServiceLifecycle

/// `GET /metrics` over HTTP for Prometheus, on its own address (loopback by default); every other path is 404.
public final class MetricsEndpoint: Service {
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

    /// Serves until graceful shutdown; throws when it cannot listen (address in use, say).
    public func run() async throws {
        let metrics = self.metrics
        await server.appendRoute("GET /metrics") { _ in
            HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                         body: Data(metrics.exposition()))
        }
        let server = self.server
        do {
            try await cancelWhenGracefulShutdown { try await server.run() }
        } catch is CancellationError {
        } catch {
            throw DaemonError(.listen, "metrics endpoint: cannot listen: \(error)")
        }
    }

    /// Returns once the socket listens; throws when it does not within 10 s.
    func waitUntilListening() async throws(DaemonError) {
        do {
            try await server.waitUntilListening(timeout: 10)
        } catch {
            throw DaemonError(.listen, "metrics endpoint: cannot listen: \(error)")
        }
    }

    /// The port it listens on (the one asked for, or the kernel's choice for 0).
    public var port: Int? {
        get async {
            if case .ip4(_, let port) = await server.listeningAddress { return Int(port) }
            return nil
        }
    }

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
