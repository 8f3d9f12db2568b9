import Foundation
import SpinePlanDICOM
import SpinePlanGeometry

/// Makes one session: poses the subject, plans and acquires the localizer, and writes DICOM, truth and arrays.
struct SessionSynthesizer {
    let seed: UInt64
    let options: SynthesisOptions
    let subject: ScanSubject

    /// The prescription and pixels of one acquired localizer.
    struct Acquisition {
        var prescription: LocalizerPrescription
        var slices: [Slice]
    }

    func acquire() throws(ScannerError) -> Acquisition {
        let prescription = try LocalizerPrescription.plan(targets: subject.targets, seed: seed, overrides: options.overrides)
        let settings = AcquisitionSettings(
            snr: prescription.snr, referenceSignal: subject.referenceSignal,
            bias: BiasField(seed: seed, centre: prescription.sagittal.centre, amplitude: prescription.biasAmplitude),
            noiseSeed: seed, labelMap: false)
        let pixels = prescription.stacks.enumerated().map { index, stack in
            LocalizerAcquisition.acquire(stack, stackIndex: index, from: subject.signal, settings: settings)
        }
        return Acquisition(prescription: prescription, slices: makeSlices(prescription, pixels))
    }

    /// The truth restricted to what the sagittal localizer shows.
    func visibleTruth(_ prescription: LocalizerPrescription) -> TruthRecord {
        let sagittal = prescription.sagittal
        let discs = subject.discs.filter {
            sagittal.coveringSlice(of: $0.centre, margin: LocalizerPrescription.coverageMargin) != nil
                && sagittal.inPlaneContains($0.centre, margin: LocalizerPrescription.fieldMargin)
        }
        let reach = sagittal.offset(ofSlice: sagittal.sliceCount - 1) + sagittal.thickness / 2
        let vertebrae = subject.vertebrae.filter {
            sagittal.inPlaneContains($0.centre) && abs(($0.centre - sagittal.centre).dot(sagittal.normal)) <= reach
        }
        return TruthRecord(discs: discs, vertebrae: vertebrae, anatomy: subject.anatomy)
    }

    func makeSlices(_ prescription: LocalizerPrescription, _ pixels: [[[Float]]]) -> [Slice] {
        let study = SyntheticIdentity.patientStudy(seed: seed, subject: subject)
        let key = "\(subject.identityTag) \(seed)"
        let frameOfReference = SeededUID.make(seed: seed, purpose: "frame of reference \(key)")
        let names = ["SAG", "COR", "AX"]
        let total = pixels.reduce(0) { $0 + $1.count }
        var slices: [Slice] = []
        var instance = 0
        for (index, stack) in prescription.stacks.enumerated() {
            let series = options.enhanced ? SeededUID.make(seed: seed, purpose: "series \(index) \(key)")
                : SeededUID.make(seed: seed, purpose: "series \(key)")
            let enhancedInstance = SeededUID.make(seed: seed, purpose: "instance \(index) \(key)")
            for k in 0..<stack.sliceCount {
                instance += 1
                slices.append(Slice(
                    sopClassUID: options.enhanced ? SOPClass.enhancedMRImageStorage : SOPClass.mrImageStorage,
                    sopInstanceUID: options.enhanced ? enhancedInstance
                        : SeededUID.make(seed: seed, purpose: "instance \(index) \(k) \(key)"),
                    frameNumber: options.enhanced ? k + 1 : nil, seriesInstanceUID: series,
                    frameOfReferenceUID: frameOfReference, plane: stack.plane(k), sliceThickness: stack.thickness,
                    spacingBetweenSlices: stack.spacing, imageType: ["ORIGINAL", "PRIMARY", "LOCALIZER"],
                    seriesDescription: options.enhanced ? "LOC \(names[index])" : "3-plane loc",
                    seriesNumber: options.enhanced ? index + 1 : 1,
                    instanceNumber: options.enhanced ? 1 : instance,
                    imagesInAcquisition: options.enhanced ? stack.sliceCount : total,
                    patientStudy: study, pixels: pixels[index][k]))
            }
        }
        return slices
    }

    func run() throws(ScannerError) -> SessionSummary {
        let acquisition = try acquire()
        let directory = (options.outputDirectory as NSString).appendingPathComponent(subject.caseName)
        let localizer = (directory as NSString).appendingPathComponent("localizer")
        try Self.makeDirectory(localizer)
        var files: [String] = []
        let names = ["sag", "cor", "ax"]
        do throws(DICOMError) {
            if options.enhanced {
                var start = 0
                for (index, stack) in acquisition.prescription.stacks.enumerated() {
                    let path = (localizer as NSString).appendingPathComponent("\(names[index]).dcm")
                    try DICOMFileWriter.writeEnhancedMR(Array(acquisition.slices[start..<(start + stack.sliceCount)]), to: path)
                    files.append(path)
                    start += stack.sliceCount
                }
            } else {
                var start = 0
                for (index, stack) in acquisition.prescription.stacks.enumerated() {
                    for k in 0..<stack.sliceCount {
                        let number = k + 1 < 10 ? "0\(k + 1)" : "\(k + 1)"
                        let path = (localizer as NSString).appendingPathComponent("\(names[index])_\(number).dcm")
                        try DICOMFileWriter.writeMRImage(acquisition.slices[start + k], to: path)
                        files.append(path)
                    }
                    start += stack.sliceCount
                }
            }
        } catch {
            throw ScannerError(.writeFailed, "writing DICOM for \(subject.caseName): \(error)")
        }
        let truth = visibleTruth(acquisition.prescription)
        let truthPath = (directory as NSString).appendingPathComponent("truth.json")
        try Self.writeJSON(truth, to: truthPath)
        if options.exportVolume, let phantom = subject.phantom {
            try VolumeExport.write(phantom, lookup: subject.signal.lookup,
                                   to: (directory as NSString).appendingPathComponent("volume"))
        }
        if options.exportLabels, let labels = subject.labels {
            let scheme = subject.phantom.map { VolumeExport.labelScheme(column: $0.anatomy.column) }
                ?? Dictionary(uniqueKeysWithValues: subject.vertebrae.compactMap { v in
                    SpineLevel.allCases.first { $0.name == v.level }.map { (v.level, Int($0.rawValue)) }
                } + [("background", 0)])
            try LabelExport.write(labels, scheme: scheme, partial: subject.labelsArePartial,
                                  stacks: acquisition.prescription.stacks,
                                  to: (directory as NSString).appendingPathComponent("labels"))
        }
        return SessionSummary(caseName: subject.caseName, directory: directory, seed: seed, dicomFiles: files,
                              sliceCount: acquisition.slices.count, truthPath: truthPath, truth: truth)
    }

    static func makeDirectory(_ path: String) throws(ScannerError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ScannerError(.writeFailed, "cannot create \(path): \(error.localizedDescription)")
        }
    }

    static func writeJSON<T: Encodable>(_ value: T, to path: String) throws(ScannerError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try encoder.encode(value).write(to: URL(fileURLWithPath: path))
        } catch {
            throw ScannerError(.writeFailed, "cannot write \(path): \(error.localizedDescription)")
        }
    }
}
