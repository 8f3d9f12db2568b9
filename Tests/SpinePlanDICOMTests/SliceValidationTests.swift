import Foundation
import SpinePlanDICOM
import SpinePlanGeometry
import Testing
import SpinePlanScanner

/// Issue 16 point 6: geometry no planner can use, and a modality other than MR, are refused at C-STORE with a
/// status of their own, instead of being acknowledged and failing silently at planning.
@Suite struct SliceValidationTests {
    /// One way to spoil a valid object, the status it must get and a word its Error Comment must contain.
    struct Spoiler: Sendable, CustomTestStringConvertible {
        var name: String
        var tag: SpinePlanDICOM.Tag
        var value: String
        var status: UInt16
        var comment: String
        var testDescription: String { name }
    }

    static let spoilers: [Spoiler] = [
        Spoiler(name: "NaN position", tag: .imagePositionPatient, value: "nan\\0\\0", status: DIMSEStatus.geometryNotFinite,
                comment: "Image Position (Patient) is not finite"),
        Spoiler(name: "infinite position", tag: .imagePositionPatient, value: "0\\1e999\\0", status: DIMSEStatus.geometryNotFinite,
                comment: "Image Position (Patient) is not finite"),
        Spoiler(name: "infinite orientation", tag: .imageOrientationPatient, value: "0\\1\\0\\0\\0\\-inf",
                status: DIMSEStatus.geometryNotFinite, comment: "Image Orientation (Patient) is not finite"),
        Spoiler(name: "NaN pixel spacing", tag: .pixelSpacing, value: "nan\\1", status: DIMSEStatus.geometryNotFinite,
                comment: "Pixel Spacing is not finite"),
        Spoiler(name: "1e-9 mm pixel spacing", tag: .pixelSpacing, value: "1e-9\\1e-9", status: DIMSEStatus.geometryOutOfRange,
                comment: "Pixel Spacing 1e-09 mm outside 0.05...20.0 mm"),
        Spoiler(name: "50 mm pixel spacing", tag: .pixelSpacing, value: "0.9\\50", status: DIMSEStatus.geometryOutOfRange,
                comment: "Pixel Spacing 50.0 mm outside"),
        Spoiler(name: "negative pixel spacing", tag: .pixelSpacing, value: "-1\\1", status: DIMSEStatus.geometryOutOfRange,
                comment: "Pixel Spacing -1.0 mm outside"),
        Spoiler(name: "1000 mm slice thickness", tag: .sliceThickness, value: "1000", status: DIMSEStatus.geometryOutOfRange,
                comment: "Slice Thickness 1000.0 mm outside"),
        Spoiler(name: "NaN slice thickness", tag: .sliceThickness, value: "NaN", status: DIMSEStatus.geometryNotFinite,
                comment: "Slice Thickness is not finite"),
        Spoiler(name: "infinite spacing between slices", tag: .spacingBetweenSlices, value: "inf",
                status: DIMSEStatus.geometryNotFinite, comment: "Spacing Between Slices is not finite"),
        Spoiler(name: "NaN rescale slope", tag: .rescaleSlope, value: "nan", status: DIMSEStatus.geometryNotFinite,
                comment: "Rescale Slope is not finite"),
        Spoiler(name: "skewed orientation", tag: .imageOrientationPatient, value: "0\\1\\0\\0\\0.5\\-0.866",
                status: DIMSEStatus.orientationNotOrthonormal, comment: "not orthonormal"),
        Spoiler(name: "CT modality in an MR object", tag: .modality, value: "CT", status: DIMSEStatus.dataSetDoesNotMatchSOPClass,
                comment: "Modality CT in an MR object"),
    ]

    static func spoiled(_ spoiler: Spoiler, _ i: Int = 0) throws -> DICOMObject {
        let object = try DICOMFileWriter.makeMRImage(sampleSlice(i))
        try object.root.set(spoiler.tag, spoiler.value)
        return object
    }

    @Test("a spoiled classic MR object is refused with its own status and a comment that fits the 64-byte field",
          arguments: spoilers)
    func classicRefused(_ spoiler: Spoiler) throws {
        let error = try #require(throws: DICOMError.self) { try SliceDecoder.slices(from: Self.spoiled(spoiler)) }
        #expect(DIMSEStatus.refusing(error) == spoiler.status, "\(error.message)")
        #expect(error.message.contains(spoiler.comment), "\(error.message)")
        #expect(error.message.utf8.count <= 63, "the Error Comment would be cut: \(error.message)")
    }

    @Test("the same checks hold per frame of an enhanced MR object")
    func enhancedRefused() throws {
        var frames = (0..<3).map(sampleSlice)
        for i in frames.indices { frames[i].patientStudy = frames[0].patientStudy; frames[i].sopInstanceUID = frames[0].sopInstanceUID }
        let object = try DICOMFileWriter.makeEnhancedMR(frames)
        #expect(try SliceDecoder.slices(from: object).count == 3)
        let position = try #require(object.root.sequenceItem(.perFrameFunctionalGroupsSequence, 2)?.sequenceItem(.planePositionSequence, 0))
        try position.set(.imagePositionPatient, "0\\0\\nan")
        let error = try #require(throws: DICOMError.self) { try SliceDecoder.slices(from: object) }
        #expect(DIMSEStatus.refusing(error) == DIMSEStatus.geometryNotFinite)
    }

    @Test("an MR object with Modality MR (or none) and plausible geometry is still taken")
    func validTaken() throws {
        let object = try DICOMFileWriter.makeMRImage(sampleSlice())
        #expect(try SliceDecoder.slices(from: object).count == 1)
        try object.root.set(.modality, "")
        #expect(try SliceDecoder.slices(from: object).count == 1)
    }

    @Test("over C-STORE each spoiled object gets its status, the good ones 0x0000, and only the good ones reach the pipeline")
    func refusedOverTheWire() throws {
        let server = try TestServer()
        defer { server.stop() }
        var objects = try Self.spoilers.enumerated().map { try Self.spoiled($1, $0) }
        objects.append(try DICOMFileWriter.makeMRImage(sampleSlice(20)))
        // An Instance Number too large for Int once trapped in the decoder: it must not take the server down.
        let huge = try DICOMFileWriter.makeMRImage(sampleSlice(21))
        try huge.root.set(.instanceNumber, "1e999")
        objects.append(huge)
        let peer = DICOMPeer(aeTitle: "SPINEPLAN", host: "127.0.0.1", port: server.port)
        let outcome = StorageSCU(callingAETitle: "CONSOLE", timeoutSeconds: 10).storeEach(objects, to: peer)
        #expect(outcome.failure == nil)
        #expect(outcome.statuses == Self.spoilers.map(\.status) + [0, 0])
        #expect(server.sink.count == 2)
        #expect(server.sink.slices.last?.instanceNumber == nil, "an unrepresentable Instance Number reads as absent")
    }

    @Test("an image larger than a localizer is refused 0xA700 before its pixels are decoded; the limits are configurable")
    func tooLargeRefused() throws {
        let small = try DICOMFileWriter.makeMRImage(sampleSlice())   // 32 x 24
        #expect(try SliceDecoder.slices(from: small, limits: SliceLimits()).count == 1)
        let error = try #require(throws: DICOMError.self) {
            try SliceDecoder.slices(from: small, limits: SliceLimits(maxMatrix: 30))
        }
        #expect(DIMSEStatus.refusing(error) == DIMSEStatus.outOfResources)
        #expect(error.message == "32x24 pixels: over the localizer limit of 30")
        // Three 600 x 600 frames are 1.08 million pixels: over a 1 Mpixel limit, within 2.
        var frames = (0..<3).map { i -> Slice in
            var s = sampleSlice(i)
            s.plane.rows = 600
            s.plane.columns = 600
            s.pixels = [Float](repeating: 1, count: 600 * 600)
            return s
        }
        for i in frames.indices { frames[i].patientStudy = frames[0].patientStudy; frames[i].sopInstanceUID = frames[0].sopInstanceUID }
        let enhanced = try DICOMFileWriter.makeEnhancedMR(frames)
        #expect(try SliceDecoder.slices(from: enhanced, limits: SliceLimits(maxMegapixels: 2)).count == 3)
        let frameError = try #require(throws: DICOMError.self) {
            try SliceDecoder.slices(from: enhanced, limits: SliceLimits(maxMegapixels: 1))
        }
        #expect(frameError.message == "3 frames of 600x600: over 1 Mpixel")
        #expect(frameError.message.utf8.count <= 63)
    }

    @Test("over C-STORE a slice over the configured matrix gets 0xA700 and never reaches the pipeline")
    func tooLargeOverTheWire() throws {
        let server = try TestServer { $0.sliceLimits = SliceLimits(maxMatrix: 30) }
        defer { server.stop() }
        let peer = DICOMPeer(aeTitle: "SPINEPLAN", host: "127.0.0.1", port: server.port)
        let outcome = StorageSCU(callingAETitle: "CONSOLE", timeoutSeconds: 10)
            .storeEach([try DICOMFileWriter.makeMRImage(sampleSlice())], to: peer)
        #expect(outcome.statuses == [DIMSEStatus.outOfResources])
        #expect(server.sink.count == 0)
    }
}
