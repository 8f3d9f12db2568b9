import Logging
import Testing
import SpinePlanDICOM
import SpinePlanTestSupport
import SpinePlanGeometry
@testable import SpinePlanService

@Suite struct SessionAssemblerTests {
    let logger = Logger(label: "test.sessions")

    @Test("a session is planned when every series reaches ImagesInAcquisition, and split by orientation")
    func countTrigger() {
        let assembler = SessionAssembler(idleTimeout: .seconds(5), logger: logger)
        let slices = (0..<3).map { ServiceFixtures.slice(index: $0, imagesInAcquisition: 5) }
            + (0..<2).map { ServiceFixtures.slice(index: $0, orientation: .coronal, imagesInAcquisition: 5) }
        var ready: [LocalizerSnapshot] = []
        for (i, slice) in slices.enumerated() {
            ready += assembler.add(ServiceFixtures.instance(slice))
            #expect(ready.isEmpty == (i < 4), "after \(i + 1) slices")
        }
        #expect(ready.count == 1)
        #expect(ready.first?.trigger == .imageCount)
        #expect(ready.first?.stack(.sagittal).count == 3)
        #expect(ready.first?.stack(.coronal).count == 2)
        #expect(ready.first?.stack(.axial).isEmpty == true)
    }

    @Test("planned sessions are kept for late slices at most 60 s and 16 at a time, so memory does not grow with load")
    func retentionIsBounded() {
        let assembler = SessionAssembler(idleTimeout: .seconds(5), logger: logger)
        let start = ContinuousClock.now
        for n in 0..<40 {
            let association = UInt64(n + 1)
            for i in 0..<3 {
                let slice = ServiceFixtures.slice(study: "1.2.826.0.1.3680043.10.9.\(n)", series: "1.2.826.0.1.3680043.10.8.\(n)", index: i)
                _ = assembler.add(ServiceFixtures.instance(slice, association: association), at: start)
            }
            #expect(assembler.released(associationID: association, at: start).count == 1)
        }
        // One open (unplanned) session is never dropped, however old.
        _ = assembler.add(ServiceFixtures.instance(ServiceFixtures.slice(study: "1.2.826.0.1.3680043.10.9.999", index: 0), association: 99), at: start)
        #expect(assembler.sessionCount == 41)
        _ = assembler.expireIdle(at: start + .seconds(1))
        #expect(assembler.sessionCount == SessionAssembler.maximumRetained + 1)
        let late = assembler.expireIdle(at: start + .seconds(61))
        #expect(late.count == 1, "the open session is planned at its idle timeout")
        _ = assembler.expireIdle(at: start + .seconds(62))
        #expect(assembler.sessionCount == 0, "every session is planned and its last slice is over 60 s old")
    }

    @Test("A-RELEASE of the carrying association triggers; another association's release does not")
    func releaseTrigger() {
        let assembler = SessionAssembler(idleTimeout: .seconds(5), logger: logger)
        for i in 0..<3 { _ = assembler.add(ServiceFixtures.instance(ServiceFixtures.slice(index: i), association: 7)) }
        #expect(assembler.released(associationID: 8).isEmpty)
        let ready = assembler.released(associationID: 7)
        #expect(ready.map(\.trigger) == [.associationReleased])
        #expect(ready.first?.slices.count == 3)
        // Nothing new arrived: a second release of the same association does not plan again.
        #expect(assembler.released(associationID: 7).isEmpty)
    }

    @Test("the idle timeout triggers, and a late or re-sent slice starts a fresh plan with the newest copy")
    func idleAndReplan() {
        let assembler = SessionAssembler(idleTimeout: .milliseconds(200), logger: logger)
        let start = ContinuousClock.now
        _ = assembler.add(ServiceFixtures.instance(ServiceFixtures.slice(index: 0)), at: start)
        _ = assembler.add(ServiceFixtures.instance(ServiceFixtures.slice(index: 1)), at: start + .milliseconds(50))
        #expect(assembler.expireIdle(at: start + .milliseconds(200)).isEmpty)
        let first = assembler.expireIdle(at: start + .milliseconds(260))
        #expect(first.map(\.generation) == [1])
        var resent = ServiceFixtures.slice(index: 1)
        resent.pixels = [Float](repeating: 42, count: resent.pixels.count)
        _ = assembler.add(ServiceFixtures.instance(resent), at: start + .seconds(1))
        let second = assembler.expireIdle(at: start + .seconds(2))
        #expect(second.map(\.generation) == [2])
        #expect(second.first?.slices.count == 2)
        #expect(second.first?.slices.last?.pixels.first == 42)
        #expect(second.first?.sessionID == first.first?.sessionID)
    }

    @Test("a non-localizer series is ignored; different studies make different sessions")
    func ignoresNonLocalizers() {
        let assembler = SessionAssembler(idleTimeout: .milliseconds(10), logger: logger)
        let t2 = ServiceFixtures.slice(series: "1.2.3.9", imageType: ["ORIGINAL", "PRIMARY", "M"], description: "T2 TSE SAG")
        #expect(assembler.add(ServiceFixtures.instance(t2)).isEmpty)
        #expect(assembler.sessionCount == 0)
        _ = assembler.add(ServiceFixtures.instance(ServiceFixtures.slice(study: "1.2.3.1")))
        _ = assembler.add(ServiceFixtures.instance(ServiceFixtures.slice(study: "1.2.3.2")))
        #expect(assembler.sessionCount == 2)
        let ready = assembler.expireIdle(at: .now + .seconds(1))
        #expect(Set(ready.map(\.sessionID)).count == 2)
    }

    @Test("an unmarked series becomes a localizer by its geometry once a second orientation arrives; a single-plane one is ignored")
    func geometryClassification() {
        let assembler = SessionAssembler(idleTimeout: .seconds(60), logger: logger)
        let plain = ["ORIGINAL", "PRIMARY", "M"]
        func slice(_ series: String, _ index: Int, _ orientation: PlaneOrientation) -> Slice {
            ServiceFixtures.slice(series: series, index: index, orientation: orientation, imagesInAcquisition: 5, imageType: plain,
                                  description: "T1 FAST")
        }
        for i in 0..<3 { #expect(assembler.add(ServiceFixtures.instance(slice("1.2.3.20", i, .sagittal))).isEmpty) }
        #expect(assembler.sessionCount == 0, "held back until the series shows its geometry")
        #expect(assembler.add(ServiceFixtures.instance(slice("1.2.3.20", 0, .coronal))).isEmpty)
        #expect(assembler.sessionCount == 1)
        let ready = assembler.add(ServiceFixtures.instance(slice("1.2.3.20", 1, .coronal)))
        #expect(ready.count == 1)
        #expect(ready.first?.slices.count == 5, "the held sagittal slices are part of the session")

        let single = (0..<3).map { ServiceFixtures.instance(slice("1.2.3.21", $0, .sagittal), association: 2) }
        for instance in single { #expect(assembler.add(instance).isEmpty) }
        #expect(assembler.released(associationID: 2).isEmpty)
        #expect(assembler.add(ServiceFixtures.instance(slice("1.2.3.21", 0, .coronal), association: 3)).isEmpty,
                "a series ignored at its release stays ignored")
        #expect(assembler.sessionCount == 1)
    }

    /// Issue 16 point 3: two patients whose consoles reused one Study Instance UID and Frame of Reference UID.
    @Test("two patients sharing study and frame-of-reference UIDs are never merged, and the log names no patient")
    func patientCollision() {
        let log = CapturedLog()
        let assembler = SessionAssembler(idleTimeout: .seconds(60), logger: log.logger)
        func patient(_ slice: Slice, name: String, id: String) -> Slice {
            var s = slice
            s.patientStudy.patientName = name
            s.patientStudy.patientID = id
            return s
        }
        // Patient A's sagittal series, then patient B's coronal and axial ones: same study, same frame of reference,
        // one association, as in the reproduction.
        for i in 0..<3 {
            let s = ServiceFixtures.slice(series: "1.2.3.31", index: i)
            _ = assembler.add(ServiceFixtures.instance(patient(s, name: "Alpha^Anna", id: "PID-AAA"), association: 5))
        }
        for (i, orientation) in [PlaneOrientation.coronal, .coronal, .axial, .axial].enumerated() {
            let s = ServiceFixtures.slice(series: "1.2.3.32", index: i, orientation: orientation)
            _ = assembler.add(ServiceFixtures.instance(patient(s, name: "Beta^Bob", id: "PID-BBB"), association: 5))
        }
        // The same patient written with its trailing empty name components is still the same patient.
        let padded = patient(ServiceFixtures.slice(series: "1.2.3.31", index: 3), name: "Alpha^Anna^^", id: "PID-AAA")
        _ = assembler.add(ServiceFixtures.instance(padded, association: 5))
        #expect(assembler.sessionCount == 2)
        let ready = assembler.released(associationID: 5)
        #expect(ready.count == 2)
        for snapshot in ready {
            let patients = Set(snapshot.slices.map(\.patientStudy.patientID))
            #expect(patients.count == 1, "session \(snapshot.sessionID) mixes \(patients.count) patients")
            #expect(Set(snapshot.instances.flatMap(\.slices).map(\.patientStudy.patientID)) == patients)
        }
        let byPatient = Dictionary(uniqueKeysWithValues: ready.map { ($0.slices[0].patientStudy.patientID, $0) })
        #expect(byPatient["PID-AAA"]?.slices.count == 4)
        #expect(byPatient["PID-AAA"]?.stack(.coronal).isEmpty == true)
        #expect(byPatient["PID-BBB"]?.stack(.sagittal).isEmpty == true)
        #expect(byPatient["PID-BBB"]?.slices.count == 4)
        let lines = log.all
        #expect(lines.contains { $0.contains("patient differs") }, "the collision is logged")
        for phi in ["Alpha", "Beta", "PID-AAA", "PID-BBB"] {
            #expect(!lines.contains { $0.contains(phi) }, "\(phi) appears in the log")
        }
    }
}
