import Foundation

/// A child process left running while a test talks to it; its output is collected as it arrives.
package final class LiveProcess: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `condition`.
    private let process = Process()
    private let condition = NSCondition()
    private var output = ""
    private var exited = false

    package init(_ executable: String, _ arguments: [String], stdin: Bool = false, environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        if stdin { process.standardInput = Pipe() }
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.condition.lock()
            self.output += String(decoding: data, as: UTF8.self)
            self.condition.broadcast()
            self.condition.unlock()
        }
        process.terminationHandler = { [weak self] _ in
            guard let self else { return }
            self.condition.lock()
            self.exited = true
            self.condition.broadcast()
            self.condition.unlock()
        }
        try process.run()
    }

    /// Everything printed so far (stdout and stderr together).
    package var text: String {
        condition.lock()
        defer { condition.unlock() }
        return output
    }

    /// Waits until the output matches, the process exits, or the deadline passes; returns the first matching line.
    package func waitForLine(containing needle: String, timeout: Double = 20) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let line = output.split(separator: "\n").first(where: { $0.contains(needle) }) { return String(line) }
            if exited || !condition.wait(until: deadline) { return nil }
        }
    }

    /// The port from `spineplan serve`'s "listening … port=N" line, once it appears.
    package func listeningPort(timeout: Double = 20) -> Int? {
        waitForLine(containing: "listening", timeout: timeout)?.split(separator: " ").first { $0.hasPrefix("port=") }
            .flatMap { Int($0.dropFirst(5)) }
    }

    package func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Waits for exit and returns the status, or nil if it did not exit in time.
    package func waitForExit(timeout: Double = 20) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        while !exited && condition.wait(until: deadline) {}
        let done = exited
        condition.unlock()
        if !done { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    package func closeStdin() { (process.standardInput as? Pipe)?.fileHandleForWriting.closeFile() }

    package var pid: Int32 { process.processIdentifier }

    deinit { if process.isRunning { process.terminate() } }

    /// The directory holding the built products (where `spineplan` is).
    package static var productsDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    package static var spineplan: String {
        var dir = productsDirectory
        // The test runner may live inside a .xctest bundle directory.
        while !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("spineplan").path) && dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("spineplan").path
    }
}
