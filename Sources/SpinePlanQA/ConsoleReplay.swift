import Foundation
import Logging
import SpinePlanDICOM
import SpinePlanPlanner
import Synchronization
import SpinePlanService

/// Replays recordings against a running daemon the way the console would: C-STORE the instances, listen for the SR,
/// and time it from the console's side.
public final class ConsoleReplay: Sendable {
    /// How fast to send.
    public enum Speed: String, Sendable, CaseIterable {
        /// Associations as recorded, each started at its recorded offset; instances within one at full speed.
        case original
        /// Associations as recorded, back to back.
        case max
    }

    public let target: DICOMPeer
    public let speed: Speed
    public let timeoutSeconds: Double
    let scu: StorageSCU
    let results: ResultInbox
    let scp: StorageSCP
    let logger: Logger

    /// Binds the console's listener now, so a port in use fails before anything is sent.
    /// - Parameters:
    ///   - aeTitle: the console's AE title, calling AE of the sends and called AE of the daemon's returns.
    ///   - port: where the daemon sends results back (its destination for this console); 0 picks a free one.
    public init(target: DICOMPeer, aeTitle: String, port: Int, bindAddress: String = "0.0.0.0", speed: Speed,
                timeoutSeconds: Double = 60, logger: Logger) throws(RecordingError) {
        self.target = target
        self.speed = speed
        self.timeoutSeconds = timeoutSeconds
        self.logger = logger
        scu = StorageSCU(callingAETitle: aeTitle, timeoutSeconds: 30)
        results = ResultInbox()
        var config = StorageSCPConfiguration()
        config.aeTitle = aeTitle
        config.port = port
        config.bindAddress = bindAddress
        config.dimseTimeoutSeconds = 30
        config.acceptsResults = true
        do {
            scp = try StorageSCP(configuration: config, sink: results, logger: logger)
        } catch {
            throw RecordingError(.io, "cannot listen for results on \(bindAddress):\(port): \(error.message)")
        }
    }

    /// The port the console listens on for results.
    public var port: Int { scp.port }

    /// Runs `body` with the listener serving, and stops it afterwards.
    public func serving<R: Sendable>(_ body: () async -> R) async -> R {
        let listener = Task { try await scp.run() }
        let result = await body()
        scp.stop()
        listener.cancel()
        _ = await listener.result
        return result
    }

    /// Sends one recording and waits for its SR. Call inside `serving`. `target` overrides the daemon given at init.
    public func run(recording: Recording, target override: DICOMPeer? = nil) async throws(RecordingError) -> ReplayedRun {
        let target = override ?? self.target
        let objects = try recording.objects()
        guard let study = objects.first?.root.trimmed(.studyInstanceUID) else {
            throw RecordingError(.corrupt, "\(recording.directory): the first instance has no Study Instance UID")
        }
        var groups: [(association: Int, offset: Double, objects: [DICOMObject])] = []
        for (instance, object) in zip(recording.manifest.instances, objects) {
            if let last = groups.indices.last, groups[last].association == instance.association {
                groups[last].objects.append(object)
            } else {
                groups.append((instance.association, instance.arrivalSeconds, [object]))
            }
        }
        results.forget(study: study)
        let started = ContinuousClock.now
        let scu = self.scu
        var lastResponse = started
        for group in groups {
            if speed == .original {
                let due = started + .milliseconds(Int64(group.offset * 1000))
                if due > ContinuousClock.now { try? await Task.sleep(until: due, clock: .continuous) }
            }
            let batch = group.objects
            // The clock is read where the responses arrive, not after this task resumes.
            let outcome: Result<ContinuousClock.Instant, DICOMError> = await Task.detached {
                do throws(DICOMError) { try scu.store(batch, to: target); return .success(.now) } catch { return .failure(error) }
            }.value
            switch outcome {
            case .success(let instant): lastResponse = instant
            case .failure(let error): throw RecordingError(.io, "sending to \(target) failed: \(error.message)")
            }
        }
        guard let arrival = await results.waitForReport(study: study, timeoutSeconds: timeoutSeconds) else {
            throw RecordingError(.io, "no SR came back from \(target) within \(Int(timeoutSeconds)) s (listening as \(scp.configuration.aeTitle) on port \(port))")
        }
        // A peer may send its SR before it returns the last C-STORE response (the test peer does): the result was
        // there as soon as the slices were, so that is 0.
        let latency = max(0, (arrival.receivedAt - lastResponse).seconds)
        // The overlay usually follows the SR on the same association; give it a moment, it is optional.
        let overlay = await results.waitForOverlay(study: study, timeoutSeconds: 2)
        let plan: ScanPlan
        do {
            let object = try DICOMObject(datasetBytes: arrival.instance.datasetBytes, transferSyntax: arrival.instance.transferSyntaxUID)
            plan = try StructuredReportPlan.plan(from: object, model: recording.manifest.model)
        } catch let error as RecordingError {
            throw RecordingError(.corrupt, "the SR from \(target) is unreadable: \(error.message)")
        } catch {
            throw RecordingError(.corrupt, "the SR from \(target) is unreadable: \(error)")
        }
        return ReplayedRun(plan: plan, overlayPNG: overlay.flatMap(Self.png), latencySeconds: latency)
    }

    /// PNG of an 8-bit RGB overlay image (SpinePlan's Secondary Capture), for the HTML report; nil for anything else.
    static func png(_ instance: ReceivedInstance) -> [UInt8]? {
        guard let object = try? DICOMObject(datasetBytes: instance.datasetBytes, transferSyntax: instance.transferSyntaxUID) else { return nil }
        let root = object.root
        guard root.trimmed(.photometricInterpretation) == "RGB", root.int(.samplesPerPixel) == 3, root.int(.bitsAllocated) == 8,
              root.int(.planarConfiguration) ?? 0 == 0, let rows = root.int(.rows), let columns = root.int(.columns),
              let pixels = root.bytes(.pixelData), pixels.count >= rows * columns * 3 else { return nil }
        return PNGEncoder.rgb(width: columns, height: rows, pixels: Array(pixels.prefix(rows * columns * 3)))
    }
}

/// The console's receiving side: keeps SRs by study until a replay asks for them.
final class ResultInbox: InstanceSink {
    struct Arrival: Sendable {
        var instance: ReceivedInstance
        var study: String
        var receivedAt: ContinuousClock.Instant
    }

    private struct State {
        var arrivals: [Arrival] = []
        var overlays: [String: ReceivedInstance] = [:]
        var expired: Set<UUID> = []
        var waiters: [(study: String, id: UUID, continuation: CheckedContinuation<Arrival?, Never>)] = []
    }

    private let state = Mutex(State())

    func accept(_ instance: ReceivedInstance) -> StoreVerdict {
        let now = ContinuousClock.now
        let study = (try? DICOMObject(datasetBytes: instance.datasetBytes, transferSyntax: instance.transferSyntaxUID))?
            .root.trimmed(.studyInstanceUID) ?? ""
        guard instance.sopClassUID == SOPClass.comprehensive3DSR else {
            if instance.sopClassUID == SOPClass.secondaryCaptureImageStorage { state.withLock { $0.overlays[study] = instance } }
            return .stored
        }
        let arrival = Arrival(instance: instance, study: study, receivedAt: now)
        let waiter: CheckedContinuation<Arrival?, Never>? = state.withLock { s in
            if let i = s.waiters.firstIndex(where: { $0.study == study }) { return s.waiters.remove(at: i).continuation }
            s.arrivals.append(arrival)
            return nil
        }
        waiter?.resume(returning: arrival)
        return .stored
    }

    /// Drops SRs and overlays of a study left over from an earlier replay of the same recording.
    func forget(study: String) {
        state.withLock {
            $0.arrivals.removeAll { $0.study == study }
            $0.overlays[study] = nil
        }
    }

    /// The overlay of a study, polling briefly: it is a nicety for the report, so no waiter machinery.
    func waitForOverlay(study: String, timeoutSeconds: Double) async -> ReceivedInstance? {
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeoutSeconds * 1000))
        while true {
            if let overlay = state.withLock({ $0.overlays.removeValue(forKey: study) }) { return overlay }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    func waitForReport(study: String, timeoutSeconds: Double) async -> Arrival? {
        let id = UUID()
        let timer = Task {
            try? await Task.sleep(for: .milliseconds(Int64(timeoutSeconds * 1000)))
            self.expire(id: id)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Arrival?, Never>) in
            let ready: Arrival?? = state.withLock { s in
                if let i = s.arrivals.firstIndex(where: { $0.study == study }) { return .some(s.arrivals.remove(at: i)) }
                if s.expired.remove(id) != nil { return .some(nil) }
                s.waiters.append((study, id, continuation))
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func expire(id: UUID) {
        let waiter = state.withLock { s -> CheckedContinuation<Arrival?, Never>? in
            guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { s.expired.insert(id); return nil }
            return s.waiters.remove(at: i).continuation
        }
        waiter?.resume(returning: nil)
    }
}
