import ArgumentParser
import Foundation
import SpinePlanService

/// `spineplan recording`: inspect and export recorded sessions.
struct RecordingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recording",
        abstract: "Verify or export recorded sessions.",
        subcommands: [Verify.self, Export.self])

    /// `spineplan recording verify RECORDING...`
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check manifests, completeness and SHA-256 of recordings.")

        @Argument(help: "Recording folders.") var recordings: [String]

        func run() throws {
            var bad = 0
            for path in recordings {
                do {
                    let r = try Recording(at: path)
                    print("\(path): ok, \(r.manifest.instances.count) instance(s), \(r.manifest.files.count) file(s)\(r.manifest.deidentified ? ", de-identified" : "")")
                } catch {
                    bad += 1
                    print("\(path): \(error.code) - \(error.message)")
                }
            }
            if bad > 0 { throw CommandFailure.work("\(bad) of \(recordings.count) recording(s) failed verification") }
        }
    }

    /// `spineplan recording export RECORDING --out DIR --deidentify`
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a recording with the DICOM PS3.15 Basic Application Level Confidentiality Profile applied.")

        @Argument(help: "The recording folder.") var recording: String
        @Option(help: "The new recording folder (must not exist, or be empty).") var out: String
        @Flag(help: "Apply the de-identification profile (required: exports are always de-identified).") var deidentify = false

        func validate() throws {
            guard deidentify else { throw ValidationError("exports must be de-identified: add --deidentify") }
        }

        func run() throws {
            let source: Recording
            do { source = try Recording(at: recording) } catch { throw CommandFailure.work("bad recording: \(error.message)") }
            do {
                let exported = try RecordingExport.deidentified(source, to: out)
                print("wrote \(exported.manifest.instances.count) de-identified instance(s) to \(out)")
            } catch {
                throw CommandFailure.work("export failed: \(error.message)")
            }
        }
    }
}
