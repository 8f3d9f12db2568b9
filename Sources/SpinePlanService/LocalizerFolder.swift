import Foundation
import Logging
import SpinePlanDICOM

/// A folder of DICOM files read as if a console had sent them: the offline source for `spineplan plan`.
public enum LocalizerFolder {
    /// Why a folder cannot be planned.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Reads every file under `path` (recursively, in name order); files that are not DICOM are counted and skipped.
    public static func instances(at path: String, logger: Logger) throws(Problem) -> (instances: [ReceivedInstance], skipped: [String]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Problem(message: "\(path) is not a directory")
        }
        guard let enumerator = FileManager.default.enumerator(atPath: path) else {
            throw Problem(message: "cannot list \(path)")
        }
        var files: [String] = []
        while let name = enumerator.nextObject() as? String {
            var dir: ObjCBool = false
            let full = (path as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: full, isDirectory: &dir), !dir.boolValue { files.append(full) }
        }
        files.sort()
        var instances: [ReceivedInstance] = []
        var skipped: [String] = []
        for file in files {
            do {
                let object = try DICOMObject(contentsOfFile: file)
                let slices = try SliceDecoder.slices(from: object)
                let syntax = TransferSyntax.explicitVRLittleEndian
                instances.append(ReceivedInstance(
                    associationID: 0, callingAETitle: "OFFLINE", peerAddress: "-",
                    sopClassUID: slices.first?.sopClassUID ?? "", sopInstanceUID: slices.first?.sopInstanceUID ?? "",
                    transferSyntaxUID: syntax, datasetBytes: try object.encoded(transferSyntax: syntax), slices: slices))
            } catch {
                skipped.append("\((file as NSString).lastPathComponent): \(error.message)")
            }
        }
        return (instances, skipped)
    }

    /// The folder's one localizer session, assembled exactly as the daemon would.
    public static func session(at path: String, logger: Logger) throws(Problem) -> LocalizerSnapshot {
        let (instances, skipped) = try instances(at: path, logger: logger)
        for note in skipped.prefix(5) { logger.warning("skipped a file that is not a readable MR image", metadata: ["file": "\(note)"]) }
        guard !instances.isEmpty else {
            throw Problem(message: skipped.isEmpty ? "\(path) holds no files" : "\(path) holds no readable MR images (\(skipped.count) file(s) skipped)")
        }
        let assembler = SessionAssembler(idleTimeout: .zero, logger: logger)
        var latest: [String: LocalizerSnapshot] = [:]
        for instance in instances {
            for snapshot in assembler.add(instance) { latest[snapshot.sessionID] = snapshot }
        }
        for snapshot in assembler.expireIdle(at: .now + .seconds(1)) { latest[snapshot.sessionID] = snapshot }
        var sessions = Array(latest.values)
        guard !sessions.isEmpty else { throw Problem(message: "\(path) holds no localizer series") }
        guard sessions.count == 1 else {
            throw Problem(message: "\(path) holds \(sessions.count) localizer sessions (different patients, studies or frames of reference); give one at a time")
        }
        sessions[0].trigger = .offline
        return sessions[0]
    }
}
