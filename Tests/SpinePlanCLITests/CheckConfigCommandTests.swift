import Foundation
import SpinePlanTestSupport
import Testing

/// Issue 16 point 7: `check-config` refuses what `serve` cannot start with, naming the key.
@Suite struct CheckConfigCommandTests {
    @Test("check-config exits 2 and names each key a serve could not start with")
    func refusesWhatServeCannotStart() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let file = tmp.appending("bad.yaml")
        try """
        network:
          bind: not-an-ip
          allowed_peers: [console.example.org]
          port: 70000
        model:
          path: /nonexistent/model.safetensors
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let out = try await Subprocess.run(LiveProcess.spineplan, ["check-config", file])
        #expect(out.status == 2)
        for key in ["line 2: network.bind", "line 3: network.allowed_peers[0]", "line 4: network.port"] {
            #expect(out.stderr.contains(key), "\(key) missing from: \(out.stderr)")
        }
        // The machine is checked only once the file itself reads well.
        try "model:\n  path: /nonexistent/model.safetensors\nstate_directory: \(tmp.path)/state\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let host = try await Subprocess.run(LiveProcess.spineplan, ["check-config", file])
        #expect(host.status == 2)
        #expect(host.stderr.contains("line 2: model.path: /nonexistent/model.safetensors does not exist"), "\(host.stderr)")
    }

    @Test("a file check-config passes names the state directory it checked")
    func passes() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let file = tmp.appending("good.yaml")
        try "state_directory: \(tmp.path)/state\n".write(toFile: file, atomically: true, encoding: .utf8)
        let out = try await Subprocess.run(LiveProcess.spineplan, ["check-config", file])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("state \(tmp.path)/state"))
    }

    @Test("check-config refuses a state directory the service's user cannot write: as nobody when run as root, else as this user")
    func unwritableForServiceUser() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        chmod(tmp.path, 0o755)
        let state = tmp.appending("state")
        let root = getuid() == 0
        // Root writes anywhere, so as root the directory is made unwritable for nobody; otherwise for this user.
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: root ? 0o700 : 0o500])
        defer { chmod(state, 0o700) }
        let file = tmp.appending("config.yaml")
        try "state_directory: \(state)\n".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        let refused: PythonPeer.Output
        if root {
            let asRoot = try await Subprocess.run(LiveProcess.spineplan, ["check-config", file])
            #expect(asRoot.status == 0, "\(asRoot.stderr)")
            refused = try await Subprocess.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                                    LiveProcess.spineplan, "check-config", file])
        } else {
            refused = try await Subprocess.run(LiveProcess.spineplan, ["check-config", file])
        }
        #expect(refused.status == 2, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("line 1: state_directory: \(state) is not writable by this user"), "\(refused.stderr)")
    }
}
