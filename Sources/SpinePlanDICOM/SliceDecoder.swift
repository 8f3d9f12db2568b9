import SpinePlanGeometry

/// Turns a received MR or Enhanced MR object into `Slice` values, one per frame.
public enum SliceDecoder {
    /// `limits` refuses images larger than a localizer before their pixels are decoded; objects read back from
    /// SpinePlan's own journal or recordings pass `.none`, as they were checked on arrival.
    public static func slices(from object: DICOMObject, limits: SliceLimits = .none) throws(DICOMError) -> [Slice] {
        let root = object.root
        guard let sopClass = root.trimmed(.sopClassUID) else { throw missing(.sopClassUID, "SOP Class UID") }
        // A CT (or any other modality) wrapped in an MR SOP class was once planned as if it were MR. An absent
        // Modality is let through: the SOP class already says MR, and a missing Type 1 tag is no sign of another
        // modality.
        if let modality = root.trimmed(.modality), modality.uppercased() != "MR" {
            throw DICOMError(.wrongModality, "Modality \(modality.prefix(16)) in an MR object; only MR is planned")
        }
        switch sopClass {
        case SOPClass.mrImageStorage: return [try classic(root, sopClass: sopClass, limits: limits)]
        case SOPClass.enhancedMRImageStorage: return try enhanced(root, sopClass: sopClass, limits: limits)
        default: throw DICOMError(.unsupported, "SOP class \(sopClass) is not an MR image")
        }
    }

    static func missing(_ tag: Tag, _ name: String) -> DICOMError {
        DICOMError(.missingAttribute, "missing or malformed \(name) \(tag)")
    }

    static func patientStudy(_ root: DICOMItem) throws(DICOMError) -> PatientStudy {
        guard let study = root.trimmed(.studyInstanceUID) else { throw missing(.studyInstanceUID, "Study Instance UID") }
        return PatientStudy(
            patientName: root.trimmed(.patientName) ?? "", patientID: root.trimmed(.patientID) ?? "",
            patientBirthDate: root.trimmed(.patientBirthDate) ?? "", patientSex: root.trimmed(.patientSex) ?? "",
            studyInstanceUID: study, studyDate: root.trimmed(.studyDate) ?? "", studyTime: root.trimmed(.studyTime) ?? "",
            studyID: root.trimmed(.studyID) ?? "", accessionNumber: root.trimmed(.accessionNumber) ?? "",
            referringPhysicianName: root.trimmed(.referringPhysicianName) ?? "",
            studyDescription: root.trimmed(.studyDescription) ?? "")
    }

    struct PixelFormat {
        var rows: Int, columns: Int, bitsAllocated: Int, bitsStored: Int, signed: Bool

        init(_ root: DICOMItem) throws(DICOMError) {
            guard let r = root.int(.rows), r > 0 else { throw missing(.rows, "Rows") }
            guard let c = root.int(.columns), c > 0 else { throw missing(.columns, "Columns") }
            let spp = root.int(.samplesPerPixel) ?? 1
            guard spp == 1 else { throw DICOMError(.unsupported, "Samples per Pixel \(spp): only greyscale MR is supported") }
            let ba = root.int(.bitsAllocated) ?? 16
            guard ba == 8 || ba == 16 else { throw DICOMError(.unsupported, "Bits Allocated \(ba): only 8 or 16 are supported") }
            let bs = root.int(.bitsStored) ?? ba
            guard bs >= 1 && bs <= ba else { throw missing(.bitsStored, "Bits Stored") }
            rows = r
            columns = c
            bitsAllocated = ba
            bitsStored = bs
            signed = root.int(.pixelRepresentation) == 1
        }

        var bytesPerFrame: Int { rows * columns * bitsAllocated / 8 }

        /// Raw stored values of one frame, masked or sign-extended to Bits Stored.
        func decode(_ raw: UnsafeRawBufferPointer, frame: Int, slope: Double, intercept: Double) -> [Float] {
            let count = rows * columns
            let offset = frame * bytesPerFrame
            var out = [Float](repeating: 0, count: count)
            let mask: Int32 = bitsStored >= 32 ? -1 : Int32((1 << bitsStored) - 1)
            let shift = Int32(32 - bitsStored)
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<count {
                    var v: Int32
                    if bitsAllocated == 16 {
                        let lo = UInt16(raw[offset + 2 * i]), hi = UInt16(raw[offset + 2 * i + 1])
                        v = Int32(lo | hi << 8)
                    } else {
                        v = Int32(raw[offset + i])
                    }
                    v &= mask
                    if signed { v = (v << shift) >> shift }
                    // Rescale in double precision, as pydicom's modality LUT does, then narrow once.
                    dst[i] = Float(Double(v) * slope + intercept)
                }
            }
            return out
        }
    }

    /// Pixel spacing a localizer can have, in mm. Below 0.05 mm is beyond any MR system's resolution; above 20 mm a
    /// 512-pixel image would span 10 m. Values outside were acknowledged and only failed at planning, so the
    /// console never heard; refusing at C-STORE tells it at once.
    public static let plausiblePixelSpacing = 0.05...20.0
    /// Slice thickness likewise: thick-slab MR (MRCP) reaches about 80 mm, so 150 mm refuses nothing real.
    public static let plausibleSliceThickness = 0.05...150.0

    static func plane(position: [Double]?, orientation: [Double]?, spacing: [Double]?, format: PixelFormat) throws(DICOMError) -> ImagePlane {
        guard let p = position, p.count == 3 else { throw missing(.imagePositionPatient, "Image Position (Patient)") }
        guard let o = orientation, o.count == 6 else { throw missing(.imageOrientationPatient, "Image Orientation (Patient)") }
        guard let s = spacing, s.count == 2 else { throw missing(.pixelSpacing, "Pixel Spacing") }
        // Double("nan"), Double("inf") and Double("1e999") all parse, so finiteness is checked, not assumed.
        guard p.allSatisfy(\.isFinite) else { throw DICOMError(.nonFinite, "Image Position (Patient) is not finite") }
        guard o.allSatisfy(\.isFinite) else { throw DICOMError(.nonFinite, "Image Orientation (Patient) is not finite") }
        guard s.allSatisfy(\.isFinite) else { throw DICOMError(.nonFinite, "Pixel Spacing is not finite") }
        guard s.allSatisfy(plausiblePixelSpacing.contains) else {
            let bad = s.first { !plausiblePixelSpacing.contains($0) }!
            throw DICOMError(.outOfRange, "Pixel Spacing \(bad) mm outside \(plausiblePixelSpacing.lowerBound)...\(plausiblePixelSpacing.upperBound) mm")
        }
        let row = Vector3(o[0], o[1], o[2]), col = Vector3(o[3], o[4], o[5])
        guard abs(row.length - 1) < 0.01, abs(col.length - 1) < 0.01, abs(row.dot(col)) < 0.01 else {
            throw DICOMError(.notOrthonormal, "Image Orientation (Patient) is not orthonormal")
        }
        return ImagePlane(position: Vector3(p[0], p[1], p[2]), rowDirection: row, columnDirection: col,
                          pixelSpacing: SIMD2(s[0], s[1]), rows: format.rows, columns: format.columns)
    }

    /// Slice Thickness (Type 2: may be empty) or Spacing Between Slices, when present, must be finite; the
    /// thickness must also be plausible. The spacing's sign varies by vendor, so only finiteness is asked of it.
    static func through(thickness: Double?, spacing: Double?) throws(DICOMError) -> (Double?, Double?) {
        if let t = thickness {
            guard t.isFinite else { throw DICOMError(.nonFinite, "Slice Thickness is not finite") }
            guard plausibleSliceThickness.contains(t) else {
                throw DICOMError(.outOfRange, "Slice Thickness \(t) mm outside \(plausibleSliceThickness.lowerBound)...\(plausibleSliceThickness.upperBound) mm")
            }
        }
        if let s = spacing, !s.isFinite { throw DICOMError(.nonFinite, "Spacing Between Slices is not finite") }
        return (thickness, spacing)
    }

    /// Rescale Slope and Intercept (identity when absent). A NaN or infinite one would turn every pixel into NaN,
    /// which the model's normalisation spreads over the whole volume; refused like non-finite geometry.
    static func rescale(_ slope: Double?, _ intercept: Double?) throws(DICOMError) -> (Double, Double) {
        let s = slope ?? 1, i = intercept ?? 0
        guard s.isFinite else { throw DICOMError(.nonFinite, "Rescale Slope is not finite") }
        guard i.isFinite else { throw DICOMError(.nonFinite, "Rescale Intercept is not finite") }
        return (s, i)
    }

    static func pixelBytes(_ root: DICOMItem, format: PixelFormat, frames: Int) throws(DICOMError) -> [UInt8] {
        guard let bytes = root.bytes(.pixelData) else { throw missing(.pixelData, "Pixel Data") }
        guard bytes.count >= format.bytesPerFrame * frames else {
            throw DICOMError(.parse, "Pixel Data holds \(bytes.count) bytes; \(frames) frame(s) of \(format.rows)x\(format.columns)x\(format.bitsAllocated) bits need \(format.bytesPerFrame * frames)")
        }
        return bytes
    }

    static func classic(_ root: DICOMItem, sopClass: String, limits: SliceLimits) throws(DICOMError) -> Slice {
        let format = try PixelFormat(root)
        try limits.check(rows: format.rows, columns: format.columns, frames: 1)
        let geometry = try plane(position: root.doubles(.imagePositionPatient), orientation: root.doubles(.imageOrientationPatient),
                                 spacing: root.doubles(.pixelSpacing), format: format)
        let bytes = try pixelBytes(root, format: format, frames: 1)
        let (slope, intercept) = try rescale(root.doubles(.rescaleSlope)?.first, root.doubles(.rescaleIntercept)?.first)
        let (thickness, between) = try through(thickness: root.doubles(.sliceThickness)?.first,
                                               spacing: root.doubles(.spacingBetweenSlices)?.first)
        let pixels = bytes.withUnsafeBytes { format.decode($0, frame: 0, slope: slope, intercept: intercept) }
        return Slice(
            sopClassUID: sopClass, sopInstanceUID: try required(root, .sopInstanceUID, "SOP Instance UID"),
            seriesInstanceUID: try required(root, .seriesInstanceUID, "Series Instance UID"),
            frameOfReferenceUID: try required(root, .frameOfReferenceUID, "Frame of Reference UID"),
            plane: geometry, sliceThickness: thickness, spacingBetweenSlices: between,
            imageType: imageType(root), seriesDescription: root.trimmed(.seriesDescription) ?? "",
            seriesNumber: root.int(.seriesNumber), instanceNumber: root.int(.instanceNumber),
            imagesInAcquisition: root.int(.imagesInAcquisition), patientStudy: try patientStudy(root), pixels: pixels)
    }

    static func required(_ root: DICOMItem, _ tag: Tag, _ name: String) throws(DICOMError) -> String {
        guard let v = root.trimmed(tag) else { throw missing(tag, name) }
        return v
    }

    static func imageType(_ root: DICOMItem) -> [String] {
        (root.trimmed(.imageType) ?? "").split(separator: "\\", omittingEmptySubsequences: false).map { String($0).trimmingDICOMPadding }
    }

    /// A functional-group attribute: the frame's own macro first, then the shared one.
    static func functional(_ perFrame: DICOMItem?, _ shared: DICOMItem?, _ macro: Tag, _ tag: Tag) -> [Double]? {
        for group in [perFrame, shared] {
            if let g = group, let item = g.sequenceItem(macro, 0), let v = item.doubles(tag) { return v }
        }
        return nil
    }

    static func enhanced(_ root: DICOMItem, sopClass: String, limits: SliceLimits) throws(DICOMError) -> [Slice] {
        let format = try PixelFormat(root)
        guard let frames = root.int(.numberOfFrames), frames > 0 else { throw missing(.numberOfFrames, "Number of Frames") }
        try limits.check(rows: format.rows, columns: format.columns, frames: frames)
        guard root.sequenceCount(.perFrameFunctionalGroupsSequence) == frames else {
            throw DICOMError(.parse, "Per-frame Functional Groups Sequence has \(root.sequenceCount(.perFrameFunctionalGroupsSequence)) items for \(frames) frames")
        }
        let shared = root.sequenceItem(.sharedFunctionalGroupsSequence, 0)
        let bytes = try pixelBytes(root, format: format, frames: frames)
        let study = try patientStudy(root)
        let sop = try required(root, .sopInstanceUID, "SOP Instance UID")
        let series = try required(root, .seriesInstanceUID, "Series Instance UID")
        let frameOfReference = try required(root, .frameOfReferenceUID, "Frame of Reference UID")
        let type = imageType(root)
        var out: [Slice] = []
        out.reserveCapacity(frames)
        for f in 0..<frames {
            let perFrame = root.sequenceItem(.perFrameFunctionalGroupsSequence, f)
            let geometry = try plane(
                position: functional(perFrame, shared, .planePositionSequence, .imagePositionPatient),
                orientation: functional(perFrame, shared, .planeOrientationSequence, .imageOrientationPatient),
                spacing: functional(perFrame, shared, .pixelMeasuresSequence, .pixelSpacing), format: format)
            let (slope, intercept) = try rescale(
                functional(perFrame, shared, .pixelValueTransformationSequence, .rescaleSlope)?.first,
                functional(perFrame, shared, .pixelValueTransformationSequence, .rescaleIntercept)?.first)
            let (thickness, between) = try through(
                thickness: functional(perFrame, shared, .pixelMeasuresSequence, .sliceThickness)?.first,
                spacing: functional(perFrame, shared, .pixelMeasuresSequence, .spacingBetweenSlices)?.first)
            let pixels = bytes.withUnsafeBytes { format.decode($0, frame: f, slope: slope, intercept: intercept) }
            out.append(Slice(
                sopClassUID: sopClass, sopInstanceUID: sop, frameNumber: f + 1, seriesInstanceUID: series,
                frameOfReferenceUID: frameOfReference, plane: geometry,
                sliceThickness: thickness, spacingBetweenSlices: between,
                imageType: type, seriesDescription: root.trimmed(.seriesDescription) ?? "",
                seriesNumber: root.int(.seriesNumber), instanceNumber: root.int(.instanceNumber),
                imagesInAcquisition: root.int(.imagesInAcquisition) ?? frames, patientStudy: study, pixels: pixels))
        }
        return out
    }
}
