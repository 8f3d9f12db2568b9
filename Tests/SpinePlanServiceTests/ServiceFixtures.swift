import Foundation
import SpinePlanDICOM
import SpinePlanGeometry

/// Small, deterministic inputs for the service tests.
enum ServiceFixtures {
    /// One sagittal (or other) MR localizer slice of a synthetic patient.
    static func slice(study: String = "1.2.826.0.1.3680043.10.1.1", frame: String = "1.2.826.0.1.3680043.10.1.2",
                      series: String = "1.2.826.0.1.3680043.10.1.3", index: Int = 0, orientation: PlaneOrientation = .sagittal,
                      imagesInAcquisition: Int? = nil, imageType: [String] = ["ORIGINAL", "PRIMARY", "LOCALIZER"],
                      description: String = "3-plane loc") -> Slice {
        let (row, column, normal): (Vector3, Vector3, Vector3) = switch orientation {
        case .sagittal: (Vector3(0, 1, 0), Vector3(0, 0, -1), Vector3(-1, 0, 0))
        case .coronal: (Vector3(1, 0, 0), Vector3(0, 0, -1), Vector3(0, 1, 0))
        case .axial: (Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1))
        }
        let plane = ImagePlane(position: normal * Double(index) * 5 - row * 80 - column * 80, rowDirection: row,
                               columnDirection: column, pixelSpacing: SIMD2(5, 5), rows: 32, columns: 32)
        return Slice(sopInstanceUID: "1.2.826.0.1.3680043.10.1.100.\(orientation.rawValue.count).\(index)",
                     seriesInstanceUID: series, frameOfReferenceUID: frame, plane: plane, sliceThickness: 5,
                     imageType: imageType, seriesDescription: description, seriesNumber: 1, instanceNumber: index + 1,
                     imagesInAcquisition: imagesInAcquisition,
                     patientStudy: PatientStudy(patientName: "Fixture^Patient", patientID: "FIX-001", studyInstanceUID: study),
                     pixels: (0..<(32 * 32)).map { Float(($0 * 7 + index) % 100) })
    }

    static func instance(_ slice: Slice, association: UInt64 = 1, callingAE: String = "CONSOLE") -> ReceivedInstance {
        ReceivedInstance(associationID: association, callingAETitle: callingAE, peerAddress: "127.0.0.1",
                         sopClassUID: slice.sopClassUID, sopInstanceUID: slice.sopInstanceUID,
                         transferSyntaxUID: TransferSyntax.explicitVRLittleEndian, datasetBytes: [], slices: [slice])
    }
}
