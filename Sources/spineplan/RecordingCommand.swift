import ArgumentParser
import Foundation
import Logging
import SpinePlanPlanner
import SpinePlanQA
import SpinePlanService

/// `spineplan recording`: inspect and export recorded sessions.
struct RecordingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recording",
        abstract: "Verify or export recorded sessions.",
        subcommands: [Verify.self, Export.self, Import.self])

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

    /// `spineplan recording import DICOM_DIR --out ROOT [--plan JSON] [--sr FILE] [--overlay-png FILE]`
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a recording from DICOM files and the results of an earlier run (e.g. spineplan plan --json --sr --overlay-png).")

        @Argument(help: "Folder of the session's .dcm files.") var folder: String
        @Option(help: "Root folder; the recording becomes a new folder inside it.") var out: String
        @Option(help: "The plan JSON the session produced (the reference replays are compared with).") var plan: String?
        @Option(help: "The SR that was sent (Part 10 file).") var sr: String?
        @Option(name: .customLong("overlay-png"), help: "The overlay as PNG, for the HTML report.") var overlayPNG: String?
        @Option(help: "Model name@version that produced the plan.") var model: String = "unknown"

        func run() throws {
            func read(_ path: String?) throws -> [UInt8]? {
                guard let path else { return nil }
                guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure.usage("cannot read \(path)") }
                return Array(data)
            }
            var scanPlan: ScanPlan?
            if let bytes = try read(plan) {
                do { scanPlan = try JSONDecoder().decode(ScanPlan.self, from: Data(bytes)) } catch {
                    throw CommandFailure.usage("\(plan ?? ""): not a plan JSON (\(error))")
                }
            }
            do {
                let folder = try RecordingImport.folder(
                    folder, into: out, plan: scanPlan, failure: scanPlan == nil ? "imported without a plan" : nil, sr: try read(sr),
                    overlay: nil, overlayPNG: try read(overlayPNG), model: scanPlan?.model ?? model, software: "spineplan recording import",
                    logger: Logger(label: "spineplan.recording"))
                print(folder)
            } catch let error as RecordingError {
                throw CommandFailure.work(error.message)
            }
        }
    }
}
