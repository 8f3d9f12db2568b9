import SpinePlanGeometry

/// The known answer for one synthetic session, written as `truth.json` (LPS millimetres).
public struct TruthRecord: Codable, Sendable, Equatable {
    /// One intervertebral disc: its centre and a unit normal pointing inferior.
    public struct Disc: Codable, Sendable, Equatable {
        public var level: String
        public var centre: Vector3
        public var normal: Vector3

        public init(level: String, centre: Vector3, normal: Vector3) {
            self.level = level
            self.centre = centre
            self.normal = normal
        }

        enum CodingKeys: String, CodingKey {
            case level
            case centre = "centre_lps_mm"
            case normal = "normal_lps"
        }
    }

    /// One vertebra: the centroid of its body.
    public struct Vertebra: Codable, Sendable, Equatable {
        public var level: String
        public var centre: Vector3

        public init(level: String, centre: Vector3) {
            self.level = level
            self.centre = centre
        }

        enum CodingKeys: String, CodingKey {
            case level
            case centre = "centre_lps_mm"
        }
    }

    /// Whole-spine facts; the optional fields are phantom-only extras beyond the shared schema.
    public struct Anatomy: Codable, Sendable, Equatable {
        public var lumbarCount: Int
        public var lstv: Bool
        public var scoliosisCobbDegrees: Double
        public var lstvType: String?
        public var spondylolisthesis: String?
        public var slipMillimetres: Double?
        public var modic: [String]?
        public var degeneratedDiscs: [String]?
        public var metalImplant: Bool?
        public var source: String?

        public init(lumbarCount: Int, lstv: Bool, scoliosisCobbDegrees: Double, lstvType: String? = nil,
                    spondylolisthesis: String? = nil, slipMillimetres: Double? = nil, modic: [String]? = nil,
                    degeneratedDiscs: [String]? = nil, metalImplant: Bool? = nil, source: String? = nil) {
            self.lumbarCount = lumbarCount
            self.lstv = lstv
            self.scoliosisCobbDegrees = scoliosisCobbDegrees
            self.lstvType = lstvType
            self.spondylolisthesis = spondylolisthesis
            self.slipMillimetres = slipMillimetres
            self.modic = modic
            self.degeneratedDiscs = degeneratedDiscs
            self.metalImplant = metalImplant
            self.source = source
        }

        enum CodingKeys: String, CodingKey {
            case lumbarCount = "lumbar_count"
            case lstv
            case scoliosisCobbDegrees = "scoliosis_cobb_deg"
            case lstvType = "lstv_type"
            case spondylolisthesis
            case slipMillimetres = "slip_mm"
            case modic
            case degeneratedDiscs = "degenerated_discs"
            case metalImplant = "metal_implant"
            case source
        }
    }

    public var discs: [Disc]
    public var vertebrae: [Vertebra]
    public var anatomy: Anatomy

    public init(discs: [Disc], vertebrae: [Vertebra], anatomy: Anatomy) {
        self.discs = discs
        self.vertebrae = vertebrae
        self.anatomy = anatomy
    }
}
