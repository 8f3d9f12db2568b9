/// Patient and study identity carried from a localizer into everything derived from it.
///
/// These are PHI: they are copied into the SR and overlay, and never logged.
public struct PatientStudy: Sendable, Equatable, Codable {
    public var patientName: String
    public var patientID: String
    public var patientBirthDate: String
    public var patientSex: String
    public var studyInstanceUID: String
    public var studyDate: String
    public var studyTime: String
    public var studyID: String
    public var accessionNumber: String
    public var referringPhysicianName: String
    public var studyDescription: String

    public init(patientName: String = "", patientID: String = "", patientBirthDate: String = "",
                patientSex: String = "", studyInstanceUID: String, studyDate: String = "",
                studyTime: String = "", studyID: String = "", accessionNumber: String = "",
                referringPhysicianName: String = "", studyDescription: String = "") {
        self.patientName = patientName
        self.patientID = patientID
        self.patientBirthDate = patientBirthDate
        self.patientSex = patientSex
        self.studyInstanceUID = studyInstanceUID
        self.studyDate = studyDate
        self.studyTime = studyTime
        self.studyID = studyID
        self.accessionNumber = accessionNumber
        self.referringPhysicianName = referringPhysicianName
        self.studyDescription = studyDescription
    }
}
