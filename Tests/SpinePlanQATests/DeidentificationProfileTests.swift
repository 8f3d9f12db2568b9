import Foundation
import Testing
import SpinePlanDICOM
import SpinePlanTestSupport
@testable import SpinePlanQA

/// The de-identification against DICOM PS3.15 Table E.1-1, checked by an independent implementation of the same table
/// (dicom-anonymizer), on an object that carries every attribute the table lists.
@Suite struct DeidentificationProfileTests {
    @Test("no attribute that dicom-anonymizer removes or changes under the Basic Profile keeps its value in our export")
    func matchesIndependentImplementation() async throws {
        try #require(PythonPeer.isAvailable, "needs the .venv peer")
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let original = scratch.appending("original.dcm"), ours = scratch.appending("ours.dcm")
        let made = try await PythonPeer.run(["make", original], script: "deid_check.py")
        #expect(made.status == 0, "\(made.stderr)")
        // Most of the table's ~650 attributes: a check that covered only a handful would prove little.
        #expect((try made.json()["attributes"] as? Int ?? 0) > 450, "\(made.stdout)")

        let object = try DICOMObject(contentsOfFile: original)
        try Deidentifier().apply(to: object)
        try object.write(toFile: ours)

        let checked = try await PythonPeer.run(["check", original, ours], script: "deid_check.py")
        #expect(checked.status == 0, "\(checked.stderr)")
        let report = try checked.json()
        #expect((report["removed"] as? Int ?? 0) > 300, "\(report)")
        #expect((report["changed"] as? Int ?? 0) > 100, "\(report)")
        #expect((report["violations"] as? [String]) == [], "\(report)")
        // The profile's markers, read back by DCMTK.
        let written = try DICOMObject(contentsOfFile: ours).root
        #expect(written.trimmed(Tag(0x0012, 0x0062)) == "YES")
        #expect(written.sequenceItem(Tag(0x0012, 0x0064), 0)?.trimmed(Tag(0x0008, 0x0100)) == "113100")
    }

    @Test("the profile table in the source is what scripts/confidentiality-profile.py generates from Table E.1-1")
    func tableIsGenerated() async throws {
        try #require(PythonPeer.isAvailable, "needs the .venv peer")
        let run = try await Subprocess.run(PythonPeer.python, [PythonPeer.packageRoot.path + "/scripts/confidentiality-profile.py", "--check"])
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
    }

    @Test("a conditional action resolves to what keeps the object valid; repeating groups match by mask")
    func resolution() {
        #expect(ConfidentialityProfile.action(for: 0x0010_0010) == .empty)  // Patient's Name: Z
        #expect(ConfidentialityProfile.action(for: 0x0008_0018) == .remapUID)  // SOP Instance UID: U
        #expect(ConfidentialityProfile.action(for: 0x0008_0023)?.resolved(vr: "DA") == .dummy)  // Content Date: Z/D
        #expect(ConfidentialityProfile.action(for: 0x0010_0020)?.resolved(vr: "LO") == .empty)  // Patient ID: Z/D
        #expect(ConfidentialityProfile.action(for: 0x0018_1030)?.resolved(vr: "LO") == .remove)  // Protocol Name: X/D
        #expect(ConfidentialityProfile.action(for: 0x0008_1140)?.resolved(vr: "SQ") == .remapUID)  // Referenced Image Sequence: X/Z/U*
        #expect(ConfidentialityProfile.action(for: 0x6002_3000) == .remove)  // Overlay Data in group 6002
        #expect(ConfidentialityProfile.action(for: 0x0028_0010) == nil)  // Rows: not in the profile
    }
}
