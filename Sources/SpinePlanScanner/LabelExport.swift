import Foundation
import SpinePlanGeometry

/// The label maps of a session's localizer stacks, for training and for planner tests fed from truth.
///
/// Writes `labels/sag.npy`, `cor.npy` and `ax.npy` (uint8, shape `[slices, rows, columns]`, pixel for pixel
/// on the DICOM slices) and `labels/labels.json` with the label scheme of `SpineLevel`.
enum LabelExport {
    /// What accompanies the arrays.
    struct Description: Encodable {
        var stacks: [String]
        var labelScheme: [String: Int]
        /// True for real volumes: only vertebral bodies are labelled, so 0 means "not a vertebral body".
        var partial: Bool
        var sampling = "nearest neighbour on the slice's centre plane"

        enum CodingKeys: String, CodingKey {
            case stacks
            case labelScheme = "label_scheme"
            case partial, sampling
        }
    }

    static let stackNames = ["sag", "cor", "ax"]

    static func write(_ labels: Volume<UInt8>, scheme: [String: Int], partial: Bool, stacks: [LocalizerStack],
                      to directory: String) throws(ScannerError) {
        try SessionSynthesizer.makeDirectory(directory)
        let sampler = VolumeSampler(volume: labels, lookup: (0..<256).map(Float.init))
        var written: [String] = []
        for (index, stack) in stacks.enumerated() where index < stackNames.count {
            let maps = LocalizerAcquisition.acquire(stack, stackIndex: index, from: sampler, settings: .labels())
            let bytes = maps.flatMap { $0.map { UInt8(clamping: Int($0.rounded())) } }
            try NumpyArrayFile.write(bytes, shape: [stack.sliceCount, stack.rows, stack.columns],
                                     to: (directory as NSString).appendingPathComponent("\(stackNames[index]).npy"))
            written.append("\(stackNames[index]).npy")
        }
        try SessionSynthesizer.writeJSON(Description(stacks: written, labelScheme: scheme, partial: partial),
                                         to: (directory as NSString).appendingPathComponent("labels.json"))
    }
}
