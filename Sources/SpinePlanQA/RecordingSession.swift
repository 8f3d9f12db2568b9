import Foundation
import Logging
import SpinePlanDICOM
import SpinePlanPlanner
import Synchronization
import Crypto
import SpinePlanService

/// The recording of one session: instances as they arrive, results at the end, then the manifest.
///
/// No method throws: a failed write logs one warning, removes the partial folder (the disk is likely full) and
/// turns the rest of this session's recording into no-ops.
public final class RecordingSession: Sendable {
    private struct State {
        var instances: [RecordingManifest.Instance] = []
        var files: [RecordingManifest.FileEntry] = []
        var firstArrival: ContinuousClock.Instant?
        var associations: [UInt64] = []
        var failed = false
        var finished = false
    }

    private let recorder: SessionRecorder?
    /// The session's folder; nil when recording is off for this session.
    public let directory: String?
    let name: String
    let sessionID: String
    let callingAE: String
    let calledAE: String
    let startedAt: Date
    private let state = Mutex(State())

    init(inert: Void) {
        recorder = nil
        directory = nil
        name = ""
        sessionID = ""
        callingAE = ""
        calledAE = ""
        startedAt = Date()
    }

    init(recorder: SessionRecorder, directory: String, name: String, sessionID: String, callingAE: String, calledAE: String,
         startedAt: Date) {
        self.recorder = recorder
        self.directory = directory
        self.name = name
        self.sessionID = sessionID
        self.callingAE = callingAE
        self.calledAE = calledAE
        self.startedAt = startedAt
    }

    /// True while this session is being recorded (not off, not failed, not finished).
    public var isActive: Bool {
        guard recorder != nil else { return false }
        return state.withLock { !$0.failed && !$0.finished }
    }

    /// Stores one instance exactly as received. `arrivalOffset` is seconds since the session's first instance;
    /// when nil it is measured here, from the first `record` call.
    public func record(instance: ReceivedInstance, arrivalOffset: Double? = nil) {
        guard let recorder, let directory else { return }
        let now = ContinuousClock.now
        state.withLock { s in
            guard !s.failed, !s.finished else { return }
            let first = s.firstArrival ?? now
            if s.firstArrival == nil { s.firstArrival = now }
            let offset = arrivalOffset ?? (now - first).seconds
            let file = "instances/" + Self.number(s.instances.count + 1) + ".dcm"
            if !s.associations.contains(instance.associationID) { s.associations.append(instance.associationID) }
            let association = (s.associations.firstIndex(of: instance.associationID) ?? 0) + 1
            let meta = Part10File.Meta(sopClassUID: instance.sopClassUID, sopInstanceUID: instance.sopInstanceUID,
                                       transferSyntaxUID: instance.transferSyntaxUID, sourceAETitle: instance.callingAETitle)
            let bytes: [UInt8], datasetOffset: Int
            do throws(RecordingError) {
                do throws(DICOMError) {
                    (bytes, datasetOffset) = try Part10File.encode(dataset: instance.datasetBytes, meta: meta)
                } catch {
                    throw RecordingError(.io, "\(file): cannot frame the instance: \(error.message)")
                }
                try recorder.disk.write(bytes, to: directory + "/" + file)
            } catch {
                fail(&s, recorder, error)
                return
            }
            s.files.append(.init(path: file, bytes: bytes.count, sha256: SHA256.hex(bytes)))
            s.instances.append(.init(file: file, sopClassUID: instance.sopClassUID, sopInstanceUID: instance.sopInstanceUID,
                                     transferSyntaxUID: instance.transferSyntaxUID, arrivalSeconds: offset,
                                     association: association, datasetOffset: datasetOffset, datasetLength: instance.datasetBytes.count,
                                     datasetSHA256: SHA256.hex(instance.datasetBytes)))
        }
    }

    /// Writes the results and the manifest, then applies retention. Returns the recording's folder, or nil when
    /// nothing usable was recorded.
    ///
    /// - Parameters:
    ///   - plan: the plan sent back; nil when planning failed (say why in `failure`).
    ///   - sr, overlay: the SR and overlay objects as sent: Part 10 bytes, or bare datasets in Explicit VR Little Endian.
    ///   - overlayPNG: the overlay as PNG, shown in the HTML replay report.
    ///   - model: `name@version` of the model; software: SpinePlan's version.
    ///   - timings: stage timings in milliseconds.
    @discardableResult
    public func finish(plan: ScanPlan?, failure: String? = nil, sr: [UInt8]?, overlay: [UInt8]?, overlayPNG: [UInt8]? = nil,
                       model: String, software: String, timings: [String: Double]) -> String? {
        guard let recorder, let directory else { return nil }
        let done: Bool = state.withLock { s in
            guard !s.failed, !s.finished else { return false }
            s.finished = true
            var results: [String: String] = [:]
            var pending: [(String, [UInt8])] = []
            if let plan {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                if let json = try? encoder.encode(plan) { pending.append(("plan.json", Array(json))) }
            }
            // A result DCMTK cannot frame is kept as sent rather than lost: verification then names it.
            if let sr { pending.append(("sr.dcm", (try? Part10File.wrapResult(sr)) ?? sr)) }
            if let overlay { pending.append(("overlay.dcm", (try? Part10File.wrapResult(overlay)) ?? overlay)) }
            if let overlayPNG { pending.append(("overlay.png", overlayPNG)) }
            for (file, bytes) in pending {
                do throws(RecordingError) {
                    try recorder.disk.write(bytes, to: directory + "/" + file)
                } catch {
                    fail(&s, recorder, error)
                    return false
                }
                s.files.append(.init(path: file, bytes: bytes.count, sha256: SHA256.hex(bytes)))
                results[file] = file
            }
            let manifest = RecordingManifest(
                sessionID: sessionID, startedAt: UTCTimestamp.iso8601(startedAt.timeIntervalSince1970),
                callingAETitle: callingAE, calledAETitle: calledAE, software: software, model: model,
                instances: s.instances, plan: results["plan.json"], structuredReport: results["sr.dcm"],
                overlay: results["overlay.dcm"], overlayPNG: results["overlay.png"],
                failure: plan == nil ? (failure ?? "no plan was produced") : failure,
                timingsMilliseconds: timings, complete: true, deidentified: false, files: s.files)
            do throws(RecordingError) {
                try recorder.disk.write(try Self.encode(manifest), to: directory + "/manifest.json")
            } catch {
                fail(&s, recorder, error)
                return false
            }
            return true
        }
        recorder.closed(name)
        guard done else { return nil }
        recorder.logger.info("session recorded", metadata: ["recording": "\(name)", "instances": "\(instanceCount)"])
        // The session just written is never its own retention's victim, even when it alone exceeds the size limit.
        recorder.applyRetention(sparing: [name])
        return directory
    }

    /// `finish` with the SR and overlay as the objects that were sent (encoded here in Explicit VR Little Endian).
    @discardableResult
    public func finish(plan: ScanPlan?, failure: String? = nil, report: DICOMObject?, overlay: DICOMObject?,
                       overlayPNG: [UInt8]? = nil, model: String, software: String, timings: [String: Double]) -> String? {
        guard recorder != nil else { return nil }
        // An object that cannot be encoded is left out rather than failing the recording of everything else.
        return finish(plan: plan, failure: failure, sr: try? report?.encoded(), overlay: try? overlay?.encoded(),
                      overlayPNG: overlayPNG, model: model, software: software, timings: timings)
    }

    /// Drops this session's recording (e.g. the session was rejected); removes its folder.
    public func discard() {
        guard let recorder, let directory else { return }
        let removed: Bool = state.withLock { s in
            guard !s.finished else { return false }
            s.finished = true
            return true
        }
        if removed { recorder.disk.removeTree(directory) }
        recorder.closed(name)
    }

    var instanceCount: Int { state.withLock { $0.instances.count } }

    private func fail(_ s: inout State, _ recorder: SessionRecorder, _ error: RecordingError) {
        s.failed = true
        recorder.logger.warning("recording failed; planning continues without it",
                                metadata: ["recording": "\(name)", "error": "\(error.message)"])
        if let directory { recorder.disk.removeTree(directory) }
        recorder.closed(name)
    }

    static func encode(_ manifest: RecordingManifest) throws(RecordingError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { return Array(try encoder.encode(manifest)) } catch {
            throw RecordingError(.io, "cannot encode the manifest: \(error)")
        }
    }

    static func number(_ n: Int) -> String {
        let s = String(n)
        return s.count >= 4 ? s : String(repeating: "0", count: 4 - s.count) + s
    }
}
