import Crypto
import Foundation
import Logging
import Testing
import SpinePlanScanner
import SpinePlanTestSupport
import SpinePlanDICOM
@testable import SpinePlanQA
@testable import SpinePlanService

@Suite struct RecordingTests {
    @Test("manifest digests are swift-crypto's SHA-256 as 64 lower-case hex digits (FIPS 180-4 vectors)")
    func sha256Vectors() {
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("instances round-trip byte-identical, with plan, arrival times and AE titles")
    func roundTrip() throws {
        let root = RecordingFixtures.scratch("roundtrip")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let plan = RecordingFixtures.plan()
        let (folder, instances) = try RecordingFixtures.record(in: root, count: 4, plan: plan, overlayPNG: [0x89, 0x50, 0x4E, 0x47])
        let recording = try Recording(at: folder)
        #expect(recording.manifest.instances.count == 4)
        for (recorded, original) in zip(recording.manifest.instances, instances) {
            #expect(try recording.datasetBytes(recorded) == original.datasetBytes)
            #expect(recorded.datasetSHA256 == SHA256.hex(original.datasetBytes))
            #expect(recorded.sopInstanceUID == original.sopInstanceUID)
            #expect(recorded.transferSyntaxUID == original.transferSyntaxUID)
        }
        #expect(recording.manifest.instances.map(\.arrivalSeconds) == [0, 0.25, 0.5, 0.75])
        #expect(recording.manifest.callingAETitle == "QA_CONSOLE")
        #expect(recording.manifest.calledAETitle == "SPINEPLAN")
        #expect(recording.manifest.model == "vnet@test")
        #expect(try recording.plan() == plan)
        #expect(recording.overlayPNG() == [0x89, 0x50, 0x4E, 0x47])
        let rebuilt = try recording.receivedInstances()
        #expect(rebuilt.map(\.datasetBytes) == instances.map(\.datasetBytes))
        #expect(rebuilt.map { $0.slices.first?.plane } == instances.map { $0.slices.first?.plane })
        let snapshot = try recording.snapshot()
        #expect(snapshot.slices.count == 4)
        #expect(snapshot.trigger == .offline)
    }

    @Test("implicit VR instances keep their transfer syntax and bytes")
    func implicitVR() throws {
        let root = RecordingFixtures.scratch("implicit")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let recorder = SessionRecorder(configuration: RecordingConfiguration(directory: root), logger: Logger(label: "qa"))
        let session = recorder.begin(sessionID: "implicit-1", callingAE: "A", calledAE: "B")
        let instance = try RecordingFixtures.instance(1, transferSyntax: TransferSyntax.implicitVRLittleEndian)
        session.record(instance: instance)
        let folder = try #require(session.finish(plan: nil, failure: "no model", sr: nil, overlay: nil, model: "-", software: "-", timings: [:]))
        let recording = try Recording(at: folder)
        #expect(try recording.datasetBytes(recording.manifest.instances[0]) == instance.datasetBytes)
        #expect(recording.manifest.instances[0].transferSyntaxUID == TransferSyntax.implicitVRLittleEndian)
        #expect(recording.manifest.failure == "no model")
        #expect(try recording.plan() == nil)
        // The Part 10 wrapper must be readable by DCMTK as the same object.
        let object = try DICOMObject(contentsOfFile: folder + "/" + recording.manifest.instances[0].file)
        #expect(object.root.trimmed(.sopInstanceUID) == instance.sopInstanceUID)
    }

    @Test("files are 0600 and folders 0700")
    func modes() throws {
        let root = RecordingFixtures.scratch("modes")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let recordings = root + "/var/recordings"
        let (folder, _) = try RecordingFixtures.record(in: recordings)
        #expect(RecordingFixtures.mode(recordings) == 0o700)
        #expect(RecordingFixtures.mode(folder) == 0o700)
        #expect(RecordingFixtures.mode(folder + "/instances") == 0o700)
        let files = RecordingFixtures.files(under: folder)
        #expect(files.count >= 5)
        for file in files { #expect(RecordingFixtures.mode(file) == 0o600, "\(file)") }
    }

    @Test("a tampered file is a checksum error")
    func tamper() throws {
        let root = RecordingFixtures.scratch("tamper")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (folder, _) = try RecordingFixtures.record(in: root)
        let path = folder + "/instances/0002.dcm"
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 3] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: RecordingError.self) { try Recording(at: folder) }
        do { _ = try Recording(at: folder) } catch { #expect(error.code == .checksumMismatch); #expect(error.message.contains("0002.dcm")) }
    }

    @Test("a tampered manifest checksum is a checksum error; an unparsable manifest is corrupt")
    func manifestTamper() throws {
        let root = RecordingFixtures.scratch("manifest")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (folder, _) = try RecordingFixtures.record(in: root)
        let manifestPath = folder + "/manifest.json"
        let original = try String(contentsOfFile: manifestPath, encoding: .utf8)
        let recording = try Recording(at: folder)
        let digest = recording.manifest.files[0].sha256
        let replacement = String(digest.prefix(63)) + (digest.last == "0" ? "1" : "0")
        try original.replacingOccurrences(of: digest, with: replacement).write(toFile: manifestPath, atomically: true, encoding: .utf8)
        do { _ = try Recording(at: folder); Issue.record("tampered manifest accepted") } catch { #expect(error.code == .checksumMismatch) }
        try String(original.prefix(original.count / 2)).write(toFile: manifestPath, atomically: true, encoding: .utf8)
        do { _ = try Recording(at: folder); Issue.record("half a manifest accepted") } catch { #expect(error.code == .corrupt) }
    }

    @Test("a truncated or missing file, or a missing manifest, is incomplete")
    func incomplete() throws {
        let root = RecordingFixtures.scratch("incomplete")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (folder, _) = try RecordingFixtures.record(in: root)
        let path = folder + "/instances/0003.dcm"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count - 100).write(to: URL(fileURLWithPath: path))
        do { _ = try Recording(at: folder); Issue.record("truncated file accepted") } catch {
            #expect(error.code == .incomplete)
            #expect(error.message.contains("truncated"))
        }
        try FileManager.default.removeItem(atPath: path)
        do { _ = try Recording(at: folder); Issue.record("missing file accepted") } catch {
            #expect(error.code == .incomplete)
            #expect(error.message.contains("missing"))
        }
        try bytes.write(to: URL(fileURLWithPath: path))
        _ = try Recording(at: folder)
        try FileManager.default.removeItem(atPath: folder + "/manifest.json")
        do { _ = try Recording(at: folder); Issue.record("no manifest accepted") } catch { #expect(error.code == .incomplete) }
    }

    @Test("an unfinished session leaves an incomplete recording, not a valid one")
    func unfinished() throws {
        let root = RecordingFixtures.scratch("unfinished")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let recorder = SessionRecorder(configuration: RecordingConfiguration(directory: root), logger: Logger(label: "qa"))
        let session = recorder.begin(sessionID: "crashy", callingAE: "A", calledAE: "B")
        session.record(instance: try RecordingFixtures.instance(0))
        let folder = try #require(session.directory)
        do { _ = try Recording(at: folder); Issue.record("unfinished accepted") } catch { #expect(error.code == .incomplete) }
    }

    @Test("recording is off by default and then writes nothing")
    func offByDefault() throws {
        let recorder = SessionRecorder(configuration: .off, logger: Logger(label: "qa"))
        #expect(!recorder.isEnabled)
        let session = recorder.begin(sessionID: "x", callingAE: "A", calledAE: "B")
        session.record(instance: try RecordingFixtures.instance(0))
        #expect(session.directory == nil)
        #expect(session.finish(plan: RecordingFixtures.plan(), sr: nil, overlay: nil, model: "m", software: "s", timings: [:]) == nil)
    }

    @Test("a full disk degrades to a warning, removes the partial folder and never throws")
    func fullDisk() throws {
        let root = RecordingFixtures.scratch("full")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let log = CapturedLog()
        let recorder = SessionRecorder(configuration: RecordingConfiguration(directory: root), logger: log.logger,
                                       disk: FullDisk(allowedWrites: 2))
        let session = recorder.begin(sessionID: "full-1", callingAE: "A", calledAE: "B")
        for i in 0..<4 { session.record(instance: try RecordingFixtures.instance(i)) }
        #expect(!session.isActive)
        let folder = session.finish(plan: RecordingFixtures.plan(), sr: nil, overlay: nil, model: "m", software: "s", timings: [:])
        #expect(folder == nil)
        #expect(POSIXRecordingDisk.entries(root).isEmpty)
        let warnings = log.all.filter { $0.hasPrefix("warning") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("No space left") == true)
        for line in log.all {
            #expect(!line.contains(RecordingFixtures.patientName) && !line.contains(RecordingFixtures.patientID))
        }
        // The manifest write failing (the last write) must degrade the same way.
        let late = SessionRecorder(configuration: RecordingConfiguration(directory: root), logger: log.logger, disk: FullDisk(allowedWrites: 2))
        let s2 = late.begin(sessionID: "full-2", callingAE: "A", calledAE: "B")
        s2.record(instance: try RecordingFixtures.instance(0))
        #expect(s2.finish(plan: RecordingFixtures.plan(), sr: nil, overlay: nil, model: "m", software: "s", timings: [:]) == nil)
        #expect(POSIXRecordingDisk.entries(root).isEmpty)
    }

    @Test("an unwritable root degrades to a warning")
    func unwritableRoot() throws {
        let root = RecordingFixtures.scratch("rofs")
        defer { try? FileManager.default.removeItem(atPath: root) }
        // A regular file where the root folder should be: fails even for root, unlike chmod.
        let blocked = root + "/blocked"
        #expect(FileManager.default.createFile(atPath: blocked, contents: Data("x".utf8)))
        let log = CapturedLog()
        let recorder = SessionRecorder(configuration: RecordingConfiguration(directory: blocked + "/recordings"), logger: log.logger)
        let session = recorder.begin(sessionID: "s", callingAE: "A", calledAE: "B")
        session.record(instance: try RecordingFixtures.instance(0))
        #expect(session.finish(plan: nil, sr: nil, overlay: nil, model: "m", software: "s", timings: [:]) == nil)
        #expect(log.all.contains { $0.hasPrefix("warning") && $0.contains("recording disabled") })
    }

    @Test("retention deletes by age, then oldest first by size, and logs each deletion")
    func retention() throws {
        let root = RecordingFixtures.scratch("retention")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let now = Date()
        var folders: [String] = []
        for days in [40.0, 3, 2, 1] {
            folders.append(try RecordingFixtures.record(in: root, count: 2, sessionID: "age\(Int(days))",
                                                        startedAt: now.addingTimeInterval(-days * 86_400)).folder)
        }
        let sizes = folders.map { SessionRecorder.treeSize($0) }
        let log = CapturedLog()
        // Room for the two newest only.
        let limit = sizes[2] + sizes[3] + 10
        let recorder = SessionRecorder(configuration: RecordingConfiguration(directory: root, maxAgeSeconds: 30 * 86_400, maxTotalBytes: limit),
                                       logger: log.logger)
        let removed = recorder.applyRetention(now: now)
        let names = folders.map { URL(fileURLWithPath: $0).lastPathComponent }
        #expect(removed == [names[0], names[1]])
        #expect(POSIXRecordingDisk.entries(root) == [names[2], names[3]].sorted())
        let deletions = log.all.filter { $0.contains("deleted by retention") }
        #expect(deletions.count == 2)
        #expect(deletions[0].contains("reason=age") && deletions[1].contains("reason=size"))
        // Recordings are kept when within both limits.
        #expect(recorder.applyRetention(now: now).isEmpty)
    }

    @Test("finishing a session applies retention but never deletes the session just recorded")
    func retentionOnFinish() throws {
        let root = RecordingFixtures.scratch("retention-finish")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let old = try RecordingFixtures.record(in: root, sessionID: "old", startedAt: Date().addingTimeInterval(-3 * 86_400)).folder
        // A size limit below one recording: the old one goes, the new one stays although it alone is over the limit.
        let config = RecordingConfiguration(directory: root, maxAgeSeconds: nil, maxTotalBytes: 1)
        let new = try RecordingFixtures.record(in: root, sessionID: "new", configuration: config).folder
        #expect(!FileManager.default.fileExists(atPath: old))
        #expect(FileManager.default.fileExists(atPath: new + "/manifest.json"))
    }

    @Test("import records DICOM files with their dataset bytes exactly as stored")
    func importFolder() throws {
        let root = RecordingFixtures.scratch("import")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/files", withIntermediateDirectories: true)
        for i in 0..<3 { try RecordingFixtures.object(i).write(toFile: root + "/files/\(i).dcm") }
        let plan = RecordingFixtures.plan()
        let folder = try RecordingImport.folder(root + "/files", into: root + "/rec", plan: plan, sr: nil, overlay: nil, overlayPNG: nil,
                                                model: "m", software: "s", logger: Logger(label: "qa"))
        let recording = try Recording(at: folder)
        #expect(try recording.plan() == plan)
        for (i, instance) in recording.manifest.instances.enumerated() {
            let file = try Array(Data(contentsOf: URL(fileURLWithPath: root + "/files/\(i).dcm")))
            let (_, offset) = try Part10File.parse(file)
            #expect(try recording.datasetBytes(instance) == Array(file[offset...]))
        }
        #expect(throws: RecordingError.self) {
            try RecordingImport.folder(root + "/rec", into: root + "/rec2", plan: nil, sr: nil, overlay: nil, overlayPNG: nil,
                                       model: "m", software: "s", logger: Logger(label: "qa"))
        }
    }
}
