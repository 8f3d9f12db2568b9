import SpinePlanDICOM
import SpinePlanGeometry

/// Writes `Slice` values as MR Image Storage or Enhanced MR Image Storage objects.
///
/// Pixels are stored as 16-bit unsigned integers with an identity rescale, so values must lie in 0...65535
/// (they are rounded and clamped).
public enum DICOMFileWriter {
    public static func writeMRImage(_ slice: Slice, to path: String) throws(DICOMError) {
        try makeMRImage(slice).write(toFile: path)
    }

    public static func writeEnhancedMR(_ frames: [Slice], to path: String) throws(DICOMError) {
        try makeEnhancedMR(frames).write(toFile: path)
    }

    /// A classic single-frame MR Image Storage object.
    public static func makeMRImage(_ slice: Slice) throws(DICOMError) -> DICOMObject {
        let object = try DICOMObject()
        let root = object.root
        try common(root, slice, sopClass: SOPClass.mrImageStorage, sopInstance: slice.sopInstanceUID)
        try root.set(.imageType, slice.imageType.joined(separator: "\\"))
        try root.set(.scanningSequence, "SE")
        try root.set(.sequenceVariant, "SK")
        try root.set(.scanOptions, "")
        try root.set(.mrAcquisitionType, "2D")
        try root.set(.repetitionTime, "")
        try root.set(.echoTime, "")
        try root.set(.echoTrainLength, "")
        try root.set(.instanceNumber, String(slice.instanceNumber ?? 1))
        if let n = slice.imagesInAcquisition { try root.set(.imagesInAcquisition, String(n)) }
        try root.set(.imagePositionPatient, numbers: [slice.plane.position.x, slice.plane.position.y, slice.plane.position.z])
        try root.set(.imageOrientationPatient, numbers: orientationValues(slice.plane))
        try root.set(.pixelSpacing, numbers: [slice.plane.pixelSpacing.x, slice.plane.pixelSpacing.y])
        if let t = slice.sliceThickness { try root.set(.sliceThickness, numbers: [t]) }
        if let s = slice.spacingBetweenSlices { try root.set(.spacingBetweenSlices, numbers: [s]) }
        try root.set(.rescaleIntercept, "0")
        try root.set(.rescaleSlope, "1")
        try root.set(.rescaleType, "US")
        try pixelModule(root, slice.plane, frames: 1)
        try root.set(.pixelData, words: quantized([slice]))
        return object
    }

    /// One Enhanced MR multi-frame object holding every frame; geometry lives in the functional groups.
    public static func makeEnhancedMR(_ frames: [Slice]) throws(DICOMError) -> DICOMObject {
        guard let first = frames.first else { throw DICOMError(.invalidArgument, "an enhanced MR object needs at least one frame") }
        for f in frames where f.plane.rows != first.plane.rows || f.plane.columns != first.plane.columns {
            throw DICOMError(.invalidArgument, "every frame of an enhanced MR object must have the same matrix")
        }
        let object = try DICOMObject()
        let root = object.root
        try common(root, first, sopClass: SOPClass.enhancedMRImageStorage, sopInstance: first.sopInstanceUID)
        let derived = first.imageType.first ?? "ORIGINAL"
        try root.set(.imageType, [derived, "PRIMARY", "LOCALIZER", "NONE"].joined(separator: "\\"))
        try root.set(.instanceNumber, String(first.instanceNumber ?? 1))
        try root.set(.contentQualification, "PRODUCT")
        try root.set(.resonantNucleus, "1H")
        try root.set(.kSpaceFiltering, "NONE")
        try root.set(.magneticFieldStrength, "1.5")
        try root.set(.applicableSafetyStandardAgency, "IEC")
        try root.set(.imageComments, "")
        try root.set(.acquisitionDateTime, first.patientStudy.studyDate + first.patientStudy.studyTime)
        try root.set(.pixelPresentation, "MONOCHROME")
        try root.set(.volumetricProperties, "VOLUME")
        try root.set(.volumeBasedCalculationTechnique, "NONE")
        try root.set(.complexImageComponent, "MAGNITUDE")
        try root.set(.acquisitionContrast, "T2")
        try root.set(.numberOfFrames, String(frames.count))
        try pixelModule(root, first.plane, frames: frames.count)

        let dimensionOrganization = DICOMUID.fromBits(high: stableHash(first.sopInstanceUID + "/dim"), low: stableHash(first.seriesInstanceUID + "/dim"))
        try root.appendItem(.dimensionOrganizationSequence).set(.dimensionOrganizationUID, dimensionOrganization)
        for (pointer, group) in [(Tag.stackID, Tag.frameContentSequence), (Tag.inStackPositionNumber, Tag.frameContentSequence)] {
            let index = try root.appendItem(.dimensionIndexSequence)
            try index.set(.dimensionOrganizationUID, dimensionOrganization)
            try index.set(.dimensionIndexPointer, pointer.description)
            try index.set(.functionalGroupPointer, group.description)
        }

        let shared = try root.appendItem(.sharedFunctionalGroupsSequence)
        let measures = try shared.appendItem(.pixelMeasuresSequence)
        try measures.set(.pixelSpacing, numbers: [first.plane.pixelSpacing.x, first.plane.pixelSpacing.y])
        try measures.set(.sliceThickness, numbers: [first.sliceThickness ?? 1])
        if let s = first.spacingBetweenSlices { try measures.set(.spacingBetweenSlices, numbers: [s]) }
        let transform = try shared.appendItem(.pixelValueTransformationSequence)
        try transform.set(.rescaleIntercept, "0")
        try transform.set(.rescaleSlope, "1")
        try transform.set(.rescaleType, "US")
        let frameType = try shared.appendItem(.mrImageFrameTypeSequence)
        try frameType.set(.frameType, [derived, "PRIMARY", "LOCALIZER", "NONE"].joined(separator: "\\"))
        try frameType.set(.pixelPresentation, "MONOCHROME")
        try frameType.set(.volumetricProperties, "VOLUME")
        try frameType.set(.volumeBasedCalculationTechnique, "NONE")
        try frameType.set(.complexImageComponent, "MAGNITUDE")
        try frameType.set(.acquisitionContrast, "T2")

        // Frames are grouped into stacks by orientation, so a mixed 3-plane object stays navigable.
        var stacks: [PlaneOrientation: Int] = [:]
        var positions: [PlaneOrientation: Int] = [:]
        for frame in frames {
            let orientation = frame.plane.orientation
            if stacks[orientation] == nil { stacks[orientation] = stacks.count + 1 }
            positions[orientation, default: 0] += 1
            let stack = stacks[orientation]!, position = positions[orientation]!
            let item = try root.appendItem(.perFrameFunctionalGroupsSequence)
            let content = try item.appendItem(.frameContentSequence)
            try content.set(.stackID, String(stack))
            try content.set(.inStackPositionNumber, String(position))
            try content.set(.frameAcquisitionNumber, String(frame.instanceNumber ?? position))
            try content.set(.frameAcquisitionDateTime, frame.patientStudy.studyDate + frame.patientStudy.studyTime)
            try content.set(.frameReferenceDateTime, frame.patientStudy.studyDate + frame.patientStudy.studyTime)
            try content.set(.frameAcquisitionDuration, "100")
            try content.set(.dimensionIndexValues, "\(stack)\\\(position)")
            try item.appendItem(.planePositionSequence).set(.imagePositionPatient, numbers: [frame.plane.position.x, frame.plane.position.y, frame.plane.position.z])
            try item.appendItem(.planeOrientationSequence).set(.imageOrientationPatient, numbers: orientationValues(frame.plane))
            if frame.plane.pixelSpacing != first.plane.pixelSpacing || frame.sliceThickness != first.sliceThickness {
                let m = try item.appendItem(.pixelMeasuresSequence)
                try m.set(.pixelSpacing, numbers: [frame.plane.pixelSpacing.x, frame.plane.pixelSpacing.y])
                try m.set(.sliceThickness, numbers: [frame.sliceThickness ?? 1])
            }
        }
        try root.set(.pixelData, words: quantized(frames))
        return object
    }

    static func orientationValues(_ plane: ImagePlane) -> [Double] {
        [plane.rowDirection.x, plane.rowDirection.y, plane.rowDirection.z,
         plane.columnDirection.x, plane.columnDirection.y, plane.columnDirection.z]
    }

    static func common(_ root: DICOMItem, _ slice: Slice, sopClass: String, sopInstance: String) throws(DICOMError) {
        let ps = slice.patientStudy
        try root.set(.specificCharacterSet, "ISO_IR 192")
        try root.set(.sopClassUID, sopClass)
        try root.set(.sopInstanceUID, sopInstance)
        try root.set(.studyDate, ps.studyDate)
        try root.set(.studyTime, ps.studyTime)
        try root.set(.contentDate, ps.studyDate)
        try root.set(.contentTime, ps.studyTime)
        try root.set(.accessionNumber, ps.accessionNumber)
        try root.set(.modality, "MR")
        try root.set(.manufacturer, "SpinePlan virtual scanner")
        try root.set(.referringPhysicianName, ps.referringPhysicianName)
        try root.set(.studyDescription, ps.studyDescription)
        try root.set(.seriesDescription, slice.seriesDescription)
        try root.set(.patientName, ps.patientName)
        try root.set(.patientID, ps.patientID)
        try root.set(.patientBirthDate, ps.patientBirthDate)
        try root.set(.patientSex, ps.patientSex)
        try root.set(.studyInstanceUID, ps.studyInstanceUID)
        try root.set(.seriesInstanceUID, slice.seriesInstanceUID)
        try root.set(.studyID, ps.studyID)
        try root.set(.seriesNumber, String(slice.seriesNumber ?? 1))
        try root.set(.frameOfReferenceUID, slice.frameOfReferenceUID)
        try root.set(.positionReferenceIndicator, "")
        try root.set(.patientPosition, "HFS")
    }

    static func pixelModule(_ root: DICOMItem, _ plane: ImagePlane, frames: Int) throws(DICOMError) {
        try root.set(.samplesPerPixel, uint16: 1)
        try root.set(.photometricInterpretation, "MONOCHROME2")
        try root.set(.rows, uint16: UInt16(plane.rows))
        try root.set(.columns, uint16: UInt16(plane.columns))
        try root.set(.bitsAllocated, uint16: 16)
        try root.set(.bitsStored, uint16: 16)
        try root.set(.highBit, uint16: 15)
        try root.set(.pixelRepresentation, uint16: 0)
        try root.set(.burnedInAnnotation, "NO")
        try root.set(.lossyImageCompression, "00")
    }

    static func quantized(_ slices: [Slice]) -> [UInt16] {
        var out: [UInt16] = []
        out.reserveCapacity(slices.reduce(0) { $0 + $1.pixels.count })
        for s in slices {
            for v in s.pixels { out.append(UInt16(max(0, min(65535, v.rounded())))) }
        }
        return out
    }

    /// FNV-1a: a stable hash for deterministic UIDs (Swift's Hasher is seeded per process).
    static func stableHash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return h
    }
}
