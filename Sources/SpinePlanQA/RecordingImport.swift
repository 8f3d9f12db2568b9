import Foundation
import Logging
import SpinePlanDICOM
import SpinePlanPlanner
import SpinePlanService

/// Builds a recording from DICOM files on disk (e.g. a `spineplan synth` session and a `spineplan plan` run), for QA
/// sets made without a live daemon. Each file's dataset bytes are kept exactly as stored.
public enum RecordingImport {
    /// Records the `.dcm` files of `folder` (sorted by name, one association) with the given results under `root`.
    /// Returns the new recording's folder.
    public static func folder(_ folder: String, into root: String, plan: ScanPlan?, failure: String? = nil, sr: [UInt8]?,
                              overlay: [UInt8]?, overlayPNG: [UInt8]?, model: String, software: String,
                              logger: Logger) throws(RecordingError) -> String {
        let names = POSIXRecordingDisk.entries(folder).filter { $0.lowercased().hasSuffix(".dcm") }
        guard !names.isEmpty else { throw RecordingError(.notFound, "\(folder): no .dcm files") }
        var instances: [ReceivedInstance] = []
        for name in names {
            let path = folder + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else { throw RecordingError(.io, "\(path): unreadable") }
            let bytes = Array(data)
            let meta: Part10File.Meta, dataset: [UInt8], slices: [Slice]
            do {
                let (read, offset) = try Part10File.parse(bytes)
                meta = read
                dataset = Array(bytes[offset...])
                slices = try SliceDecoder.slices(from: DICOMObject(datasetBytes: dataset, transferSyntax: meta.transferSyntaxUID))
            } catch {
                throw RecordingError(.corrupt, "\(path): \(error.message)")
            }
            instances.append(ReceivedInstance(associationID: 1, callingAETitle: "IMPORT", peerAddress: "file", sopClassUID: meta.sopClassUID,
                                              sopInstanceUID: meta.sopInstanceUID, transferSyntaxUID: meta.transferSyntaxUID,
                                              datasetBytes: dataset, slices: slices))
        }
        let recorder = SessionRecorder(configuration: RecordingConfiguration(directory: root, maxAgeSeconds: nil, maxTotalBytes: nil),
                                       logger: logger)
        var g = SystemRandomNumberGenerator()
        let session = recorder.begin(sessionID: String(g.next(), radix: 16), callingAE: "IMPORT", calledAE: "SPINEPLAN")
        for instance in instances { session.record(instance: instance, arrivalOffset: 0) }
        guard session.isActive, let done = session.finish(plan: plan, failure: failure, sr: sr, overlay: overlay, overlayPNG: overlayPNG,
                                                          model: model, software: software, timings: plan?.timings ?? [:]) else {
            throw RecordingError(.io, "could not write the recording under \(root) (see the log)")
        }
        return done
    }
}
