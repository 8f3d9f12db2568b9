import CDCMTK
import Foundation
import SpinePlanGeometry

/// The plan as a DICOM Comprehensive 3D SR: TID 1500 with one TID 1410 planar ROI group per planned stack,
/// per the SR contract in Docs/conformance.md. Built by DCMTK's dcmsr through the shim.
public enum StructuredReportWriter {
    /// One planned stack, geometry only.
    public struct Plane: Sendable {
        /// The disc's level, or nil when the levels were not named.
        public var level: DiscLevel?
        /// Corners P0, P1, P2, P3 of the centre slice's FOV rectangle: P1−P0 along the row direction, P3−P0 along the column.
        public var corners: [Vector3]
        public var thickness: Double
        public var spacing: Double
        public var slices: Int
        public var confidence: Double

        public init(level: DiscLevel?, corners: [Vector3], thickness: Double, spacing: Double, slices: Int, confidence: Double) {
            precondition(corners.count == 4)
            self.level = level
            self.corners = corners
            self.thickness = thickness
            self.spacing = spacing
            self.slices = slices
            self.confidence = confidence
        }

        /// The FOV rectangle of a stack's centre slice.
        public static func rectangle(centre: Vector3, row: Vector3, column: Vector3, fieldOfView: SIMD2<Double>) -> [Vector3] {
            let p0 = centre - row * (fieldOfView.x / 2) - column * (fieldOfView.y / 2)
            return [p0, p0 + row * fieldOfView.x, p0 + row * fieldOfView.x + column * fieldOfView.y, p0 + column * fieldOfView.y]
        }
    }

    /// Finding-site codes of the intervertebral discs: SNOMED CT where it has the disc; SpinePlan's private scheme for
    /// the transitional discs, which SNOMED CT does not name (Docs/conformance.md).
    /// Exhaustive over `DiscLevel`, so a level the planner can name always has a code.
    public static func discCode(_ level: DiscLevel) -> (code: String, scheme: String, meaning: String) {
        switch level {
        case .t12L1: ("76206002", "SCT", "T12-L1 intervertebral disc")
        case .l1L2: ("80064006", "SCT", "L1-L2 intervertebral disc")
        case .l2L3: ("67459009", "SCT", "L2-L3 intervertebral disc")
        case .l3L4: ("62551000", "SCT", "L3-L4 intervertebral disc")
        case .l4L5: ("84020006", "SCT", "L4-L5 intervertebral disc")
        case .l5S1: ("715056000", "SCT", "L5-S1 intervertebral disc")
        case .l5L6: ("DISC-L5-L6", "99SPINEPLAN", "L5-L6 intervertebral disc (transitional)")
        case .l6S1: ("DISC-L6-S1", "99SPINEPLAN", "L6-S1 intervertebral disc (transitional)")
        case .l4S1: ("DISC-L4-S1", "99SPINEPLAN", "L4-S1 intervertebral disc (transitional)")
        }
    }

    /// The disc level a finding-site code names, in either scheme.
    public static func level(ofFindingSite code: String) -> DiscLevel? {
        DiscLevel.allCases.first { discCode($0).code == code }
    }

    /// Who wrote the report.
    public struct Device: Sendable {
        public var uid: String
        public var name: String
        public var modelName: String
        public var softwareVersion: String

        public init(uid: String, name: String = "SpinePlan", modelName: String, softwareVersion: String) {
            self.uid = uid
            self.name = name
            self.modelName = modelName
            self.softwareVersion = softwareVersion
        }
    }

    /// Codes of the NUM items in each planar ROI group (see Docs/conformance.md).
    static let thicknessConcept = ("112225", "DCM", "Slice Thickness")
    static let spacingConcept = ("112226", "DCM", "Spacing between slices")
    static let slicesConcept = ("SLICES", "99SPINEPLAN", "Number of slices")
    static let confidenceConcept = ("CONFIDENCE", "99SPINEPLAN", "Plane confidence")

    /// The SR for `planes`, with patient and study copied from `source`, a new series, and `evidence` referenced;
    /// `comments` (warnings, an abstention) become TEXT items.
    public static func make(planes: [Plane], source: Slice, evidence: [Slice], device: Device, comments: [String] = [],
                            seriesNumber: Int = 9900, now: Date = Date()) throws(DICOMError) -> DICOMObject {
        let ps = source.patientStudy
        var seen = Set<String>()
        let refs = evidence.filter { seen.insert($0.sopInstanceUID).inserted }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd"
        let date = formatter.string(from: now)
        formatter.dateFormat = "HHmmss"
        let time = formatter.string(from: now)
        // Every C string lives in one arena for the duration of the call.
        let arena = CStringArena()
        func c(_ s: String) -> UnsafePointer<CChar> { arena.add(s) }
        func code(_ t: (String, String, String)) -> spdcm_code { spdcm_code(value: c(t.0), scheme: c(t.1), meaning: c(t.2)) }
        let mm = ("mm", "UCUM", "millimeter")
        var pointBuffers: [[Double]] = planes.map { p in (p.corners + [p.corners[0]]).flatMap { [$0.x, $0.y, $0.z] } }
        var measurementBuffers: [[spdcm_sr_measurement]] = planes.map { p in [
            spdcm_sr_measurement(concept: code(thicknessConcept), value: p.thickness, unit: code(mm)),
            spdcm_sr_measurement(concept: code(spacingConcept), value: p.spacing, unit: code(mm)),
            spdcm_sr_measurement(concept: code(slicesConcept), value: Double(p.slices), unit: code(("{slices}", "UCUM", "slices"))),
            spdcm_sr_measurement(concept: code(confidenceConcept), value: p.confidence, unit: code(("1", "UCUM", "no units"))),
        ] }
        let identifiers = planes.enumerated().map { i, p in "\(p.level?.name ?? "unnamed disc \(i + 1)") oblique axial" }
        var evidenceItems = refs.map {
            spdcm_sr_evidence(study_uid: c($0.studyInstanceUID), series_uid: c($0.seriesInstanceUID),
                              sop_class_uid: c($0.sopClassUID), sop_instance_uid: c($0.sopInstanceUID))
        }
        var commentPointers: [UnsafePointer<CChar>] = comments.map { c($0) }
        var error = spdcm_error()
        let handle: OpaquePointer? = withArrays(&pointBuffers, &measurementBuffers) { points, measurements in
            var groups: [spdcm_sr_group] = planes.indices.map { i in
                let site = planes[i].level.map(discCode)
                return spdcm_sr_group(
                    tracking_identifier: c(identifiers[i]), tracking_uid: c(DICOMUID.make()),
                    finding_site: site.map { code(($0.code, $0.scheme, $0.meaning)) } ?? spdcm_code(value: c(""), scheme: c(""), meaning: c("")),
                    points: points[i], point_count: 5, measurements: measurements[i], measurement_count: 4)
            }
            return groups.withUnsafeMutableBufferPointer { g in
                evidenceItems.withUnsafeMutableBufferPointer { e in
                    commentPointers.withUnsafeMutableBufferPointer { cm in
                        var d = spdcm_sr_description(
                            patient_name: c(ps.patientName), patient_id: c(ps.patientID), patient_birth_date: c(ps.patientBirthDate),
                            patient_sex: c(ps.patientSex), study_instance_uid: c(ps.studyInstanceUID), study_date: c(ps.studyDate),
                            study_time: c(ps.studyTime), study_id: c(ps.studyID), accession_number: c(ps.accessionNumber),
                            referring_physician_name: c(ps.referringPhysicianName), study_description: c(ps.studyDescription),
                            series_instance_uid: c(DICOMUID.make()), sop_instance_uid: c(DICOMUID.make()),
                            series_description: c("SpinePlan oblique axial plan"), series_number: Int32(seriesNumber),
                            instance_number: 1, content_date: c(date), content_time: c(time),
                            frame_of_reference_uid: c(source.frameOfReferenceUID), device_uid: c(device.uid),
                            device_name: c(device.name), manufacturer: c("SpinePlan"), model_name: c(device.modelName),
                            software_version: c(device.softwareVersion),
                            // SNOMED 241620005 is "Cardiac MRI"; no lumbar-spine MRI code could be verified, so the generic
                            // "Imaging procedure" of CID 100 is used.
                            procedure_reported: code(("363679005", "SCT", "Imaging procedure")),
                            groups: UnsafePointer(g.baseAddress), group_count: g.count,
                            evidence: UnsafePointer(e.baseAddress), evidence_count: e.count,
                            comments: UnsafePointer(cm.baseAddress), comment_count: cm.count)
                        return spdcm_sr_create(&d, &error)
                    }
                }
            }
        }
        withExtendedLifetime(arena) {}
        guard let handle else { throw DICOMError(error) }
        return DICOMObject(adopting: handle)
    }

    /// Stable base addresses for each inner array while `body` runs.
    private static func withArrays<R>(_ points: inout [[Double]], _ measurements: inout [[spdcm_sr_measurement]],
                                      _ body: ([UnsafePointer<Double>], [UnsafePointer<spdcm_sr_measurement>]) -> R) -> R {
        let p = points.map { array -> UnsafeMutablePointer<Double> in
            let ptr = UnsafeMutablePointer<Double>.allocate(capacity: max(1, array.count))
            ptr.initialize(from: array, count: array.count)
            return ptr
        }
        let m = measurements.map { array -> UnsafeMutablePointer<spdcm_sr_measurement> in
            let ptr = UnsafeMutablePointer<spdcm_sr_measurement>.allocate(capacity: max(1, array.count))
            ptr.initialize(from: array, count: array.count)
            return ptr
        }
        defer {
            p.forEach { $0.deallocate() }
            m.forEach { $0.deallocate() }
        }
        return body(p.map { UnsafePointer($0) }, m.map { UnsafePointer($0) })
    }
}

/// Owns C copies of Swift strings until it is released.
final class CStringArena {
    private var pointers: [UnsafeMutablePointer<CChar>] = []

    func add(_ s: String) -> UnsafePointer<CChar> {
        let p = strdup(s)!
        pointers.append(p)
        return UnsafePointer(p)
    }

    deinit { pointers.forEach { free($0) } }
}
