import Foundation
import Testing
import SpinePlanScanner
import SpinePlanTestSupport
@testable import SpinePlanQA
@testable import SpinePlanService

/// The `replay` and `recording` verbs as a user runs them: exit codes, reports, export.
@Suite struct ReplayCommandTests {
    static var binary: String { LiveProcess.spineplan }

    func run(_ arguments: [String]) async throws -> PythonPeer.Output {
        try await Subprocess.run(Self.binary, arguments)
    }

    @Test("bad usage exits 2")
    func usage() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "spineplan is not built")
        #expect(try await run(["replay"]).status == 2)
        #expect(try await run(["replay", "/nonexistent", "--offline", "--target", "A@127.0.0.1:104"]).status == 2)
        #expect(try await run(["replay", "/nonexistent", "--target", "not-a-peer"]).status == 2)
        #expect(try await run(["replay", "/nonexistent", "--offline", "--speed", "warp"]).status == 2)
        #expect(try await run(["recording", "export", "/nonexistent", "--out", "/tmp/x"]).status == 2)
    }

    @Test("a damaged recording is reported as an error in the table and the JUnit file, and exits 1")
    func damaged() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "spineplan is not built")
        let root = RecordingFixtures.scratch("cli")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let good = try RecordingFixtures.record(in: root + "/rec", sessionID: "good0001").folder
        let bad = try RecordingFixtures.record(in: root + "/rec", sessionID: "bad00002").folder
        try Data("{".utf8).write(to: URL(fileURLWithPath: bad + "/manifest.json"))
        let out = try await run(["replay", good, bad, "--offline", "--junit", root + "/r.xml", "--html", root + "/r.html"])
        #expect(out.status == 1)
        let badLine = out.stdout.split(separator: "\n").first { $0.hasPrefix(URL(fileURLWithPath: bad).lastPathComponent) }
        #expect(badLine?.contains("ERROR") == true, "\(out.stdout)")
        #expect(out.stdout.contains("unreadable manifest"))
        let junit = try String(contentsOfFile: root + "/r.xml", encoding: .utf8)
        #expect(junit.components(separatedBy: "<testcase ").count - 1 == 2)
        #expect(junit.contains("type=\"bad-recording\""))
        let html = try String(contentsOfFile: root + "/r.html", encoding: .utf8)
        #expect(html.components(separatedBy: "<tr class=\"session\">").count - 1 == 2)

        let verify = try await run(["recording", "verify", good, bad])
        #expect(verify.status == 1)
        #expect(verify.stdout.contains("corrupt"))
    }

    @Test("export --deidentify writes a recording that verifies")
    func export() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "spineplan is not built")
        let root = RecordingFixtures.scratch("cli-export")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let folder = try RecordingFixtures.record(in: root + "/rec").folder
        let out = try await run(["recording", "export", folder, "--out", root + "/anon", "--deidentify"])
        #expect(out.status == 0, "\(out.stderr)")
        let verify = try await run(["recording", "verify", root + "/anon"])
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("de-identified"))
        #expect(try await run(["recording", "export", folder, "--out", root + "/anon", "--deidentify"]).status == 1)
    }
}
