import Foundation
import Logging
import SpinePlanDICOM
import SpinePlanTestSupport
import Synchronization

/// Collects what the SCP hands over, as the pipeline would.
final class CollectingSink: InstanceSink {
    let instances = Mutex<[ReceivedInstance]>([])
    let verdict: StoreVerdict

    init(verdict: StoreVerdict = .stored) { self.verdict = verdict }

    func accept(_ instance: ReceivedInstance) -> StoreVerdict {
        if verdict == .stored { instances.withLock { $0.append(instance) } }
        return verdict
    }

    var slices: [Slice] { instances.withLock { $0.flatMap(\.slices) } }
    var count: Int { instances.withLock { $0.count } }
}

/// A StorageSCP on a free loopback port, serving on its own thread for one test.
final class TestServer: Sendable {
    let scp: StorageSCP
    let sink: CollectingSink
    private let finished = Handoff<Bool>()

    init(_ configure: (inout StorageSCPConfiguration) -> Void = { _ in }, verdict: StoreVerdict = .stored) throws {
        var config = StorageSCPConfiguration()
        config.port = 0
        config.acseTimeoutSeconds = 3
        config.dimseTimeoutSeconds = 10
        configure(&config)
        let sink = CollectingSink(verdict: verdict)
        self.sink = sink
        var logger = Logger(label: "test.scp")
        logger.logLevel = .critical
        let eventsRef = EventLog()
        scp = try StorageSCP(configuration: config, sink: sink, logger: logger) { eventsRef.append($0) }
        eventLog = eventsRef
        let scp = self.scp
        let finished = self.finished
        let thread = Thread {
            try? scp.runBlocking()
            finished.set(true)
        }
        thread.start()
    }

    let eventLog: EventLog
    var port: Int { scp.port }

    func stop() {
        scp.stop()
        _ = finished.wait()
    }
}

/// Association events seen by a test server.
final class EventLog: Sendable {
    private let events = Mutex<[AssociationEvent]>([])
    func append(_ e: AssociationEvent) { events.withLock { $0.append(e) } }
    var all: [AssociationEvent] { events.withLock { $0 } }
}
