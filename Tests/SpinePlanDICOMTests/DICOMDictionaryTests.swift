import Foundation
import Testing
import SpinePlanDICOM
import SpinePlanTestSupport

/// Tag and UID constants come from DCMTK's dictionary headers through `scripts/dicom-dictionary.py`, never by hand.
@Suite struct DICOMDictionaryTests {
    @Test("Tag+Dictionary.swift and SOPClass.swift are what DCMTK's dcdeftag.h and dcuid.h give")
    func generated() async throws {
        let run = try await Subprocess.run("/usr/bin/python3", [PythonPeer.packageRoot.path + "/scripts/dicom-dictionary.py", "--check"])
        #expect(run.status == 0, "\(run.stdout) \(run.stderr)")
    }

    @Test("a generated constant names the attribute DCMTK knows by that keyword")
    func spotCheck() {
        #expect(Tag.sopInstanceUID == Tag(0x0008, 0x0018))
        #expect(Tag.mrAcquisitionType == Tag(0x0018, 0x0023))
        #expect(Tag.perFrameFunctionalGroupsSequence == Tag(0x5200, 0x9230))
        #expect(SOPClass.comprehensive3DSR == "1.2.840.10008.5.1.4.1.1.88.34")
    }
}
