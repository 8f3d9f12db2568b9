import CoreMetrics
import Foundation
import Prometheus
import SpinePlanDICOM

/// The daemon's numbers for a site's monitoring, through swift-metrics onto one Prometheus registry per daemon.
///
/// The registry is the daemon's own rather than `MetricsSystem`'s global one: that can be bootstrapped once per
/// process, and the tests run several daemons in one. Names follow Prometheus' conventions (`_total` counters,
/// `_seconds` histograms); the list is in Docs/operations.md.
public final class DaemonMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let sessions: [String: CoreMetrics.Counter]
    private let associations: [String: CoreMetrics.Counter]
    private let sendFailures: CoreMetrics.Counter
    private let outboxDepth: CoreMetrics.Gauge
    private let outboxOldestAge: CoreMetrics.Gauge
    private let sessionDuration: CoreMetrics.Timer

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Localizer work is tens to hundreds of milliseconds; the default buckets stop resolving below 5 ms.
        factory.defaultDurationHistogramBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10]
            .map { Duration.milliseconds(Int64($0 * 1000)) }
        self.registry = registry
        self.factory = factory
        sessions = Dictionary(uniqueKeysWithValues: ["received", "planned", "abstained", "failed"].map {
            ($0, CoreMetrics.Counter(label: "spineplan_sessions_total", dimensions: [("outcome", $0)], factory: factory))
        })
        associations = Dictionary(uniqueKeysWithValues: ["accepted", "rejected"].map {
            ($0, CoreMetrics.Counter(label: "spineplan_associations_total", dimensions: [("result", $0)], factory: factory))
        })
        sendFailures = CoreMetrics.Counter(label: "spineplan_destination_send_failures_total", factory: factory)
        outboxDepth = CoreMetrics.Gauge(label: "spineplan_outbox_depth", factory: factory)
        outboxOldestAge = CoreMetrics.Gauge(label: "spineplan_outbox_oldest_age_seconds", factory: factory)
        sessionDuration = CoreMetrics.Timer(label: "spineplan_session_duration_seconds", factory: factory)
        CoreMetrics.Gauge(label: "process_start_time_seconds", factory: factory).record(Date().timeIntervalSince1970)
    }

    /// Model name, version and precision as labels of a constant 1, the usual Prometheus "info" metric.
    public func model(_ description: String) {
        let parts = description.split(separator: " ", maxSplits: 1).map(String.init)
        let nameVersion = (parts.first ?? "none").split(separator: "@", maxSplits: 1).map(String.init)
        CoreMetrics.Gauge(label: "spineplan_model_info", dimensions: [
            ("model", nameVersion.first ?? "none"), ("version", nameVersion.count > 1 ? nameVersion[1] : ""),
            ("precision", parts.count > 1 ? parts[1] : ""),
        ], factory: factory).record(1)
    }

    func association(_ event: AssociationEvent) {
        switch event.kind {
        case .accepted: associations["accepted"]?.increment()
        case .rejected: associations["rejected"]?.increment()
        default: break
        }
    }

    func sessionReceived() { sessions["received"]?.increment() }

    /// One session's end: its outcome, and its stages and total in milliseconds as the pipeline measured them.
    func session(outcome: String, timings: [String: Double], totalMilliseconds: Double?) {
        sessions[outcome]?.increment()
        for (stage, ms) in timings where stage != "total" {
            CoreMetrics.Timer(label: "spineplan_stage_duration_seconds", dimensions: [("stage", stage)], factory: factory)
                .recordMilliseconds(ms)
        }
        if let totalMilliseconds { sessionDuration.recordMilliseconds(totalMilliseconds) }
    }

    func outbox(depth: Int, oldest: Date?, failuresSinceLast: Int) {
        outboxDepth.record(depth)
        outboxOldestAge.record(oldest.map { max(0, Date().timeIntervalSince($0)) } ?? 0)
        if failuresSinceLast > 0 { sendFailures.increment(by: failuresSinceLast) }
    }

    /// The text exposition format, as `/metrics` serves it.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}
