import SpinePlanGeometry

/// The planned oblique axial stacks for one localizer: the plan JSON of `Docs/architecture.md`.
public struct ScanPlan: Sendable, Codable, Equatable {
    /// One disc-parallel slice stack.
    public struct Plane: Sendable, Codable, Equatable {
        /// The disc's level; nil when the levels could not be named (`abstained`). Written as `L4/L5` in JSON.
        public var level: DiscLevel?
        public var centre: Vector3
        public var rowDirection: Vector3
        public var columnDirection: Vector3
        /// Unit normal, row × column, pointing inferior like the truth's disc normals.
        public var normal: Vector3
        /// Width along the row direction and height along the column direction, in mm.
        public var fieldOfView: SIMD2<Double>
        public var slices: Int
        public var thickness: Double
        /// Centre-to-centre distance between slices (thickness plus gap).
        public var spacing: Double
        /// 0...1; low values predict large error (see Docs/planner.md).
        public var confidence: Double

        public init(level: DiscLevel?, centre: Vector3, rowDirection: Vector3, columnDirection: Vector3, normal: Vector3,
                    fieldOfView: SIMD2<Double>, slices: Int, thickness: Double, spacing: Double, confidence: Double) {
            self.level = level
            self.centre = centre
            self.rowDirection = rowDirection
            self.columnDirection = columnDirection
            self.normal = normal
            self.fieldOfView = fieldOfView
            self.slices = slices
            self.thickness = thickness
            self.spacing = spacing
            self.confidence = confidence
        }

        enum CodingKeys: String, CodingKey {
            case level
            case centre = "centre_lps_mm"
            case rowDirection = "row_direction"
            case columnDirection = "column_direction"
            case normal
            case fieldOfView = "fov_mm"
            case slices
            case thickness = "thickness_mm"
            case spacing = "spacing_mm"
            case confidence
        }
    }

    public var planes: [Plane]
    /// True when the levels could not be named with confidence; `abstentionReason` says why.
    public var abstained: Bool
    public var abstentionReason: String?
    public var warnings: [String]
    /// `name@version` of the model, or `truth` when fed from ground-truth labels.
    public var model: String
    /// Stage timings in milliseconds; `total` is always present.
    public var timings: [String: Double]
    /// Lumbar vertebrae counted from the sacrum (4, 5 or 6); nil when abstained or unknown.
    public var lumbarCount: Int?
    /// True when six or four lumbar vertebrae or a rudimentary lumbosacral disc were found; see `warnings`.
    public var transitionalAnatomy: Bool?
    /// The lowest mean network probability among the structures the level names rest on (sacrum, T12 and below,
    /// planned discs); nil for truth labels or when the levels were not named for another reason.
    public var levelProbability: Double?

    public init(planes: [Plane], abstained: Bool, abstentionReason: String? = nil, warnings: [String], model: String,
                timings: [String: Double] = ["total": 0]) {
        self.planes = planes
        self.abstained = abstained
        self.abstentionReason = abstentionReason
        self.warnings = warnings
        self.model = model
        self.timings = timings
    }

    enum CodingKeys: String, CodingKey {
        case planes, abstained
        case abstentionReason = "abstention_reason"
        case warnings, model
        case timings = "timings_ms"
        case lumbarCount = "lumbar_count"
        case transitionalAnatomy = "transitional_anatomy"
        case levelProbability = "level_probability"
    }

    /// Numbers for unnamed planes, counted up from the sacrum (1 is the most caudal), in the order of `planes`:
    /// without names, the technologist counts from the one landmark every lumbar localizer shows.
    public var unnamedNumbers: [Int] {
        let down = planes.reduce(Vector3.zero) { $0 + $1.normal }
        let order = planes.indices.sorted { planes[$0].centre.dot(down) > planes[$1].centre.dot(down) }
        var numbers = [Int](repeating: 0, count: planes.count)
        for (rank, i) in order.enumerated() { numbers[i] = rank + 1 }
        return numbers
    }
}
