import Foundation
import SpinePlanDICOM
import SpinePlanGeometry
import SpinePlanTestSupport
import Testing
import SpinePlanScanner

@Suite(.enabled(if: PythonPeer.isAvailable, "needs the peer venv: run scripts/bootstrap.sh"))
struct DICOMFileWriterTests {
    @Test("classic and enhanced files we write read back the same in pydicom and in our decoder", arguments: [false, true])
    func roundTrip(enhanced: Bool) async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let dir = tmp.appending("out")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var slices = (0..<3).map(sampleSlice)
        for i in slices.indices { slices[i].patientStudy = slices[0].patientStudy }
        if enhanced {
            let sop = DICOMUID.make()
            for i in slices.indices { slices[i].sopInstanceUID = sop; slices[i].frameNumber = i + 1 }
            try DICOMFileWriter.writeEnhancedMR(slices, to: dir + "/en.dcm")
        } else {
            for s in slices { try DICOMFileWriter.writeMRImage(s, to: dir + "/\(s.instanceNumber!).dcm") }
        }
        let expected = try await expectedFrames(dir, scratch: tmp)
        #expect(expected.count == 3)
        var decoded: [Slice] = []
        for f in try FileManager.default.contentsOfDirectory(atPath: dir) {
            decoded += try SliceDecoder.slices(from: DICOMObject(contentsOfFile: dir + "/" + f))
        }
        for (s, d) in zip(slices, decoded.sorted { ($0.instanceNumber ?? 0, $0.frameNumber ?? 0) < ($1.instanceNumber ?? 0, $1.frameNumber ?? 0) }) {
            #expect(d.pixels == s.pixels)
            #expect((d.plane.position - s.plane.position).length < 1e-9)
            #expect(d.frameOfReferenceUID == s.frameOfReferenceUID)
            #expect(d.patientStudy == s.patientStudy)
        }
        for e in expected {
            let s = try #require(slices.first { $0.sopInstanceUID == e.sop && $0.frameNumber == e.frame })
            #expect(e.pixels == s.pixels)
            #expect(zip(e.ipp, [s.plane.position.x, s.plane.position.y, s.plane.position.z]).allSatisfy { abs($0 - $1) < 1e-9 })
        }
    }

    @Test("reading a file that is not DICOM is a parse error naming the file")
    func notDICOM() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let path = tmp.appending("junk.dcm")
        try Data("this is not DICOM".utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try DICOMObject(contentsOfFile: path)
        } throws: { ($0 as? DICOMError)?.code == .parse && ($0 as? DICOMError)?.message.contains("junk.dcm") == true }
    }

    @Test("decimal strings fit in 16 characters and keep precision", arguments: [0.0, -1024.25, 1.0 / 3.0, -123.456789012345, 1e-12, 99999999.123])
    func decimalString(_ v: Double) {
        let s = DICOMFormat.decimalString(v)
        #expect(s.count <= 16)
        let back = Double(s)!
        #expect(abs(back - v) <= max(abs(v) * 1e-7, 1e-12))
    }
}
