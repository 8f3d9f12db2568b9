import Foundation
import SpinePlanModel
#if canImport(Glibc)
import Glibc
#endif

/// What `check-config` asks of the machine, beyond the file itself: everything `serve` needs at start that the
/// file names. A file that passed `check-config` used to fail in `serve` on a missing model or an unwritable state
/// directory; these checks run as the user who runs `check-config`, so run it as the service's user.
extension ConfigurationFile.Reader {
    mutating func checkHost(_ c: ServiceConfiguration) {
        checkModel(c.model.path)
        if let tls = c.network.tls {
            // The daemon reads these at start as its own user; a key only root can read made `serve` fail there.
            for (key, path) in [("network.tls.certificate", tls.certificateFile), ("network.tls.private_key", tls.privateKeyFile),
                                ("network.tls.client_ca", tls.trustedCAFile)] {
                if let path, let problem = Self.readableFileProblem(path) { issue(key, "\(path) \(problem)") }
            }
        }
        let stateOK = checkWritableDirectory(c.stateDirectory, key: "state_directory")
        // The outbox and recordings live under the state directory unless given absolutely; report each once.
        if stateOK || c.outbox.directory.hasPrefix("/") {
            checkWritableDirectory(c.statePath(c.outbox.directory), key: "outbox.directory")
        }
        if c.recording.enabled, stateOK || c.recording.directory.hasPrefix("/") {
            checkWritableDirectory(c.statePath(c.recording.directory), key: "recording.directory")
        }
    }

    private mutating func issue(_ key: String, _ message: String) {
        issues.append(.init(key: key, line: lines[key], message: message))
    }

    private mutating func checkModel(_ path: String) {
        guard path != "bundled" else {
            if Localizer.bundledWeightsPath == nil { issue("model.path", "no bundled model in this build; give a path") }
            return
        }
        if let problem = Self.readableFileProblem(path) {
            return issue("model.path", "\(path) \(problem)")
        }
        let sidecar = ModelWeights.sidecarPath(for: path)
        if let problem = Self.readableFileProblem(sidecar) {
            issue("model.path", "the model's sidecar \(sidecar) \(problem)")
        }
    }

    static func readableFileProblem(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "does not exist" }
        if isDirectory.boolValue { return "is a directory, not a file" }
        return access(path, R_OK) == 0 ? nil : "cannot be read by this user (\(String(cString: strerror(errno))))"
    }

    /// The directory exists and we may create files in it, or it does not exist yet and its nearest existing
    /// ancestor lets us create it (as `serve` does, with its parents).
    @discardableResult
    private mutating func checkWritableDirectory(_ path: String, key: String) -> Bool {
        var candidate = (path as NSString).standardizingPath
        if !candidate.hasPrefix("/") {
            candidate = (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(candidate)
        }
        var isDirectory: ObjCBool = false
        var created = false
        while !FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory) {
            created = true
            let parent = (candidate as NSString).deletingLastPathComponent
            if parent == candidate { break }
            candidate = parent
        }
        guard isDirectory.boolValue else {
            issue(key, created ? "\(path) cannot be created: \(candidate) is not a directory" : "\(path) is not a directory")
            return false
        }
        guard access(candidate, W_OK | X_OK) == 0 else {
            let why = String(cString: strerror(errno))
            issue(key, created ? "\(path) cannot be created: \(candidate) is not writable by this user (\(why))"
                               : "\(path) is not writable by this user (\(why))")
            return false
        }
        return true
    }
}
