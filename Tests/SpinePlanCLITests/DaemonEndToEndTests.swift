import Foundation
import SpinePlanTestSupport
import Testing

/// The daemon as a site runs it: `spineplan serve` as a process, pynetdicom consoles on real loopback sockets.
@Suite(.serialized, .enabled(if: PythonPeer.isAvailable, "needs the peer venv: run scripts/bootstrap.sh"))
struct DaemonEndToEndTests {
    /// One synthetic localizer session; returns its folder (holding `localizer/` and `truth.json`).
    static func synthesise(_ tmp: TemporaryDirectory, _ name: String, seed: Int, enhanced: Bool = false) async throws -> String {
        let out = tmp.appending(name)
        let made = try await Subprocess.run(LiveProcess.spineplan, ["synth", "--out", out, "--seed", "\(seed)", "--count", "1"]
                                            + (enhanced ? ["--enhanced"] : []))
        try #require(made.status == 0, "\(made.stderr)")
        let cases = try FileManager.default.contentsOfDirectory(atPath: out).filter { !$0.hasPrefix(".") }
        return out + "/" + (try #require(cases.first))
    }

    /// Starts `spineplan serve` and returns it with the port it listens on.
    static func serve(_ arguments: [String]) throws -> (LiveProcess, Int) {
        let daemon = try LiveProcess(LiveProcess.spineplan, ["serve", "--port", "0", "--log-level", "info"] + arguments,
                                     environment: ["OMP_WAIT_POLICY": "passive"])
        let port = try #require(daemon.listeningPort(timeout: 120), "\(daemon.text)")
        return (daemon, port)
    }

    /// Runs the console peer to the end and returns its JSON report.
    static func console(_ arguments: [String]) throws -> LiveProcess {
        try LiveProcess(PythonPeer.python, [PythonPeer.script("e2e_console.py")] + arguments)
    }

    static func report(of console: LiveProcess, timeout: Double = 180) throws -> [String: Any] {
        #expect(console.waitForExit(timeout: timeout) == 0, "\(console.text)")
        let line = try #require(console.text.split(separator: "\n").last { $0.hasPrefix("{\"sent\"") }, "\(console.text)")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    static func truthDiscCentres(_ session: String) throws -> [[Double]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: session + "/truth.json"))
        let truth = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let discs = try #require(truth["discs"] as? [[String: Any]])
        return discs.compactMap { $0["centre_lps_mm"] as? [Double] }
    }

    static func distance(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
    }

    @Test("a console sends a localizer and gets back an SR that dciodvfy and highdicom accept, planes on the true discs, and the overlay",
          arguments: [false, true])
    func endToEnd(enhanced: Bool) async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let session = try await Self.synthesise(tmp, "synth", seed: enhanced ? 31 : 30, enhanced: enhanced)
        let consolePort = freePort()
        let (daemon, port) = try Self.serve(["--destination", "CONSOLE@127.0.0.1:\(consolePort)", "--state-dir", tmp.appending("state")])
        let console = try Self.console(["--ae", "CONSOLE", "--listen-port", "\(consolePort)", "--port", "\(port)",
                                        "--session", session, "--overlay", "--out", tmp.appending("console")])
        let report = try Self.report(of: console)
        // The admin's view of the same daemon (issue 18 point 4): up, the bundled model, the one session, an empty
        // outbox, no patient data; and "not running" with exit 1 once it has stopped.
        let state = tmp.appending("state")
        var status = try await Subprocess.run(LiveProcess.spineplan, ["status", "--state-dir", state])
        // status.json is rewritten each second: wait for the one written after the plan and the delivery.
        for _ in 0..<30 where !(status.stdout.contains("1 planned") && status.stdout.contains("outbox: 0 waiting")) {
            try await Task.sleep(for: .milliseconds(200))
            status = try await Subprocess.run(LiveProcess.spineplan, ["status", "--state-dir", state])
        }
        #expect(status.status == 0, "\(status.stdout) \(status.stderr)")
        #expect(status.stdout.contains("spineplan: running"))
        #expect(status.stdout.contains("model: spineplan-vnet@"))
        #expect(status.stdout.contains("sessions: 1 planned"), "\(status.stdout)")
        #expect(status.stdout.contains("outbox: 0 waiting"))
        #expect(!status.stdout.contains("SYNTHETIC") && !status.stdout.contains("^"), "\(status.stdout)")
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 60) == 0)
        let stopped = try await Subprocess.run(LiveProcess.spineplan, ["status", "--state-dir", state])
        #expect(stopped.status == 1, "\(stopped.stdout) \(stopped.stderr)")
        #expect(stopped.stderr.contains("not running"))

        let sent = try #require((report["sent"] as? [[String: Any]])?.first)
        #expect((sent["statuses"] as? [Int])?.allSatisfy { $0 == 0 } == true, "\(sent)")
        let study = try #require(sent["study"] as? String)
        let result = try #require((report["studies"] as? [String: [String: Any]])?[study], "\(report)")
        #expect(result["sr"] as? Bool == true, "\(daemon.text.suffix(3000))")
        #expect(result["overlay"] as? Bool == true)
        #expect((report["unexpected_studies"] as? [String])?.isEmpty == true)
        // The SR cites exactly the instances the console sent as its evidence.
        #expect(Set(result["referenced"] as? [String] ?? []) == Set(sent["instances"] as? [String] ?? ["none"]))
        // Every plane lies on a true disc: the localizer's centre error is a few mm, a neighbouring disc is ~35 mm away.
        let truth = try Self.truthDiscCentres(session)
        let planes = try #require(result["planes"] as? [[String: Any]])
        #expect(!planes.isEmpty)
        for plane in planes {
            let centre = try #require(plane["centre"] as? [Double])
            let nearest = truth.map { Self.distance($0, centre) }.min() ?? .infinity
            #expect(nearest < 10, "\(plane["id"] ?? "") is \(nearest) mm from the nearest true disc")
        }
        if let path = result["sr_path"] as? String, let errors = try await DICOMTools.dciodvfyErrors(path) {
            #expect(errors.isEmpty, "\(errors)")
        }
        // The synthetic patient's identity never reaches the log.
        let sop = try #require(FileManager.default.contentsOfDirectory(atPath: session + "/localizer").first)
        let header = try String(decoding: Data(contentsOf: URL(fileURLWithPath: session + "/localizer/" + sop)).prefix(4096), as: UTF8.self)
        #expect(header.contains("SYNTHETIC"), "synth marks its patients; the PHI check below relies on the name")
        #expect(!daemon.text.uppercased().contains("SYNTHETIC^"), "the log leaks the patient name")
    }

    @Test("two consoles at once each get their own result back, sent to the AE registered for them")
    func twoConsoles() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let a = try await Self.synthesise(tmp, "a", seed: 40)
        let b = try await Self.synthesise(tmp, "b", seed: 41)
        let (portA, portB) = (freePort(), freePort())
        let config = """
            peers:
              - {ae_title: CONSOLEA, host: 127.0.0.1, port: \(portA)}
              - {ae_title: CONSOLEB, host: 127.0.0.1, port: \(portB)}
            report:
              overlay: false
            """
        try config.write(toFile: tmp.appending("spineplan.yaml"), atomically: true, encoding: .utf8)
        let (daemon, port) = try Self.serve(["--config", tmp.appending("spineplan.yaml"), "--state-dir", tmp.appending("state")])
        let consoleA = try Self.console(["--ae", "CONSOLEA", "--listen-port", "\(portA)", "--port", "\(port)", "--session", a,
                                         "--out", tmp.appending("ca")])
        let consoleB = try Self.console(["--ae", "CONSOLEB", "--listen-port", "\(portB)", "--port", "\(port)", "--session", b,
                                         "--out", tmp.appending("cb")])
        let reportA = try Self.report(of: consoleA)
        let reportB = try Self.report(of: consoleB)
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 60) == 0)
        for report in [reportA, reportB] {
            let study = try #require((report["sent"] as? [[String: Any]])?.first?["study"] as? String)
            let result = try #require((report["studies"] as? [String: [String: Any]])?[study])
            #expect(result["sr"] as? Bool == true, "\(daemon.text.suffix(3000))")
            #expect(result["sender"] as? String == "SPINEPLAN")
            #expect((report["unexpected_studies"] as? [String])?.isEmpty == true, "a console got the other's result")
        }
    }

    @Test("a non-localizer series is acknowledged, logged once and never planned; the localizer after it is")
    func nonLocalizer() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let diagnostic = try await Self.synthesise(tmp, "t2", seed: 50)
        let localizer = try await Self.synthesise(tmp, "loc", seed: 51)
        let consolePort = freePort()
        let (daemon, port) = try Self.serve(["--destination", "CONSOLE@127.0.0.1:\(consolePort)", "--state-dir", tmp.appending("state")])
        let console = try Self.console(["--ae", "CONSOLE", "--listen-port", "\(consolePort)", "--port", "\(port)",
                                        "--diagnostic-session", diagnostic, "--session", localizer, "--out", tmp.appending("console")])
        let report = try Self.report(of: console)
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 60) == 0)
        let sent = try #require(report["sent"] as? [[String: Any]])
        #expect(sent.count == 2)
        #expect(sent.allSatisfy { ($0["statuses"] as? [Int])?.allSatisfy { $0 == 0 } == true }, "both series are acknowledged")
        let localizerStudy = try #require(sent.last?["study"] as? String)
        #expect((report["studies"] as? [String: [String: Any]])?[localizerStudy]?["sr"] as? Bool == true)
        // Planning is serial: a result for the diagnostic series would have come back before the localizer's.
        #expect((report["unexpected_studies"] as? [String])?.isEmpty == true, "the diagnostic series was planned")
        let ignored = daemon.text.split(separator: "\n").filter { $0.contains("series is not a localizer; ignored") }
        #expect(ignored.count == 1, "\(ignored)")
    }

    @Test("the metrics endpoint, scraped after one session and parsed by prometheus_client, counts exactly what was sent")
    func metricsAfterASession() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let session = try await Self.synthesise(tmp, "synth", seed: 32)
        let config = tmp.appending("spineplan.yaml")
        try Data("metrics:\n  enabled: true\n  port: 0\n".utf8).write(to: URL(fileURLWithPath: config))
        let consolePort = freePort()
        let (daemon, port) = try Self.serve(["--config", config, "--destination", "CONSOLE@127.0.0.1:\(consolePort)",
                                             "--state-dir", tmp.appending("state")])
        defer { daemon.signal(SIGTERM); _ = daemon.waitForExit(timeout: 60) }
        let line = try #require(daemon.waitForLine(containing: "metrics endpoint ready", timeout: 30), "\(daemon.text)")
        let metricsPort = try #require(line.split(separator: " ").first { $0.hasPrefix("metrics_port=") }.flatMap { Int($0.dropFirst(13)) })
        #expect(line.contains("metrics_bind=127.0.0.1"), "loopback unless configured otherwise")
        let console = try Self.console(["--ae", "CONSOLE", "--listen-port", "\(consolePort)", "--port", "\(port)",
                                        "--session", session, "--out", tmp.appending("console")])
        _ = try Self.report(of: console)
        #expect(daemon.waitForLine(containing: "session planned", timeout: 60) != nil)
        // The outbox gauges are refreshed each second.
        try await Task.sleep(for: .milliseconds(1500))
        let scraped = try await PythonPeer.run(["http://127.0.0.1:\(metricsPort)/metrics"], script: "check_metrics.py")
        let result = try scraped.json()
        let samples = try #require(result["samples"] as? [String: Double], "\(scraped.stdout) \(scraped.stderr)")
        #expect((result["content_type"] as? String)?.hasPrefix("text/plain; version=0.0.4") == true)
        #expect(samples["spineplan_sessions_total{outcome=received}"] == 1, "\(samples)")
        #expect((samples["spineplan_sessions_total{outcome=planned}"] ?? 0) + (samples["spineplan_sessions_total{outcome=abstained}"] ?? 0) == 1)
        #expect(samples["spineplan_sessions_total{outcome=failed}"] == 0)
        #expect(samples["spineplan_associations_total{result=accepted}"] == 1, "the console's one association")
        #expect(samples["spineplan_associations_total{result=rejected}"] == 0)
        #expect(samples["spineplan_session_duration_seconds_count{}"] == 1)
        #expect(samples["spineplan_stage_duration_seconds_count{stage=inference}"] == 1)
        #expect((samples["spineplan_stage_duration_seconds_sum{stage=inference}"] ?? 0) > 0)
        #expect(samples["spineplan_outbox_depth{}"] == 0)
        #expect(samples["spineplan_destination_send_failures_total{}"] == 0)
        #expect(samples.keys.contains { $0.hasPrefix("spineplan_model_info{model=spineplan-vnet,precision=") })
        #expect((samples["process_start_time_seconds{}"] ?? 0) > 1.7e9)
    }

    @Test("results survive a destination outage and a kill -9 of the daemon, and are delivered once, when the console is back")
    func outboxSurvivesKill() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let session = try await Self.synthesise(tmp, "synth", seed: 60)
        let consolePort = freePort()  // nothing listens there yet: the console is down
        let state = tmp.appending("state")
        let (first, port) = try Self.serve(["--destination", "CONSOLE@127.0.0.1:\(consolePort)", "--state-dir", state])
        let sent = try await PythonPeer.run(["send", session + "/localizer", "--port", "\(port)"]).json()
        #expect((sent["statuses"] as? [Int])?.allSatisfy { $0 == 0 } == true, "\(sent)")
        #expect(first.waitForLine(containing: "delivery failed; will retry", timeout: 120) != nil, "\(first.text.suffix(3000))")
        first.signal(SIGKILL)
        #expect(first.waitForExit() != nil)
        let outbox = try FileManager.default.contentsOfDirectory(atPath: state + "/outbox").filter { $0.hasSuffix(".dcm") }
        #expect(outbox.count == 2, "SR and overlay wait in the outbox: \(outbox)")

        let study = try #require(try Self.studyUID(of: session))
        let console = try Self.console(["--ae", "CONSOLE", "--listen-port", "\(consolePort)", "--no-send", "--expect", study,
                                        "--overlay", "--out", tmp.appending("console")])
        #expect(console.waitForLine(containing: "listening") != nil)
        let (second, _) = try Self.serve(["--destination", "CONSOLE@127.0.0.1:\(consolePort)", "--state-dir", state])
        let report = try Self.report(of: console)
        #expect(second.waitForLine(containing: "results delivered", timeout: 30) != nil)
        second.signal(SIGTERM)
        #expect(second.waitForExit(timeout: 60) == 0)
        let result = try #require((report["studies"] as? [String: [String: Any]])?[study], "\(report)")
        #expect(result["sr"] as? Bool == true, "\(second.text.suffix(3000))")
        #expect(result["overlay"] as? Bool == true)
        #expect(result["results"] as? Int == 2, "each result exactly once")
        let left = try FileManager.default.contentsOfDirectory(atPath: state + "/outbox").filter { $0.hasSuffix(".dcm") }
        #expect(left.isEmpty, "delivered results leave the outbox: \(left)")
    }

    @Test("slices acknowledged and then lost to a kill -9 before planning are journaled, planned at the next start and delivered once")
    func acknowledgedSurvivesKill() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let session = try await Self.synthesise(tmp, "synth", seed: 61)
        // All but the last slice: no series reaches ImagesInAcquisition, so nothing triggers planning before the kill.
        let partial = tmp.appending("partial")
        try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: true)
        let files = try FileManager.default.contentsOfDirectory(atPath: session + "/localizer").filter { $0.hasSuffix(".dcm") }.sorted()
        for f in files.dropLast() { try FileManager.default.copyItem(atPath: session + "/localizer/" + f, toPath: partial + "/" + f) }
        let consolePort = freePort()
        let state = tmp.appending("state")
        let (first, port) = try Self.serve(["--destination", "CONSOLE@127.0.0.1:\(consolePort)", "--state-dir", state,
                                            "--idle-timeout", "600"])
        let sender = try LiveProcess(PythonPeer.python, [PythonPeer.script("console.py"), "send", partial, "--port", "\(port)",
                                                         "--hold-before-release", "120"])
        let acknowledged = try #require(sender.waitForLine(containing: "acknowledged", timeout: 120), "\(sender.text)")
        #expect(acknowledged.contains("[\(Array(repeating: "0", count: files.count - 1).joined(separator: ", "))]"), "\(acknowledged)")
        let journaled = try FileManager.default.contentsOfDirectory(atPath: state + "/inbox").filter { $0.hasSuffix(".instance") }
        #expect(journaled.count == files.count - 1, "every acknowledged slice is on disk: \(journaled)")
        first.signal(SIGKILL)
        #expect(first.waitForExit() != nil)
        sender.signal(SIGTERM)
        _ = sender.waitForExit(timeout: 30)
        #expect(!first.text.contains("session planned"), "planned before the kill: \(first.text.suffix(2000))")

        let study = try #require(try Self.studyUID(of: session))
        let console = try Self.console(["--ae", "CONSOLE", "--listen-port", "\(consolePort)", "--no-send", "--expect", study,
                                        "--overlay", "--out", tmp.appending("console")])
        #expect(console.waitForLine(containing: "listening") != nil)
        let (second, _) = try Self.serve(["--destination", "CONSOLE@127.0.0.1:\(consolePort)", "--state-dir", state,
                                          "--idle-timeout", "600"])
        #expect(second.waitForLine(containing: "recovered acknowledged instances from the journal", timeout: 60) != nil,
                "\(second.text.suffix(3000))")
        let report = try Self.report(of: console)
        #expect(second.waitForLine(containing: "results delivered", timeout: 60) != nil)
        second.signal(SIGTERM)
        #expect(second.waitForExit(timeout: 60) == 0)
        let result = try #require((report["studies"] as? [String: [String: Any]])?[study], "\(report) \(second.text.suffix(3000))")
        #expect(result["sr"] as? Bool == true)
        #expect(result["results"] as? Int == 2, "SR and overlay, each exactly once")
        let left = try FileManager.default.contentsOfDirectory(atPath: state + "/inbox").filter { $0.hasSuffix(".instance") }
        #expect(left.isEmpty, "planned slices leave the journal: \(left)")
    }

    @Test("with the disk (nearly) full, slices are refused 0xA700 'disk full'; when space returns they are taken and planned, with no restart")
    func fullDiskThenSpace() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let session = try await Self.synthesise(tmp, "synth", seed: 62)
        let consolePort = freePort()
        let state = tmp.appending("state")
        let config = tmp.appending("spineplan.yaml")
        // A floor of 10 TB free: to the daemon this disk is full, exactly as a nearly full one is (statvfs says so).
        func write(minFreeMB: Int) throws {
            try "state_directory: \(state)\ndestination: CONSOLE@127.0.0.1:\(consolePort)\nsessions:\n  min_free_mb: \(minFreeMB)\n"
                .write(toFile: config, atomically: true, encoding: .utf8)
        }
        try write(minFreeMB: 10_000_000)
        let (daemon, port) = try Self.serve(["--config", config])
        let refused = try await PythonPeer.run(["send", session + "/localizer", "--port", "\(port)"]).json()
        let statuses = try #require(refused["statuses"] as? [Int], "\(refused)")
        #expect(!statuses.isEmpty && statuses.allSatisfy { $0 == 0xA700 }, "\(refused)")
        #expect((refused["comments"] as? [String])?.allSatisfy { $0.contains("disk full") } == true, "\(refused)")
        #expect(daemon.waitForLine(containing: "disk full: refusing new slices", timeout: 10) != nil, "\(daemon.text.suffix(2000))")

        let study = try #require(try Self.studyUID(of: session))
        let console = try Self.console(["--ae", "CONSOLE", "--listen-port", "\(consolePort)", "--no-send", "--expect", study,
                                        "--overlay", "--out", tmp.appending("console")])
        #expect(console.waitForLine(containing: "listening") != nil)
        try write(minFreeMB: 8)
        daemon.signal(SIGHUP)
        #expect(daemon.waitForLine(containing: "configuration reloaded", timeout: 30) != nil)
        let taken = try await PythonPeer.run(["send", session + "/localizer", "--port", "\(port)"]).json()
        #expect((taken["statuses"] as? [Int])?.allSatisfy { $0 == 0 } == true, "\(taken)")
        let report = try Self.report(of: console)
        #expect(daemon.waitForLine(containing: "disk space is back", timeout: 10) != nil)
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit(timeout: 60) == 0)
        let result = try #require((report["studies"] as? [String: [String: Any]])?[study], "\(report) \(daemon.text.suffix(3000))")
        #expect(result["results"] as? Int == 2, "SR and overlay, each exactly once")
        let left = try FileManager.default.contentsOfDirectory(atPath: state + "/inbox").filter { $0.hasSuffix(".instance") }
        #expect(left.isEmpty, "\(left)")
    }

    /// The Study Instance UID of a synthetic session, read by pydicom (independent of our DICOM reader).
    static func studyUID(of session: String) throws -> String? {
        let folder = session + "/localizer"
        let file = try #require(FileManager.default.contentsOfDirectory(atPath: folder).sorted().first)
        let script = "import pydicom,sys; print(pydicom.dcmread(sys.argv[1], stop_before_pixels=True).StudyInstanceUID)"
        let process = try LiveProcess(PythonPeer.python, ["-c", script, folder + "/" + file])
        #expect(process.waitForExit() == 0)
        return process.text.split(separator: "\n").last.map(String.init)
    }

    // Measured on the daemon's own process: the test runner's RSS moves with every suite running beside it.
    @Test("200 associations in a row leave the daemon's RSS within 10 MB")
    func associationsDoNotLeak() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let series = tmp.appending("series")
        #expect(try await PythonPeer.run(["make-classic", series, "--count", "3", "--rows", "128", "--cols", "128", "--diagnostic"]).status == 0)
        let (daemon, port) = try Self.serve(["--state-dir", tmp.appending("state")])
        defer { daemon.signal(SIGTERM); _ = daemon.waitForExit(timeout: 60) }
        // Warm up allocator pools and DCMTK's dictionary before the baseline.
        let warm = try await PythonPeer.run(["echo-loop", series, "--count", "20", "--port", "\(port)"]).json()
        #expect(warm["associations"] as? Int == 20 && warm["failures"] as? Int == 0, "\(warm)")
        let before = ProcessMemory.residentBytes(of: daemon.pid)
        let run = try await PythonPeer.run(["echo-loop", series, "--count", "200", "--port", "\(port)"]).json()
        let after = ProcessMemory.residentBytes(of: daemon.pid)
        #expect(run["associations"] as? Int == 200 && run["failures"] as? Int == 0, "\(run) \(daemon.text.suffix(4000))")
        #expect(before > 0 && after > 0, "no VmRSS for pid \(daemon.pid)")
        let growth = Double(after - before) / 1_048_576
        print("daemon rss: \(before / 1024) KiB before, \(after / 1024) KiB after 200 associations (\(String(format: "%+.2f", growth)) MiB)")
        #expect(growth < 10, "the daemon's RSS grew \(growth) MiB over 200 associations")
    }
}
