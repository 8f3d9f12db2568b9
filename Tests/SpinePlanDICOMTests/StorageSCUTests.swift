import Foundation
import SpinePlanDICOM
import SpinePlanGeometry
import SpinePlanTestSupport
import Testing
import SpinePlanScanner

/// A pynetdicom Storage SCP for one test.
final class PeerSCP {
    let process: LiveProcess
    let port: Int

    init(status: UInt16 = 0, delay: Double = 0, out: String = "") throws {
        process = try LiveProcess(PythonPeer.python, [PythonPeer.script("console.py"), "scp", "--status", "\(status)", "--delay", "\(delay)", "--out", out], stdin: true)
        guard let line = process.waitForLine(containing: "READY"), let p = Int(line.split(separator: " ").last ?? "") else {
            throw PythonPeer.PeerFailure(message: "peer SCP did not start: \(process.text)")
        }
        port = p
    }

    var peer: DICOMPeer { DICOMPeer(aeTitle: "PEERSCP", host: "127.0.0.1", port: port) }

    func stop() {
        process.closeStdin()
        _ = process.waitForExit(timeout: 10)
    }
}

func sampleSlice(_ i: Int = 0) -> Slice {
    let study = PatientStudy(patientName: "WRITER^TEST", patientID: "W-1", patientBirthDate: "19800202", patientSex: "F",
                             studyInstanceUID: DICOMUID.make(), studyDate: "20261121", studyTime: "120000")
    let plane = ImagePlane(position: Vector3(-3.25 + Double(i) * 4.4, -120.5, 88.125), rowDirection: Vector3(0, 1, 0),
                           columnDirection: Vector3(0, 0, -1), pixelSpacing: SIMD2(0.9375, 0.9375), rows: 32, columns: 24)
    return Slice(sopInstanceUID: DICOMUID.make(), seriesInstanceUID: "2.25.42", frameOfReferenceUID: "2.25.43", plane: plane,
                 sliceThickness: 4, spacingBetweenSlices: 4.4, seriesDescription: "LOC SAG", seriesNumber: 2, instanceNumber: i + 1,
                 imagesInAcquisition: 3, patientStudy: study, pixels: (0..<(32 * 24)).map { Float(($0 * 37 + i * 11) % 4096) })
}

@Suite(.serialized, .enabled(if: PythonPeer.isAvailable, "needs the peer venv: run scripts/bootstrap.sh"))
struct StorageSCUTests {
    @Test("C-STORE to pynetdicom succeeds and the stored file matches what we sent")
    func storeToPeer() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let scp = try PeerSCP(out: tmp.path)
        defer { scp.stop() }
        let slices = (0..<3).map(sampleSlice)
        let statuses = try StorageSCU(callingAETitle: "SPINEPLAN").store(try slices.map(DICOMFileWriter.makeMRImage), to: scp.peer)
        #expect(statuses == [0, 0, 0])
        let expected = try await expectedFrames(tmp.path, scratch: tmp)
        #expect(expected.count == 3)
        for s in slices {
            let e = try #require(expected.first { $0.sop == s.sopInstanceUID })
            #expect(e.pixels == s.pixels)
            #expect(zip(e.ipp, [s.plane.position.x, s.plane.position.y, s.plane.position.z]).allSatisfy { abs($0 - $1) < 1e-9 })
        }
    }

    @Test("a refusing peer gives a clear error with its status")
    func refusal() async throws {
        let scp = try PeerSCP(status: 0xA700)
        defer { scp.stop() }
        #expect {
            try StorageSCU().store([try DICOMFileWriter.makeMRImage(sampleSlice())], to: scp.peer)
        } throws: { error in
            guard let e = error as? DICOMError else { return false }
            return e.code == .refusedStatus(0xA700) && e.message.contains("0xA700")
        }
    }

    @Test("a peer that is down gives a network error naming it")
    func peerDown() throws {
        let port = freePort()
        let peer = DICOMPeer(aeTitle: "NOBODY", host: "127.0.0.1", port: port)
        #expect {
            try StorageSCU(timeoutSeconds: 2).store([try DICOMFileWriter.makeMRImage(sampleSlice())], to: peer)
        } throws: { error in
            guard let e = error as? DICOMError else { return false }
            return e.code == .network && e.message.contains("NOBODY@127.0.0.1:\(port)")
        }
    }

    @Test("a peer that does not answer in time gives a timeout error")
    func peerTimeout() async throws {
        let scp = try PeerSCP(delay: 6)
        defer { scp.stop() }
        #expect {
            try StorageSCU(timeoutSeconds: 2).store([try DICOMFileWriter.makeMRImage(sampleSlice())], to: scp.peer)
        } throws: { error in
            guard let e = error as? DICOMError else { return false }
            return e.code == .timeout || e.code == .network
        }
    }

    @Test("C-ECHO against our own SCP")
    func echo() throws {
        let server = try TestServer()
        defer { server.stop() }
        try StorageSCU(callingAETitle: "TESTER").echo(DICOMPeer(aeTitle: "SPINEPLAN", host: "127.0.0.1", port: server.port))
        #expect(server.eventLog.all.contains { $0.kind == .echo && $0.callingAETitle == "TESTER" })
    }

    @Test("AE@HOST:PORT parsing", arguments: ["A@h:1", "CONSOLE@127.0.0.1:104", "X", "@h:1", "A@:1", "A@h:0", "A@h:70000", "TOO_LONG_AE_TITLE_X@h:1"])
    func peerParsing(_ text: String) {
        let valid = ["A@h:1", "CONSOLE@127.0.0.1:104"].contains(text)
        let parsed = (try? DICOMPeer(parsing: text)) != nil
        #expect(parsed == valid)
    }
}

