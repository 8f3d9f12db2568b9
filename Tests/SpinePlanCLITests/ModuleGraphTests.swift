import Foundation
import SpinePlanTestSupport
import Testing

/// Issue 17 point 2: the module graph in Docs/architecture.md is generated from Package.swift, and arrows run one
/// way: no product module depends on or imports a tool module (the scanner, QA, test support).
@Suite struct ModuleGraphTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let script = root + "/scripts/module-graph.py"

    @Test("the package as it is: the doc's graph is current and no rule is broken")
    func packageHolds() async throws {
        let result = try await Subprocess.run("/usr/bin/python3", [Self.script, "--check"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains(" 0 problems"), "\(result.stdout)")
    }

    @Test("a product module that imports a tool module, or reaches DCMTK itself, fails the check")
    func breachIsCaught() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        func source(_ target: String, _ text: String) throws {
            try FileManager.default.createDirectory(atPath: tmp.appending("Sources/\(target)"), withIntermediateDirectories: true)
            try text.write(toFile: tmp.appending("Sources/\(target)/File.swift"), atomically: true, encoding: .utf8)
        }
        try source("SpinePlanDICOM", "import CDCMTK\n")
        try source("SpinePlanQA", "import SpinePlanDICOM\n")
        try source("SpinePlanService", "import SpinePlanDICOM\nimport SpinePlanQA\nimport CDCMTK\n")
        func target(_ name: String, _ deps: [String]) -> [String: Any] {
            ["name": name, "type": "regular", "dependencies": deps.map { ["byName": [$0, NSNull()]] }]
        }
        let package: [String: Any] = ["targets": [
            target("CDCMTK", []), target("SpinePlanDICOM", ["CDCMTK"]), target("SpinePlanQA", ["SpinePlanDICOM"]),
            target("SpinePlanService", ["SpinePlanDICOM", "SpinePlanQA"]),
        ]]
        try JSONSerialization.data(withJSONObject: package).write(to: URL(fileURLWithPath: tmp.appending("package.json")))
        try "# doc\n<!-- module-graph:begin -->\n<!-- module-graph:end -->\n".write(
            toFile: tmp.appending("doc.md"), atomically: true, encoding: .utf8)
        let result = try await Subprocess.run("/usr/bin/python3", [
            Self.script, "--check", "--package-json", tmp.appending("package.json"), "--sources", tmp.appending("Sources"),
            "--doc", tmp.appending("doc.md")])
        #expect(result.status == 1)
        #expect(result.stdout.contains("product module SpinePlanService depends on tool module SpinePlanQA"), "\(result.stdout)")
        #expect(result.stdout.contains("SpinePlanService imports CDCMTK without declaring it"), "\(result.stdout)")
        #expect(result.stdout.contains("CDCMTK must be imported by SpinePlanDICOM alone"), "\(result.stdout)")
        #expect(result.stdout.contains("is stale"), "\(result.stdout)")
    }
}
