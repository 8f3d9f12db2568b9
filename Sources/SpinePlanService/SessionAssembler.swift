import Foundation
import Logging
import SpinePlanDICOM
import SpinePlanGeometry
import Synchronization

/// Groups received slices into localizer sessions (one per patient, study and frame of reference) and says when
/// each is ready: on A-RELEASE of an association that carried it, when every series has its ImagesInAcquisition, or
/// after an idle timeout. A slice that arrives after a plan starts a fresh one.
public final class SessionAssembler: Sendable {
    /// The patient is part of the key because study and frame-of-reference UIDs are only as unique as the console
    /// that made them: two patients sharing both were once planned together, one patient's name on the SR and the
    /// other's slices as evidence. A slice whose patient differs gets its own session rather than a C-STORE refusal:
    /// the slice was acknowledged before it reaches us, the first patient's session may be minutes old, and
    /// refusing would leave the second (real) patient with no plan at all; each session is then planned (or
    /// fails) on its own patient's slices only.
    struct Key: Hashable {
        var study: String
        var frameOfReference: String
        var patient: PatientKey
    }

    /// Patient ID and Patient's Name as compared for a session. PHI: never logged.
    struct PatientKey: Hashable {
        var id: String
        var name: String

        init(_ p: PatientStudy) {
            id = p.patientID
            // PS3.5 6.2.1: trailing empty name components may be left out, so `Doe^John^^^` is `Doe^John`.
            var name = Substring(p.patientName)
            while let last = name.last, last == "^" || last == "=" || last == " " { name = name.dropLast() }
            self.name = String(name)
        }
    }

    struct Session {
        var id: String
        var generation = 0
        var instances: [ReceivedInstance] = []
        var arrivals: [ContinuousClock.Instant] = []
        var slices: [String: Slice] = [:]
        var order: [String] = []
        var associations: Set<UInt64> = []
        var expectedPerSeries: [String: Int] = [:]
        var countPerSeries: [String: Int] = [:]
        var first: ContinuousClock.Instant
        var last: ContinuousClock.Instant
        /// Slices arrived since the last plan was triggered.
        var dirty = false
    }

    private struct State {
        var sessions: [Key: Session] = [:]
        var ignoredSeries: Set<String> = []
        /// Orientations seen so far in each series: one classic instance holds one, a 3-plane series several.
        var seriesOrientations: [String: Set<PlaneOrientation>] = [:]
        /// Thick, low-resolution instances of a series that might still prove a localizer by its geometry, held
        /// until a second orientation arrives (then planned) or their association ends (then ignored).
        var undecided: [String: [(instance: ReceivedInstance, at: ContinuousClock.Instant)]] = [:]
        var nextID = 0
    }

    /// Undecided instances held per series at most; a series that long in one orientation is not a localizer.
    static let maximumUndecided = 64
    /// Planned sessions kept in memory at most, newest first, for slices that arrive late: each holds its pixels
    /// (about 1.5 MB for a 12-slice 256² localizer), and under load ten minutes' worth was gigabytes (issue 16).
    static let maximumRetained = 16
    /// Bytes of planned sessions (pixels and datasets) kept at most: sixteen 512² localizers would be 360 MB.
    static let maximumRetainedBytes = 64 << 20
    /// How long a planned session is kept for late slices; after that a late slice starts a session of its own.
    static let lateSliceWindow: Duration = .seconds(60)
    /// Series UIDs remembered as "not a localizer" at most; past it the memory starts afresh.
    static let maximumIgnoredSeries = 4096

    private let state = Mutex(State())
    private let idleTimeoutValue: Mutex<Duration>
    private var idleTimeout: Duration { idleTimeoutValue.withLock { $0 } }
    private let retention: Duration
    private let logger: Logger
    /// Told the SOP Instance UIDs of instances that will never be part of a plan (not a localizer), so that the
    /// journal can let them go.
    private let discarded: @Sendable ([String]) -> Void

    public init(idleTimeout: Duration, retention: Duration = .seconds(600), logger: Logger,
                discarded: @escaping @Sendable ([String]) -> Void = { _ in }) {
        self.idleTimeoutValue = Mutex(idleTimeout)
        self.retention = retention
        self.logger = logger
        self.discarded = discarded
    }

    /// Applies a reloaded idle timeout to sessions from now on.
    public func update(idleTimeout: Duration) { idleTimeoutValue.withLock { $0 = idleTimeout } }

    /// Open sessions (planned ones are kept a while for late slices).
    public var sessionCount: Int { state.withLock { $0.sessions.count } }

    /// Takes one received instance; returns sessions that became complete by image count.
    public func add(_ instance: ReceivedInstance, at now: ContinuousClock.Instant = .now) -> [LocalizerSnapshot] {
        guard let first = instance.slices.first else { return [] }
        let series = first.seriesInstanceUID
        let orientations = state.withLock { s in
            s.seriesOrientations[series, default: []].formUnion(instance.slices.map(\.plane.orientation))
            return s.seriesOrientations[series]!.count
        }
        guard LocalizerClassifier.isLocalizer(first, orientationsInSeries: orientations) else {
            let held = state.withLock { s -> Bool in
                guard !s.ignoredSeries.contains(series), LocalizerClassifier.mayBeLocalizerByGeometry(first),
                      s.undecided[series, default: []].count < Self.maximumUndecided else { return false }
                s.undecided[series, default: []].append((instance, now))
                return true
            }
            if !held { ignore(series: series, instance) }
            return []
        }
        // A series just proven a localizer by its geometry brings the instances held back for it.
        let earlier = state.withLock { $0.undecided.removeValue(forKey: series) ?? [] }
        return (earlier + [(instance, now)]).flatMap { addLocalizer($0.instance, first: $0.instance.slices[0], at: $0.at) }
    }

    private func ignore(series: String, _ instance: ReceivedInstance) {
        let (isNew, held) = state.withLock { s in
            let held = s.undecided.removeValue(forKey: series) ?? []
            s.seriesOrientations[series] = nil
            return (s.ignoredSeries.insert(series).inserted, held)
        }
        discarded(held.map(\.instance.sopInstanceUID) + [instance.sopInstanceUID])
        guard isNew, let first = instance.slices.first else { return }
        logger.notice("series is not a localizer; ignored", metadata: [
            "calling_ae": "\(instance.callingAETitle)", "series_number": "\(first.seriesNumber.map(String.init) ?? "-")",
            "image_type": "\(first.imageType.joined(separator: "\\"))", "sop_class": "\(instance.sopClassUID)"])
    }

    private func addLocalizer(_ instance: ReceivedInstance, first: Slice, at now: ContinuousClock.Instant) -> [LocalizerSnapshot] {
        let key = Key(study: first.studyInstanceUID, frameOfReference: first.frameOfReferenceUID,
                      patient: PatientKey(first.patientStudy))
        var collision: (new: String, existing: [String])?
        let ready = state.withLock { s -> [LocalizerSnapshot] in
            if s.sessions[key] == nil {
                s.nextID += 1
                let id = String(format: "%08x", UInt32.random(in: 0...UInt32.max) ^ UInt32(truncatingIfNeeded: s.nextID))
                s.sessions[key] = Session(id: id, first: now, last: now)
                let others = s.sessions.filter {
                    $0.key.study == key.study && $0.key.frameOfReference == key.frameOfReference && $0.key.patient != key.patient
                }
                if !others.isEmpty { collision = (id, others.values.map(\.id).sorted()) }
            }
            var session = s.sessions[key]!
            session.instances.append(instance)
            session.arrivals.append(now)
            session.associations.insert(instance.associationID)
            session.last = now
            session.dirty = true
            for slice in instance.slices {
                let sliceKey = "\(slice.sopInstanceUID)#\(slice.frameNumber ?? 0)"
                if session.slices[sliceKey] == nil {
                    session.order.append(sliceKey)
                    session.countPerSeries[slice.seriesInstanceUID, default: 0] += 1
                }
                session.slices[sliceKey] = slice
                if let expected = slice.imagesInAcquisition, expected > 0 {
                    session.expectedPerSeries[slice.seriesInstanceUID] = expected
                }
            }
            let complete = !session.expectedPerSeries.isEmpty && session.countPerSeries.allSatisfy { series, count in
                guard let expected = session.expectedPerSeries[series] else { return false }
                return count >= expected
            }
            s.sessions[key] = session
            return complete ? [Self.trigger(&s.sessions[key]!, .imageCount, now)] : []
        }
        if let collision {
            // Session ids only: which patients collided is PHI, and that they did is what the site must chase.
            logger.warning("patient differs from an open session with the same study and frame of reference; planned as a separate session", metadata: [
                               "session": "\(collision.new)", "other_sessions": "\(collision.existing.joined(separator: ","))",
                               "calling_ae": "\(instance.callingAETitle)"])
        }
        return ready
    }

    /// The association ended normally: every session it fed that has unplanned slices is ready.
    public func released(associationID: UInt64, at now: ContinuousClock.Instant = .now) -> [LocalizerSnapshot] {
        // Held instances whose series never showed a second orientation: the console is done with them.
        let settled = state.withLock { s in
            s.undecided.filter { $0.value.contains { $0.instance.associationID == associationID } }.map { ($0.key, $0.value[0].instance) }
        }
        for (series, instance) in settled { ignore(series: series, instance) }
        return state.withLock { s in
            s.sessions.keys.compactMap { key -> LocalizerSnapshot? in
                guard s.sessions[key]!.dirty, s.sessions[key]!.associations.contains(associationID) else { return nil }
                return Self.trigger(&s.sessions[key]!, .associationReleased, now)
            }
        }
    }

    /// Sessions that have waited the idle timeout since their last slice; also forgets long-finished sessions.
    public func expireIdle(at now: ContinuousClock.Instant = .now) -> [LocalizerSnapshot] {
        let (ready, dropped) = state.withLock { s -> ([LocalizerSnapshot], [String]) in
            Self.forgetPlanned(&s, now: now, window: min(retention, Self.lateSliceWindow))
            var dropped: [String] = []
            for (series, held) in s.undecided where now - (held.last?.at ?? now) > retention {
                dropped += held.map(\.instance.sopInstanceUID)
                s.undecided[series] = nil
                s.ignoredSeries.insert(series)
            }
            let ready = s.sessions.keys.compactMap { key -> LocalizerSnapshot? in
                guard s.sessions[key]!.dirty, now - s.sessions[key]!.last >= idleTimeout else { return nil }
                return Self.trigger(&s.sessions[key]!, .idle, now)
            }
            return (ready, dropped)
        }
        if !dropped.isEmpty { discarded(dropped) }
        return ready
    }

    /// Drops planned sessions past the late-slice window, and the oldest beyond `maximumRetained` or
    /// `maximumRetainedBytes`, with what was remembered about their series.
    private static func forgetPlanned(_ s: inout State, now: ContinuousClock.Instant, window: Duration) {
        let clean = s.sessions.filter { !$0.value.dirty }.sorted { $0.value.last > $1.value.last }
        var bytes = 0
        for (n, (key, session)) in clean.enumerated() {
            bytes += session.instances.reduce(0) { $0 + $1.datasetBytes.count + $1.slices.reduce(0) { $0 + 4 * $1.pixels.count } }
            guard n >= maximumRetained || bytes > maximumRetainedBytes || now - session.last > window else { continue }
            for series in session.countPerSeries.keys { s.seriesOrientations[series] = nil }
            s.sessions[key] = nil
        }
        if s.ignoredSeries.count > maximumIgnoredSeries { s.ignoredSeries.removeAll() }
    }

    /// When the next idle trigger could fire, if any session is waiting.
    public var nextIdleDeadline: ContinuousClock.Instant? {
        state.withLock { s in s.sessions.values.filter(\.dirty).map { $0.last + idleTimeout }.min() }
    }

    private static func trigger(_ session: inout Session, _ trigger: SessionTrigger, _ now: ContinuousClock.Instant) -> LocalizerSnapshot {
        session.dirty = false
        session.generation += 1
        let first = session.first
        let offsets = session.arrivals.map { ($0 - first).seconds }
        let head = session.instances[0]
        return LocalizerSnapshot(
            sessionID: session.id, generation: session.generation, trigger: trigger,
            callingAETitle: session.instances.last?.callingAETitle ?? head.callingAETitle,
            peerAddress: session.instances.last?.peerAddress ?? head.peerAddress,
            instances: session.instances, arrivalOffsets: offsets, slices: session.order.compactMap { session.slices[$0] })
    }
}
