import Foundation
import Testing
import SpinePlanTestSupport
import SpinePlanService
import SpinePlanGeometry
import SpinePlanDICOM

/// Issue 16 point 7: a file `check-config` passes must be one `serve` can start with.
@Suite struct ConfigurationCheckTests {
    func issues(_ text: String, checkingHost: Bool = false, environment: [String: String] = [:]) -> [String] {
        do {
            _ = try ConfigurationFile.parse(text, environment: environment, checkingHost: checkingHost)
            return []
        } catch {
            return error.issues.map { "\($0.line ?? 0) \($0.key): \($0.message)" }
        }
    }

    @Test("a bind address the listener cannot bind is refused with its key and line", arguments: [
        "not-an-ip", "localhost", "::1", "10.0.0", "256.1.1.1", "127.0.0.1 ",
    ])
    func badBind(_ bind: String) {
        let found = issues("network:\n  bind: '\(bind)'\n")
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("2 network.bind: '\(bind)' is not an IPv4 address") == true, "\(found)")
    }

    @Test("0.0.0.0 and a host address bind")
    func goodBind() throws {
        #expect(issues("network:\n  bind: 0.0.0.0\n").isEmpty)
        #expect(try ConfigurationFile.parse("network:\n  bind: 10.1.2.3\n").network.bind == "10.1.2.3")
    }

    @Test("allowed_peers entries that are no IP address are refused one by one; mapped and upper-case forms are written as the listener names peers")
    func allowedPeers() throws {
        let found = issues("""
        network:
          allowed_peers:
            - 10.0.0.5
            - console.local
            - 10.0.0.0/24
            - ''
        """)
        #expect(found.map { $0.prefix(while: { $0 != ":" }) } == ["4 network.allowed_peers[1]", "5 network.allowed_peers[2]",
                                                                   "6 network.allowed_peers[3]"], "\(found)")
        #expect(found[1].contains("ranges are not supported"))
        let c = try ConfigurationFile.parse("network:\n  allowed_peers: ['::ffff:10.0.0.7', 'FE80::0:1', 192.168.1.20]\n")
        #expect(c.network.allowedPeers == ["10.0.0.7", "fe80::1", "192.168.1.20"])
    }

    @Test("ports outside their range are refused wherever they appear")
    func ports() {
        let found = issues("""
        network:
          port: 65536
        peers:
          - {ae_title: CT1, host: 10.0.0.1, port: 0}
        destination: PACS@10.0.0.9:70000
        """)
        #expect(found.map { $0.prefix(while: { $0 != ":" }) } == ["2 network.port", "4 peers[0].port", "5 destination"], "\(found)")
    }

    @Test("the host check: a missing model, a missing sidecar, a state directory that cannot be created")
    func hostProblems() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let weights = tmp.appending("m.safetensors")
        let blocker = tmp.appending("a-file")
        try Data("x".utf8).write(to: URL(fileURLWithPath: blocker))
        // Parses cleanly; only the machine is wrong.
        let text = "model:\n  path: \(weights)\nstate_directory: \(blocker)/state\n"
        #expect(issues(text).isEmpty)
        var found = issues(text, checkingHost: true)
        #expect(found.count == 2, "\(found)")
        #expect(found.first == "2 model.path: \(weights) does not exist")
        #expect(found.last == "3 state_directory: \(blocker)/state cannot be created: \(blocker) is not a directory")
        try Data("w".utf8).write(to: URL(fileURLWithPath: weights))
        found = issues(text, checkingHost: true)
        #expect(found.first == "2 model.path: the model's sidecar \(tmp.appending("m.json")) does not exist", "\(found)")
        try Data("{}".utf8).write(to: URL(fileURLWithPath: tmp.appending("m.json")))
        // A state directory that does not exist yet is fine when it can be created, as serve creates it.
        let good = "model:\n  path: \(weights)\nstate_directory: \(tmp.appending("new/state"))\nrecording:\n  enabled: true\n"
        #expect(issues(good, checkingHost: true).isEmpty)
        // An absolute outbox or recording directory is checked on its own.
        found = issues(good + "outbox:\n  directory: \(blocker)/outbox\n", checkingHost: true)
        #expect(found == ["7 outbox.directory: \(blocker)/outbox cannot be created: \(blocker) is not a directory"])
    }

    @Test("network.tls: certificate and key required, fingerprints checked, files checked on the host")
    func tlsSettings() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let fingerprint = String(repeating: "AB:", count: 31) + "AB"
        let text = """
        network:
          tls:
            certificate: \(tmp.appending("server.crt"))
            private_key: \(tmp.appending("server.key"))
            allowed_client_sha256: ["\(fingerprint)", "12:34"]
        """
        #expect(issues(text) == ["5 network.tls.allowed_client_sha256[1]: '12:34' is not a SHA-256 fingerprint (64 hex digits, colons allowed)"])
        #expect(issues("network:\n  tls:\n    certificate: /x.crt\n") == ["3 network.tls.private_key: missing"])
        let good = """
        network:
          tls:
            certificate: \(tmp.appending("server.crt"))
            private_key: \(tmp.appending("server.key"))
            client_ca: \(tmp.appending("ca.crt"))
        state_directory: \(tmp.appending("state"))
        """
        let config = try ConfigurationFile.parse(good, environment: [:])
        #expect(config.storageSCP.tls?.trustedCAFile == tmp.appending("ca.crt"))
        let found = issues(good, checkingHost: true).filter { $0.contains("network.tls") }
        #expect(found == ["3 network.tls.certificate: \(tmp.appending("server.crt")) does not exist",
                          "4 network.tls.private_key: \(tmp.appending("server.key")) does not exist",
                          "5 network.tls.client_ca: \(tmp.appending("ca.crt")) does not exist"], "\(found)")
    }

    @Test("protocol.discs takes every level the planner can plan, transitional ones included, and refuses the rest by name")
    func discLevels() throws {
        let every = DiscLevel.allCases.map(\.name).joined(separator: ", ")
        let config = try ConfigurationFile.parse("protocol:\n  discs: [\(every)]\n", environment: [:])
        #expect(config.scanProtocol.discs == DiscLevel.allCases)
        #expect(issues("protocol:\n  discs: [L4/S1, T11/T12, L4/L6]\n") == [
            "2 protocol.discs[1]: 'T11/T12' is not a disc SpinePlan plans (one of \(DiscLevel.names))",
            "2 protocol.discs[2]: 'L4/L6' is not a disc SpinePlan plans (one of \(DiscLevel.names))"])
        // Every level the configuration takes has a finding-site code in the SR, and reads back from it.
        for level in DiscLevel.allCases {
            #expect(StructuredReportWriter.level(ofFindingSite: StructuredReportWriter.discCode(level).code) == level)
        }
    }
}
