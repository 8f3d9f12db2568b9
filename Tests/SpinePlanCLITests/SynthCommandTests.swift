import Foundation
import SpinePlanTestSupport
import Testing

@Suite(.serialized, .enabled(if: PythonPeer.isAvailable, "needs the peer venv: run scripts/bootstrap.sh"))
struct SynthCommandTests {
    @Test("synth writes sessions whose truth pydicom confirms against the written geometry", arguments: [false, true])
    func geometryCheckedByPydicom(enhanced: Bool) async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let out = try await Subprocess.run(LiveProcess.spineplan, ["synth", "--out", tmp.path, "--count", "2", "--seed", "77"] + (enhanced ? ["--enhanced"] : []))
        #expect(out.status == 0, "\(out.stderr)")
        // Off a terminal (here a pipe) there is no progress line: logs and CI stay clean.
        #expect(!out.stderr.contains("elapsed"), "\(out.stderr)")
        let cases = try FileManager.default.contentsOfDirectory(atPath: tmp.path).sorted()
        #expect(cases == ["phantom-77", "phantom-78"])
        for c in cases {
            let check = try await PythonPeer.run([tmp.appending(c)], script: "check_synth_geometry.py")
            #expect(check.status == 0, "\(c): \(check.stdout.suffix(2000)) \(check.stderr)")
            let report = try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [String: Any]
            let discs = report?["discs"] as? [[String: Any]] ?? []
            #expect(discs.count >= 6, "\(c) has only \(discs.count) checked discs")
            #expect(report?["single_frame_of_reference"] as? Bool == true)
        }
    }

    @Test("on a terminal, synth of several sessions shows its progress and the time left on one line",
          .enabled(if: Peers.required(FileManager.default.isExecutableFile(atPath: "/usr/bin/script")), "needs util-linux script for a pty"))
    func progressOnATerminal() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        // script(1) gives the verb a pseudo-terminal, as an admin's shell would.
        let command = "\(LiveProcess.spineplan) synth --out \(tmp.appending("s")) --count 3 --seed 90 --sagittal-slices 5 --matrix 128"
        let out = try await Subprocess.run("/usr/bin/script", ["-qec", command, "/dev/null"])
        #expect(out.status == 0, "\(out.stdout) \(out.stderr)")
        #expect(out.stdout.contains("synth 3/3 (100 %)"), "\(out.stdout)")
        #expect(out.stdout.contains("left"), "an estimate of the time left while sessions remain: \(out.stdout)")
        #expect(out.stdout.contains("\r\u{1B}[K"), "the line is rewritten in place, not scrolled")
    }

    @Test("the same seed writes byte-identical DICOM; another seed does not")
    func deterministic() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        for (dir, seed) in [("a", "5"), ("b", "5"), ("c", "6")] {
            #expect(try await Subprocess.run(LiveProcess.spineplan, ["synth", "--out", tmp.appending(dir), "--seed", seed]).status == 0)
        }
        func bytes(_ dir: String, _ seed: String) throws -> Data {
            let loc = tmp.appending("\(dir)/phantom-\(seed)/localizer")
            return try FileManager.default.contentsOfDirectory(atPath: loc).sorted().reduce(into: Data()) { $0 += try Data(contentsOf: URL(fileURLWithPath: loc + "/" + $1)) }
        }
        #expect(try bytes("a", "5") == bytes("b", "5"))
        #expect(try bytes("a", "5") != bytes("c", "6"))
    }

    @Test("bad synth arguments exit 2 with a clear message", arguments: [
        (["--from-volume", "/nonexistent/vol.nii.gz", "--references", "/nonexistent/ref.json"], "no volume"),
        (["--sagittal-slices", "40"], "sagittal"),
        (["--count", "0"], "count"),
    ])
    func badArguments(_ args: [String], _ mention: String) async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let out = try await Subprocess.run(LiveProcess.spineplan, ["synth", "--out", tmp.path] + args)
        #expect(out.status == 2)
        #expect(out.stderr.lowercased().contains(mention), "\(out.stderr)")
    }
}
