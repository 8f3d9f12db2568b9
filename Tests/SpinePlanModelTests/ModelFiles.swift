import Foundation
import Logging
import SpinePlanModel
import SpinePlanTestSupport

/// Where the tests find the shipped weights and the parity fixtures (overridable for trying other weights).
enum ModelFiles {
    static let root = PythonPeer.packageRoot

    /// `SPINEPLAN_WEIGHTS` or `Sources/SpinePlanModel/Weights/spineplan-vnet.safetensors`.
    static var weights: String {
        if let path = ProcessInfo.processInfo.environment["SPINEPLAN_WEIGHTS"], !path.isEmpty { return path }
        return root.appendingPathComponent("Sources/SpinePlanModel/Weights/spineplan-vnet.safetensors").path
    }

    static var haveWeights: Bool { FileManager.default.fileExists(atPath: weights) }

    /// `SPINEPLAN_FIXTURES` or `Tests/SpinePlanModelTests/Fixtures`.
    static var fixtures: URL {
        if let path = ProcessInfo.processInfo.environment["SPINEPLAN_FIXTURES"], !path.isEmpty { return URL(fileURLWithPath: path) }
        return root.appendingPathComponent("Tests/SpinePlanModelTests/Fixtures")
    }

    /// The sidecar's version, or nil when the weights are absent.
    static var version: String? { try? ModelSidecar.read(path: ModelWeights.sidecarPath(for: weights)).version }

    /// True once trained weights (not the random placeholder) are in place.
    static var trained: Bool { version.map { $0 != ModelSidecar.randomVersion } ?? false }

    static let logger = Logger(label: "spineplan.model.tests")
}
