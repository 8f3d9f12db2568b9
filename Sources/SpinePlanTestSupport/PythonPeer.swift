import Foundation

/// Runs the independent Python peers in `Tests/Peers` with the project's venv.
package enum PythonPeer {
    /// The package root, found from this file's location.
    package static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    package static var python: String {
        if let p = ProcessInfo.processInfo.environment["SPINEPLAN_PYTHON"], !p.isEmpty { return p }
        return packageRoot.appendingPathComponent(".venv/bin/python").path
    }

    /// True when the venv with pydicom and pynetdicom exists (scripts/bootstrap.sh makes it), and always in CI,
    /// where a missing venv must fail the tests that need it (`Peers`).
    package static var isAvailable: Bool { Peers.required(FileManager.default.isExecutableFile(atPath: python)) }

    package static func script(_ name: String) -> String {
        packageRoot.appendingPathComponent("Tests/Peers/\(name)").path
    }

    /// The result of one peer run.
    package struct Output: Sendable {
        package var status: Int32
        package var stdout: String
        package var stderr: String

        /// The last stdout line parsed as a JSON object.
        package func json() throws -> [String: Any] {
            let line = stdout.split(separator: "\n").last.map(String.init) ?? ""
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw PeerFailure(message: "peer printed no JSON object: \(stdout) \(stderr)")
            }
            return object
        }
    }

    /// A peer that did not behave.
    package struct PeerFailure: Error, CustomStringConvertible {
        package var message: String
        package init(message: String) { self.message = message }
        package var description: String { message }
    }

    /// Runs `console.py` (or another script) to completion, off the cooperative pool.
    package static func run(_ arguments: [String], script name: String = "console.py") async throws -> Output {
        try await Subprocess.run(python, [script(name)] + arguments)
    }
}

/// A child process run to completion with its output captured.
package enum Subprocess {
    package static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) async throws -> PythonPeer.Output {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                do {
                    let p = Process()
                    p.executableURL = URL(fileURLWithPath: executable)
                    p.arguments = arguments
                    if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
                    let out = Pipe(), err = Pipe()
                    p.standardOutput = out
                    p.standardError = err
                    try p.run()
                    // Read both pipes before waiting, so a chatty child cannot fill a pipe and deadlock.
                    let errData = Handoff<Data>()
                    let errThread = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
                    errThread.start()
                    let outData = out.fileHandleForReading.readDataToEndOfFile()
                    p.waitUntilExit()
                    let errBytes = errData.wait()
                    continuation.resume(returning: PythonPeer.Output(
                        status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                        stderr: String(decoding: errBytes, as: UTF8.self)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.start()
        }
    }
}
