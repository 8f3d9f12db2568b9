import Foundation
import Testing
import SpinePlanService

@Suite struct ConfigurationFileTests {
    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    @Test("the shipped example parses and matches the embedded defaults apart from its peer")
    func exampleMatchesDefaults() throws {
        let environment = ["STATE_DIRECTORY": "/var/lib/spineplan"]
        let example = try ConfigurationFile.load(path: Self.packageRoot + "/config/spineplan.yaml", environment: environment)
        var defaults = ServiceConfiguration(environment: environment)
        defaults.peers = example.peers
        #expect(example == defaults)
        #expect(example.peers.map(\.description) == ["CONSOLE@127.0.0.1:11113"])
        #expect(example.statePath(example.outbox.directory) == "/var/lib/spineplan/outbox")
    }

    @Test("every error is reported with its key and line, in file order")
    func namesEveryError() {
        let text = """
        network:
          port: 99999
          ae_titel: X
        peers:
          - ae_title: CONSOLE
            host: 10.0.0.2
        model:
          precision: fp8
        outbox:
          retry_initial_s: abc
        protocol:
          discs: [L4/L5, L9/L10]
        """
        #expect {
            _ = try ConfigurationFile.parse(text)
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            let found = error.issues.map { "\($0.line ?? 0) \($0.key)" }
            return found == ["2 network.port", "3 network.ae_titel", "5 peers[0].port", "8 model.precision",
                             "10 outbox.retry_initial_s", "12 protocol.discs[1]"]
        }
    }

    @Test("YAML syntax errors carry their line")
    func syntaxError() {
        #expect {
            _ = try ConfigurationFile.parse("network:\n  port: 1\n bad: [\n")
        } throws: { error in
            (error as? ConfigurationError)?.issues.first?.line != nil
        }
    }

    @Test("a result goes to the destination when set, else to the sender's registered peer")
    func returnPeer() throws {
        var config = try ConfigurationFile.parse("peers:\n  - {ae_title: CT1, host: 10.0.0.1, port: 104}\n")
        #expect(config.returnPeer(forCallingAETitle: "CT1")?.description == "CT1@10.0.0.1:104")
        #expect(config.returnPeer(forCallingAETitle: "OTHER") == nil)
        config = try ConfigurationFile.parse("destination: PACS@10.0.0.9:11112\npeers: []\n")
        #expect(config.returnPeer(forCallingAETitle: "CT1")?.description == "PACS@10.0.0.9:11112")
    }
}
