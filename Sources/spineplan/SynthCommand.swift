import ArgumentParser
import Foundation
import SpinePlanScanner

/// `spineplan synth`: the virtual scanner, for QA and training data without patient data.
struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write synthetic 3-plane localizer sessions with ground truth (DIR/<case>/localizer/*.dcm, DIR/<case>/truth.json).")

    @Option(help: "Output directory.") var out: String
    @Option(help: "Seed of the first session; session n uses seed + n.") var seed: UInt64 = 0
    @Option(help: "Number of sessions.") var count: Int = 1
    @Option(name: .customLong("from-volume"), help: "A real NIfTI volume (.nii or .nii.gz) to acquire instead of a phantom.") var fromVolume: String?
    @Option(help: "references.json holding the volume's case (required with --from-volume).") var references: String?
    @Flag(help: "Write Enhanced MR multi-frame objects instead of classic MR images.") var enhanced = false
    @Flag(name: .customLong("export-labels"), help: "Also write each localizer stack's label map as .npy under labels/.") var exportLabels = false
    @Flag(name: .customLong("export-volumes"), help: "Also write the 1 mm image and label volumes as .npy (about 290 MB a case).") var exportVolumes = false
    @Option(name: .customLong("sagittal-slices"), help: "Sagittal localizer slices (1-15).") var sagittalSlices: Int?
    @Option(name: .customLong("slice-thickness"), help: "Localizer slice thickness in mm.") var sliceThickness: Double?
    @Option(help: "Square acquisition matrix of every localizer stack (64-1024).") var matrix: Int?
    @Option(name: .customLong("obliquity"), help: "Localizer obliquity in degrees (up to ±30).") var obliquity: Double?
    @Option(help: "Signal-to-noise ratio of the Rician noise.") var snr: Double?
    @Option(name: .customLong("lstv-rate"), help: "Share of phantoms with transitional lumbosacral anatomy.") var lstvRate: Double = 0.10

    func run() throws {
        var overrides = LocalizerOverrides()
        overrides.sagittalSlices = sagittalSlices
        overrides.sliceThickness = sliceThickness
        overrides.obliquityDegrees = obliquity
        overrides.matrix = matrix
        overrides.snr = snr
        var rates = AnatomyRates()
        rates.transitionalAnatomy = lstvRate
        let options = SynthesisOptions(outputDirectory: out, seed: seed, count: count, volumePath: fromVolume,
                                       referencesPath: references, enhanced: enhanced, exportVolume: exportVolumes, exportLabels: exportLabels,
                                       rates: rates, overrides: overrides)
        let started = Date()
        let sessions: [SessionSummary]
        let progress = TerminalProgress("synth", total: count)
        do {
            defer { progress.finish() }
            sessions = try VirtualScanner.synthesize(options: options, sessionDone: { progress.advance() })
        } catch {
            throw error.isUsageError ? CommandFailure.usage(error.message) : CommandFailure.work(error.message)
        }
        for s in sessions {
            let a = s.truth.anatomy
            print("\(s.caseName): \(s.sliceCount) slices, \(s.truth.discs.count) discs, lumbar \(a.lumbarCount)\(a.lstv ? " (LSTV)" : ""), Cobb \(String(format: "%.1f", a.scoliosisCobbDegrees))°")
        }
        print("wrote \(sessions.count) session(s) to \(out) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }
}
