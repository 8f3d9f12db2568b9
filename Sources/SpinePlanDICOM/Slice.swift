import SpinePlanGeometry

/// One 2D MR image in patient space: a classic MR instance, or one frame of an enhanced MR instance.
public struct Slice: Sendable {
    public var sopClassUID: String
    public var sopInstanceUID: String
    /// 1-based frame number inside an enhanced multi-frame instance; nil for a classic instance.
    public var frameNumber: Int?
    public var seriesInstanceUID: String
    public var frameOfReferenceUID: String
    public var plane: ImagePlane
    public var sliceThickness: Double?
    public var spacingBetweenSlices: Double?
    public var imageType: [String]
    public var seriesDescription: String
    public var seriesNumber: Int?
    public var instanceNumber: Int?
    public var imagesInAcquisition: Int?
    public var patientStudy: PatientStudy
    /// Row-major pixel values, `plane.rows * plane.columns`, with RescaleSlope/Intercept applied.
    public var pixels: [Float]

    public init(sopClassUID: String = SOPClass.mrImageStorage, sopInstanceUID: String, frameNumber: Int? = nil,
                seriesInstanceUID: String, frameOfReferenceUID: String, plane: ImagePlane,
                sliceThickness: Double? = nil, spacingBetweenSlices: Double? = nil,
                imageType: [String] = ["ORIGINAL", "PRIMARY", "LOCALIZER"], seriesDescription: String = "",
                seriesNumber: Int? = nil, instanceNumber: Int? = nil, imagesInAcquisition: Int? = nil,
                patientStudy: PatientStudy, pixels: [Float]) {
        self.sopClassUID = sopClassUID
        self.sopInstanceUID = sopInstanceUID
        self.frameNumber = frameNumber
        self.seriesInstanceUID = seriesInstanceUID
        self.frameOfReferenceUID = frameOfReferenceUID
        self.plane = plane
        self.sliceThickness = sliceThickness
        self.spacingBetweenSlices = spacingBetweenSlices
        self.imageType = imageType
        self.seriesDescription = seriesDescription
        self.seriesNumber = seriesNumber
        self.instanceNumber = instanceNumber
        self.imagesInAcquisition = imagesInAcquisition
        self.patientStudy = patientStudy
        self.pixels = pixels
    }

    /// The study this slice belongs to.
    public var studyInstanceUID: String { patientStudy.studyInstanceUID }

    /// Where the slice lies and its pixels, without patient or DICOM fields: what the model and planner take.
    public var image: LocalizerImage { LocalizerImage(plane: plane, pixels: pixels) }

    /// In acquisition order: by instance number, then frame number.
    public static func acquisitionOrder(_ a: Slice, _ b: Slice) -> Bool {
        (a.instanceNumber ?? 0, a.frameNumber ?? 0) < (b.instanceNumber ?? 0, b.frameNumber ?? 0)
    }
}
