import SpinePlanDICOM

/// Patient and study attributes for a synthetic session, marked as synthetic in every human-readable field.
enum SyntheticIdentity {
    static func patientStudy(seed: UInt64, subject: ScanSubject) -> PatientStudy {
        let key = "\(subject.identityTag) \(seed)"
        let shortSeed = String(seed % 100_000_000)
        let month = 1 + Int(seed % 12), day = 1 + Int((seed / 12) % 28)
        let hour = 7 + Int(seed % 12), minute = Int((seed / 7) % 60), second = Int((seed / 13) % 60)
        let birthYear = 2025 - (subject.age ?? 50)
        return PatientStudy(
            patientName: "SYNTHETIC^\(subject.identityTag)^\(seed)",
            patientID: subject.identityTag == "PHANTOM" ? "SYN-\(seed)" : "SYN-\(subject.identityTag)-\(seed)",
            patientBirthDate: "\(birthYear)0101", patientSex: subject.sex,
            studyInstanceUID: SeededUID.make(seed: seed, purpose: "study \(key)"),
            studyDate: "2025" + pad(month) + pad(day), studyTime: pad(hour) + pad(minute) + pad(second),
            studyID: shortSeed, accessionNumber: "SYN" + shortSeed, referringPhysicianName: "",
            studyDescription: "SYNTHETIC LUMBAR SPINE")
    }

    private static func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
