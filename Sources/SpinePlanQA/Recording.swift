import Foundation
import SpinePlanDICOM
import SpinePlanPlanner
import Crypto
import SpinePlanService

/// A recorded session read back and verified: manifest present and well-formed, every file there, every digest right.
public struct Recording: Sendable {
    public let directory: String
    public let manifest: RecordingManifest

    /// The folder name, used as the session's name in reports.
    public var name: String { URL(fileURLWithPath: directory).lastPathComponent }

    /// Opens and verifies a recording; each way of being broken is its own error code.
    public init(at path: String) throws(RecordingError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RecordingError(.notFound, "\(path): no such recording folder")
        }
        let directory = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        let manifestPath = directory + "/manifest.json"
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            let hasInstances = !POSIXRecordingDisk.entries(directory + "/instances").isEmpty
            throw RecordingError(hasInstances ? .incomplete : .corrupt,
                                 hasInstances ? "\(directory): no manifest.json; the session was never finished (daemon stopped, or the disk was full)"
                                              : "\(directory): not a recording (no manifest.json)")
        }
        let manifest: RecordingManifest
        do {
            manifest = try JSONDecoder().decode(RecordingManifest.self, from: data)
        } catch {
            throw RecordingError(.corrupt, "\(manifestPath): unreadable manifest (\(Self.brief(error)))")
        }
        guard manifest.format == RecordingManifest.formatName else {
            throw RecordingError(.corrupt, "\(manifestPath): format is '\(manifest.format)', not \(RecordingManifest.formatName)")
        }
        guard manifest.formatVersion == RecordingManifest.currentVersion else {
            throw RecordingError(.corrupt, "\(manifestPath): format version \(manifest.formatVersion) is not supported (this build reads \(RecordingManifest.currentVersion))")
        }
        guard manifest.complete else {
            throw RecordingError(.incomplete, "\(manifestPath): the manifest marks the session incomplete")
        }
        var listed: [String: RecordingManifest.FileEntry] = [:]
        for entry in manifest.files {
            guard Self.isSafe(entry.path) else { throw RecordingError(.corrupt, "\(manifestPath): unsafe path '\(entry.path)'") }
            listed[entry.path] = entry
        }
        var referenced = manifest.instances.map(\.file)
        referenced += [manifest.plan, manifest.structuredReport, manifest.overlay, manifest.overlayPNG].compactMap { $0 }
        for file in referenced where listed[file] == nil {
            throw RecordingError(.corrupt, "\(manifestPath): '\(file)' is referenced but has no checksum entry")
        }
        guard !manifest.instances.isEmpty else { throw RecordingError(.incomplete, "\(manifestPath): no instances recorded") }
        for entry in manifest.files {
            let filePath = directory + "/" + entry.path
            guard let bytes = FileManager.default.contents(atPath: filePath) else {
                throw RecordingError(.incomplete, "\(filePath): missing")
            }
            guard bytes.count == entry.bytes else {
                throw RecordingError(.incomplete, "\(filePath): \(bytes.count) bytes, the manifest says \(entry.bytes) (truncated or partly written)")
            }
            let digest = SHA256.hex(bytes)
            guard digest == entry.sha256 else {
                throw RecordingError(.checksumMismatch, "\(filePath): SHA-256 \(digest.prefix(12))… does not match the manifest's \(entry.sha256.prefix(12))…")
            }
        }
        self.directory = directory
        self.manifest = manifest
        for instance in manifest.instances {
            let bytes = try datasetBytes(instance)
            guard SHA256.hex(bytes) == instance.datasetSHA256 else {
                throw RecordingError(.checksumMismatch, "\(directory)/\(instance.file): the dataset's SHA-256 does not match the manifest")
            }
        }
    }

    /// The bytes of a file of this recording.
    public func file(_ relativePath: String) throws(RecordingError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: directory + "/" + relativePath) else {
            throw RecordingError(.incomplete, "\(directory)/\(relativePath): missing")
        }
        return Array(data)
    }

    /// The dataset of an instance exactly as it was received.
    public func datasetBytes(_ instance: RecordingManifest.Instance) throws(RecordingError) -> [UInt8] {
        let bytes = try file(instance.file)
        guard instance.datasetOffset >= 0, instance.datasetLength >= 0, instance.datasetOffset + instance.datasetLength == bytes.count else {
            throw RecordingError(.corrupt, "\(directory)/\(instance.file): dataset range does not match the file")
        }
        return Array(bytes[instance.datasetOffset...])
    }

    /// The recorded instances rebuilt as the DICOM edge delivers them, for in-process replay.
    public func receivedInstances() throws(RecordingError) -> [ReceivedInstance] {
        var out: [ReceivedInstance] = []
        for instance in manifest.instances {
            let bytes = try datasetBytes(instance)
            let slices: [Slice]
            do {
                let object = try DICOMObject(datasetBytes: bytes, transferSyntax: instance.transferSyntaxUID)
                slices = try SliceDecoder.slices(from: object)
            } catch {
                throw RecordingError(.corrupt, "\(directory)/\(instance.file): \(error.message)")
            }
            out.append(ReceivedInstance(associationID: UInt64(instance.association), callingAETitle: manifest.callingAETitle,
                                        peerAddress: "recording", sopClassUID: instance.sopClassUID,
                                        sopInstanceUID: instance.sopInstanceUID, transferSyntaxUID: instance.transferSyntaxUID,
                                        datasetBytes: bytes, slices: slices))
        }
        return out
    }

    /// The instances as DICOM objects, for sending with C-STORE.
    public func objects() throws(RecordingError) -> [DICOMObject] {
        var out: [DICOMObject] = []
        for instance in manifest.instances {
            do {
                out.append(try DICOMObject(datasetBytes: try datasetBytes(instance), transferSyntax: instance.transferSyntaxUID))
            } catch let error as RecordingError {
                throw error
            } catch let error as DICOMError {
                throw RecordingError(.corrupt, "\(directory)/\(instance.file): \(error.message)")
            } catch {
                throw RecordingError(.corrupt, "\(directory)/\(instance.file): \(error)")
            }
        }
        return out
    }

    /// The plan that was sent back when the session was recorded; nil when planning produced none.
    public func plan() throws(RecordingError) -> ScanPlan? {
        guard let path = manifest.plan else { return nil }
        do {
            return try JSONDecoder().decode(ScanPlan.self, from: Data(try file(path)))
        } catch let error as RecordingError {
            throw error
        } catch {
            throw RecordingError(.corrupt, "\(directory)/\(path): unreadable plan (\(Self.brief(error)))")
        }
    }

    /// The overlay as PNG, when the daemon stored one.
    public func overlayPNG() -> [UInt8]? {
        guard let path = manifest.overlayPNG else { return nil }
        return try? file(path)
    }

    static func isSafe(_ path: String) -> Bool {
        !path.isEmpty && !path.hasPrefix("/") && !path.split(separator: "/").contains("..")
    }

    static func brief(_ error: any Error) -> String {
        if let e = error as? DecodingError {
            switch e {
            case let .keyNotFound(key, _): return "missing key '\(key.stringValue)'"
            case let .typeMismatch(_, c), let .valueNotFound(_, c), let .dataCorrupted(c):
                let path = c.codingPath.map(\.stringValue).joined(separator: ".")
                return path.isEmpty ? c.debugDescription : "\(path): \(c.debugDescription)"
            @unknown default: return "\(e)"
            }
        }
        return "\(error)"
    }
}

extension Recording {
    /// The recording as the session assembler hands a session to planning (trigger `offline`).
    public func snapshot() throws(RecordingError) -> LocalizerSnapshot {
        let instances = try receivedInstances()
        // A re-sent instance replaces the earlier copy, as in live assembly.
        var slices: [Slice] = []
        var index: [String: Int] = [:]
        for slice in instances.flatMap(\.slices) {
            let key = slice.sopInstanceUID + "/" + String(slice.frameNumber ?? 0)
            if let i = index[key] { slices[i] = slice } else { index[key] = slices.count; slices.append(slice) }
        }
        return LocalizerSnapshot(sessionID: manifest.sessionID, generation: 1, trigger: .offline,
                                 callingAETitle: manifest.callingAETitle, peerAddress: "recording", instances: instances,
                                 arrivalOffsets: manifest.instances.map(\.arrivalSeconds), slices: slices)
    }
}
