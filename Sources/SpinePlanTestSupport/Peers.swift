import Foundation

/// Whether a test that needs an independent peer (the Python venv, dciodvfy, a system tool) runs.
///
/// Locally a missing peer skips the test, with its reason printed by `scripts/test.sh`. In CI (`CI` set) the test
/// always runs, so a missing peer is a loud failure where the peer is first used, never a silent pass.
package enum Peers {
    package static var inCI: Bool {
        let value = ProcessInfo.processInfo.environment["CI"]?.lowercased() ?? ""
        return !value.isEmpty && value != "0" && value != "false"
    }

    package static func required(_ present: Bool) -> Bool { present || inCI }
}
