import Foundation

/// Independent DICOM tools from PATH (dicom3tools, DCMTK) for tests that validate what SpinePlan writes.
package enum DICOMTools {
    /// The tool's path, or nil when it is not installed.
    package static func path(_ name: String) -> String? {
        let search = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return search.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Whether tests that need the tool run: installed, or in CI, where a missing tool must fail them (`Peers`).
    package static func isInstalled(_ name: String) -> Bool { Peers.required(path(name) != nil) }

    /// dciodvfy's error lines for a file (warnings are allowed, errors are not); nil when dciodvfy is not installed.
    package static func dciodvfyErrors(_ file: String) async throws -> [String]? {
        guard let tool = path("dciodvfy") else { return nil }
        let out = try await Subprocess.run(tool, [file])
        return (out.stdout + "\n" + out.stderr).split(separator: "\n").map(String.init).filter { $0.hasPrefix("Error") }
    }
}
