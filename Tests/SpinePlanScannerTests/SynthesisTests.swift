import Foundation
import Testing
import SpinePlanGeometry
@testable import SpinePlanScanner

@Suite struct SynthesisTests {
    func expectCode(_ code: ScannerError.Code, usage: Bool = true, _ options: SynthesisOptions) {
        do {
            _ = try VirtualScanner.synthesize(options: options)
            Issue.record("expected \(code)")
        } catch {
            #expect(error.code == code, "\(error)")
            #expect(error.isUsageError == usage)
        }
    }

    @Test func badArgumentsGiveUsageErrors() {
        let dir = ScannerFixtures.temporaryDirectory("bad")
        expectCode(.invalidArgument, SynthesisOptions(outputDirectory: dir, count: 0))
        expectCode(.invalidArgument, SynthesisOptions(outputDirectory: ""))
        expectCode(.invalidArgument, SynthesisOptions(outputDirectory: dir, referencesPath: "/x.json"))
        expectCode(.invalidArgument, SynthesisOptions(outputDirectory: dir, volumePath: "/x.nii.gz"))
        expectCode(.invalidArgument, SynthesisOptions(outputDirectory: dir, rates: AnatomyRates(metalImplant: 2)))
        expectCode(.volumeNotFound, SynthesisOptions(outputDirectory: dir, volumePath: dir + "/missing_image.nii.gz",
                                                     referencesPath: dir + "/refs.json"))
        expectCode(.impossibleGeometry, SynthesisOptions(outputDirectory: dir, overrides: LocalizerOverrides(obliquityDegrees: 45)))
        expectCode(.impossibleGeometry, SynthesisOptions(outputDirectory: dir, overrides: LocalizerOverrides(sagittalSlices: 0)))
        // 150 mm cannot hold T12/L1 to L5/S1.
        expectCode(.impossibleGeometry, SynthesisOptions(outputDirectory: dir, overrides: LocalizerOverrides(fieldOfView: 150)))
    }

    @Test func volumesAndReferencesThatDoNotMatchAreRejected() throws {
        let dir = ScannerFixtures.temporaryDirectory("refs")
        let volume = (dir as NSString).appendingPathComponent("case1_image.nii")
        ScannerFixtures.write(ScannerFixtures.niftiBytes(size: SIMD3(40, 40, 40), srow: [[0, 0, -1, 0], [0, -1, 0, 0], [-1, 0, 0, 0]],
                                                         voxels: [UInt8](repeating: 50, count: 64_000)), to: volume)
        let references = (dir as NSString).appendingPathComponent("references.json")
        func writeReferences(_ name: String, z: Double) {
            let json = """
            {"cases": [{"case": "\(name)", "discs": [{"level": "L4/L5", "centre_lps_mm": [20, 20, \(z)], "normal_lps": [0, 0, -1]}],
             "vertebrae": [{"level": "L4", "label": 4, "centroid_lps_mm": [20, 20, \(z + 10)]}]}]}
            """
            FileManager.default.createFile(atPath: references, contents: Data(json.utf8))
        }
        writeReferences("other", z: -20)
        expectCode(.referencesMismatch, SynthesisOptions(outputDirectory: dir, volumePath: volume, referencesPath: references))
        writeReferences("case1", z: -200)
        expectCode(.referencesMismatch, SynthesisOptions(outputDirectory: dir, volumePath: volume, referencesPath: references))
        FileManager.default.createFile(atPath: references, contents: Data("not json".utf8))
        expectCode(.referencesUnreadable, SynthesisOptions(outputDirectory: dir, volumePath: volume, referencesPath: references))
        let garbage = (dir as NSString).appendingPathComponent("junk_image.nii.gz")
        FileManager.default.createFile(atPath: garbage, contents: Data("definitely not nifti".utf8))
        expectCode(.volumeUnreadable, SynthesisOptions(outputDirectory: dir, volumePath: garbage, referencesPath: references))
        // A well-formed pair goes through.
        writeReferences("case1", z: -20)
        let sessions = try VirtualScanner.synthesize(options: SynthesisOptions(outputDirectory: dir, volumePath: volume,
                                                                               referencesPath: references))
        #expect(sessions.first?.truth.discs.map(\.level) == ["L4/L5"])
    }

    @Test func unwritableOutputIsAWorkFailure() {
        expectCode(.writeFailed, usage: false, SynthesisOptions(outputDirectory: "/proc/spineplan-cannot-write"))
    }

    @Test(arguments: [false, true])
    func synthesisWritesDICOMTruthAndArrays(enhanced: Bool) throws {
        let dir = ScannerFixtures.temporaryDirectory("synth")
        let sessions = try VirtualScanner.synthesize(options: SynthesisOptions(outputDirectory: dir, seed: 40, count: 1,
                                                                               enhanced: enhanced))
        let session = try #require(sessions.first)
        #expect(session.caseName == "phantom-40")
        #expect(session.dicomFiles.count == (enhanced ? 3 : session.sliceCount))
        for file in session.dicomFiles {
            let data = try #require(FileManager.default.contents(atPath: file))
            #expect(data.count > 132 && String(decoding: data[128..<132], as: UTF8.self) == "DICM")
        }
        let truth = try JSONDecoder().decode(TruthRecord.self, from: Data(contentsOf: URL(fileURLWithPath: session.truthPath)))
        #expect(truth == session.truth)
        let text = try String(contentsOfFile: session.truthPath, encoding: .utf8)
        for key in ["\"centre_lps_mm\"", "\"normal_lps\"", "\"lumbar_count\"", "\"lstv\"", "\"scoliosis_cobb_deg\""] {
            #expect(text.contains(key))
        }
        let volume = (session.directory as NSString).appendingPathComponent("volume")
        let description = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: volume + "/volume.json"))) as? [String: Any]
        let shape = try #require(description?["shape"] as? [Int])
        let count = shape.reduce(1, *)
        let image = try FileManager.default.attributesOfItem(atPath: volume + "/image.npy")[.size] as? Int
        let labels = try FileManager.default.attributesOfItem(atPath: volume + "/labels.npy")[.size] as? Int
        #expect(image.map { $0 - 4 * count } == 128 || image.map { $0 - 4 * count } == 64)
        #expect(labels.map { $0 - count } == 128 || labels.map { $0 - count } == 64)
    }
}
