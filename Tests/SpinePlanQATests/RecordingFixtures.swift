import Foundation
import Logging
import SpinePlanDICOM
import SpinePlanGeometry
import SpinePlanPlanner
import SpinePlanScanner
@testable import SpinePlanQA
@testable import SpinePlanService

/// Sessions, plans and scratch folders for the recording and replay tests.
enum RecordingFixtures {
    /// Identity values that must never survive de-identification.
    static let patientName = "QAPATIENT^ZELDA^X"
    static let patientID = "QA-PID-918273"
    static let birthDate = "19510317"
    static let accession = "QAACC55443"
    static let institution = "St Quaintly Spine Hospital"
    static let studyUID = "1.2.826.0.1.3680043.8.498.77120931"
    static let seriesUID = "1.2.826.0.1.3680043.8.498.77120932"
    static let frameUID = "1.2.826.0.1.3680043.8.498.77120933"

    /// A fresh folder under the system temporary directory, removed by the caller.
    static func scratch(_ label: String) -> String {
        let path = NSTemporaryDirectory() + "spineplan-qa-\(label)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// One MR image object of a 3-plane localizer, with PHI in the usual places.
    static func object(_ index: Int, transferSyntax: String = TransferSyntax.explicitVRLittleEndian) throws -> DICOMObject {
        let normals: [(Vector3, Vector3)] = [
            (Vector3(0, 1, 0), Vector3(0, 0, -1)), (Vector3(1, 0, 0), Vector3(0, 0, -1)), (Vector3(1, 0, 0), Vector3(0, 1, 0)),
        ]
        let (row, column) = normals[index % 3]
        let plane = ImagePlane(position: Vector3(-100, -100, Double(index) * 4), rowDirection: row, columnDirection: column,
                               pixelSpacing: SIMD2(1.5, 1.5), rows: 16, columns: 16)
        let study = PatientStudy(patientName: patientName, patientID: patientID, patientBirthDate: birthDate, patientSex: "F",
                                 studyInstanceUID: studyUID, studyDate: "20261121", studyTime: "101010", studyID: "77",
                                 accessionNumber: accession, referringPhysicianName: "DR^REFERRER^QA", studyDescription: "LSPINE")
        let slice = Slice(sopInstanceUID: "1.2.826.0.1.3680043.8.498.771209\(40 + index)", seriesInstanceUID: seriesUID,
                          frameOfReferenceUID: frameUID, plane: plane, sliceThickness: 5, seriesNumber: 3, instanceNumber: index + 1,
                          patientStudy: study, pixels: (0..<256).map { Float(($0 * 37 + index * 11) % 4000) })
        let object = try DICOMFileWriter.makeMRImage(slice)
        try object.root.set(Tag(0x0008, 0x0080), institution)
        // A private creator carrying an identifier, as vendor blocks sometimes do; the profile must drop it.
        try object.root.set(Tag(0x0029, 0x0010), "QA \(patientID)")
        return object
    }

    /// A received instance built the way the SCP builds one: dataset bytes plus decoded slices.
    static func instance(_ index: Int, transferSyntax: String = TransferSyntax.explicitVRLittleEndian,
                         association: UInt64 = 1) throws -> ReceivedInstance {
        let object = try object(index)
        let bytes = try object.encoded(transferSyntax: transferSyntax)
        let slices = try SliceDecoder.slices(from: DICOMObject(datasetBytes: bytes, transferSyntax: transferSyntax))
        return ReceivedInstance(associationID: association, callingAETitle: "QA_CONSOLE", peerAddress: "127.0.0.1",
                                sopClassUID: SOPClass.mrImageStorage, sopInstanceUID: slices[0].sopInstanceUID,
                                transferSyntaxUID: transferSyntax, datasetBytes: bytes, slices: slices)
    }

    static func plan(shift: Vector3 = .zero, tilt: Double = 0, levels: [DiscLevel?] = [.l3L4, .l4L5, .l5S1]) -> ScanPlan {
        let planes = levels.enumerated().map { i, level in
            let angle = tilt * .pi / 180
            let column = Vector3(0, -sin(angle), cos(angle))
            let row = Vector3(1, 0, 0)
            return ScanPlan.Plane(level: level, centre: Vector3(1, 20, -40 - 35 * Double(i)) + shift, rowDirection: row,
                                  columnDirection: column, normal: row.cross(column), fieldOfView: SIMD2(200, 200), slices: 5,
                                  thickness: 4, spacing: 4.4, confidence: 0.9)
        }
        return ScanPlan(planes: planes, abstained: false, warnings: [], model: "vnet@test", timings: ["total": 80])
    }

    /// SpinePlan's SR for a plan, with the localizer as evidence and its patient and study.
    static func report(_ plan: ScanPlan, evidence: [Slice]) throws -> DICOMObject {
        let planes = plan.planes.map { p in
            StructuredReportWriter.Plane(level: p.level, corners: StructuredReportWriter.Plane.rectangle(
                centre: p.centre, row: p.rowDirection, column: p.columnDirection, fieldOfView: p.fieldOfView),
                                         thickness: p.thickness, spacing: p.spacing, slices: p.slices, confidence: p.confidence)
        }
        return try StructuredReportWriter.make(planes: planes, source: evidence[0], evidence: evidence,
                                               device: .init(uid: DICOMUID.make(), modelName: "vnet@test", softwareVersion: "test"))
    }

    /// Records a complete session of `count` instances and returns its folder.
    static func record(in root: String, count: Int = 3, plan: ScanPlan? = RecordingFixtures.plan(), sessionID: String = UUID().uuidString,
                       startedAt: Date = Date(), configuration: RecordingConfiguration? = nil,
                       overlayPNG: [UInt8]? = nil) throws -> (folder: String, instances: [ReceivedInstance]) {
        let recorder = SessionRecorder(configuration: configuration ?? RecordingConfiguration(directory: root, maxAgeSeconds: nil, maxTotalBytes: nil), logger: Logger(label: "qa-test"))
        let session = recorder.begin(sessionID: sessionID, callingAE: "QA_CONSOLE", calledAE: "SPINEPLAN", startedAt: startedAt)
        var instances: [ReceivedInstance] = []
        for i in 0..<count {
            let instance = try instance(i)
            instances.append(instance)
            session.record(instance: instance, arrivalOffset: Double(i) * 0.25)
        }
        let report = try self.report(plan ?? RecordingFixtures.plan(), evidence: instances.flatMap(\.slices))
        guard let folder = session.finish(plan: plan, sr: try report.encoded(), overlay: nil, overlayPNG: overlayPNG,
                                          model: "vnet@test", software: "spineplan 0.0-test", timings: ["total": 80]) else {
            throw RecordingError(.io, "recording did not finish")
        }
        return (folder, instances)
    }

    /// Every file under `path`, recursively.
    static func files(under path: String) -> [String] {
        let e = FileManager.default.enumerator(atPath: path)
        var out: [String] = []
        while let next = e?.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path + "/" + next, isDirectory: &isDir), !isDir.boolValue { out.append(path + "/" + next) }
        }
        return out.sorted()
    }

    static func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? -1
    }
}

/// A disk that fails with ENOSPC after a number of successful writes.
final class FullDisk: RecordingDisk, @unchecked Sendable {
    // @unchecked: `writes` is guarded by `lock`.
    private let lock = NSLock()
    private var writes = 0
    let allowed: Int
    let real = POSIXRecordingDisk()

    init(allowedWrites: Int) { allowed = allowedWrites }

    func makeDirectory(_ path: String) throws(RecordingError) { try real.makeDirectory(path) }

    func write(_ bytes: [UInt8], to path: String) throws(RecordingError) {
        lock.lock()
        writes += 1
        let n = writes
        lock.unlock()
        guard n <= allowed else { throw RecordingError(.io, "cannot write \(path): No space left on device") }
        try real.write(bytes, to: path)
    }

    func removeTree(_ path: String) { real.removeTree(path) }
}
