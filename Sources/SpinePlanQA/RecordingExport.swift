import Foundation
import SpinePlanDICOM
import Crypto
import SpinePlanService

/// Copies a verified recording to a new folder with the PS3.15 Basic Application Level Confidentiality Profile
/// applied to every DICOM object, and a new manifest.
public enum RecordingExport {
    /// Writes the de-identified copy into `destination`, which must not exist yet or be empty. Returns the new recording.
    ///
    /// Instances are re-encoded in Explicit VR Little Endian (the byte-identity of the original is given up on purpose:
    /// the bytes carried PHI). The plan and the overlay PNG hold no identifiers and are copied as they are.
    @discardableResult
    public static func deidentified(_ recording: Recording, to destination: String,
                                    disk: any RecordingDisk = POSIXRecordingDisk()) throws(RecordingError) -> Recording {
        if FileManager.default.fileExists(atPath: destination), !POSIXRecordingDisk.entries(destination).isEmpty {
            throw RecordingError(.io, "\(destination) exists and is not empty")
        }
        let parent = URL(fileURLWithPath: destination).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: parent) else { throw RecordingError(.io, "\(parent): no such folder") }
        try disk.makeDirectory(destination)
        try disk.makeDirectory(destination + "/instances")
        let deidentifier = Deidentifier()
        let source = recording.manifest
        var files: [RecordingManifest.FileEntry] = []
        var instances: [RecordingManifest.Instance] = []
        func put(_ path: String, _ bytes: [UInt8]) throws(RecordingError) {
            try disk.write(bytes, to: destination + "/" + path)
            files.append(.init(path: path, bytes: bytes.count, sha256: SHA256.hex(bytes)))
        }
        let explicit = TransferSyntax.explicitVRLittleEndian
        func clean(_ bytes: [UInt8], _ transferSyntax: String, _ path: String) throws(RecordingError) -> [UInt8] {
            do {
                return try deidentifier.apply(bytes, transferSyntax: transferSyntax)
            } catch {
                throw RecordingError(.corrupt, "\(recording.directory)/\(path): cannot de-identify: \(error.message)")
            }
        }
        func frame(_ dataset: [UInt8], _ meta: Part10File.Meta, _ path: String) throws(RecordingError) -> (file: [UInt8], datasetOffset: Int) {
            do {
                return try Part10File.encode(dataset: dataset, meta: meta)
            } catch {
                throw RecordingError(.io, "\(destination)/\(path): \(error.message)")
            }
        }
        for instance in source.instances {
            let dataset = try clean(try recording.datasetBytes(instance), instance.transferSyntaxUID, instance.file)
            let sopInstance = deidentifier.remap(instance.sopInstanceUID)
            let (file, offset) = try frame(dataset, .init(sopClassUID: instance.sopClassUID, sopInstanceUID: sopInstance,
                                                          transferSyntaxUID: explicit), instance.file)
            try put(instance.file, file)
            instances.append(.init(file: instance.file, sopClassUID: instance.sopClassUID, sopInstanceUID: sopInstance,
                                   transferSyntaxUID: explicit, arrivalSeconds: instance.arrivalSeconds, association: instance.association, datasetOffset: offset,
                                   datasetLength: dataset.count, datasetSHA256: SHA256.hex(dataset)))
        }
        for path in [source.structuredReport, source.overlay].compactMap({ $0 }) {
            let bytes = try recording.file(path)
            let meta: Part10File.Meta, offset: Int
            do {
                (meta, offset) = try Part10File.parse(bytes)
            } catch {
                throw RecordingError(.corrupt, "\(recording.directory)/\(path): \(error.message)")
            }
            let dataset = try clean(Array(bytes[offset...]), meta.transferSyntaxUID, path)
            try put(path, try frame(dataset, .init(sopClassUID: meta.sopClassUID, sopInstanceUID: deidentifier.remap(meta.sopInstanceUID),
                                                   transferSyntaxUID: explicit), path).file)
        }
        for path in [source.plan, source.overlayPNG].compactMap({ $0 }) {
            try put(path, try recording.file(path))
        }
        var g = SystemRandomNumberGenerator()
        let manifest = RecordingManifest(
            sessionID: String(g.next(), radix: 16), startedAt: "", callingAETitle: "DEIDENTIFIED", calledAETitle: "SPINEPLAN",
            software: source.software, model: source.model, instances: instances, plan: source.plan,
            structuredReport: source.structuredReport, overlay: source.overlay, overlayPNG: source.overlayPNG,
            failure: source.failure, timingsMilliseconds: source.timingsMilliseconds, complete: true, deidentified: true, files: files)
        try disk.write(try RecordingSession.encode(manifest), to: destination + "/manifest.json")
        return try Recording(at: destination)
    }
}
