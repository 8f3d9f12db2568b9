import Foundation

/// The JSON file next to the weights: name, version, architecture numbers, input grid and class names.
public struct ModelSidecar: Sendable, Equatable, Codable {
    /// How the network's input grid is built (see `Docs/model-contract.md` §1).
    public struct InputGrid: Sendable, Equatable, Codable {
        public var shapeDHW: [Int]
        public var inPlaneSpacingMillimetres: Double
        public var normalisation: String

        enum CodingKeys: String, CodingKey {
            case shapeDHW = "shape_dhw", inPlaneSpacingMillimetres = "in_plane_spacing_mm", normalisation
        }
    }

    public var name: String
    public var version: String
    public var architecture: String
    public var channels: [Int]
    public var kernels: [[Int]]
    public var down: [[Int]?]
    public var encoderConvolutions: [Int]
    public var decoderConvolutions: [Int]
    public var inputGrid: InputGrid
    public var classes: [String]
    /// Below this mean probability on a structure the level names rest on, plans abstain (see `Planner`).
    /// Chosen for these weights on training sessions; absent in older sidecars, which turns the check off.
    public var minimumLevelProbability: Double?

    enum CodingKeys: String, CodingKey {
        case name, version, architecture, channels, kernels, down, classes
        case minimumLevelProbability = "minimum_level_probability"
        case encoderConvolutions = "enc_convs", decoderConvolutions = "dec_convs", inputGrid = "input_grid"
    }

    /// The version string of randomly initialised weights, which only exercise the plumbing.
    public static let randomVersion = "0.0.0-random"

    /// Reads and decodes a sidecar; the file name goes into every error.
    public static func read(path: String) throws(ModelError) -> ModelSidecar {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ModelError(.missingFile, "model sidecar \(path) does not exist")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ModelError(.missingFile, "model sidecar \(path) cannot be read: \(error.localizedDescription)")
        }
        let sidecar: ModelSidecar
        do {
            sidecar = try JSONDecoder().decode(ModelSidecar.self, from: data)
        } catch {
            throw ModelError(.malformedHeader, "model sidecar \(path) is not valid: \(Self.describe(error))")
        }
        if let p = sidecar.minimumLevelProbability, !(0...1).contains(p) {
            throw ModelError(.malformedHeader, "model sidecar \(path) is not valid: minimum_level_probability must be 0...1, got \(p)")
        }
        return sidecar
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing key \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted(let context): "malformed JSON (\(context.debugDescription))"
        default: "\(error)"
        }
    }
}
