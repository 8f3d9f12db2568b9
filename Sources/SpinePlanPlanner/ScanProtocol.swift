import SpinePlanGeometry

/// How the planned oblique axial stacks are acquired: which discs, and the stack geometry of each.
///
/// The daemon's configuration embeds this value; every field has a default so a partial config decodes.
public struct ScanProtocol: Sendable, Codable, Equatable {
    /// Discs to plan, top to bottom.
    public var discs: [DiscLevel]
    /// Also plan transitional lumbosacral discs (`L5/L6`, `L6/S1`, `L4/S1`) when the spine has them.
    public var includeTransitionalDiscs: Bool
    /// Width (along the row direction) and height (along the column direction) in mm.
    public var fieldOfView: SIMD2<Double>
    /// Slices per stack before clamping to the space between the neighbouring discs.
    public var slices: Int
    public var thickness: Double
    /// Gap between slices; spacing = thickness + gap.
    public var gap: Double

    public init(discs: [DiscLevel] = DiscLevel.lumbar, includeTransitionalDiscs: Bool = true,
                fieldOfView: SIMD2<Double> = SIMD2(200, 200), slices: Int = 5, thickness: Double = 4, gap: Double = 0.4) {
        self.discs = discs
        self.includeTransitionalDiscs = includeTransitionalDiscs
        self.fieldOfView = fieldOfView
        self.slices = slices
        self.thickness = thickness
        self.gap = gap
    }

    public var spacing: Double { thickness + gap }

    /// Problems that make the protocol unusable, as messages; empty when it is valid.
    public var problems: [String] {
        var out: [String] = []
        if !(fieldOfView.x > 0 && fieldOfView.y > 0 && fieldOfView.x.isFinite && fieldOfView.y.isFinite) {
            out.append("field of view must be positive, got \(fieldOfView.x)×\(fieldOfView.y) mm")
        }
        if !(1...200).contains(slices) { out.append("slices must be 1...200, got \(slices)") }
        if !(thickness > 0 && thickness.isFinite) { out.append("slice thickness must be positive, got \(thickness)") }
        if !(gap >= 0 && gap.isFinite) { out.append("slice gap must be 0 or more, got \(gap)") }
        return out
    }

    enum CodingKeys: String, CodingKey {
        case discs
        case includeTransitionalDiscs = "include_transitional_discs"
        case fieldOfView = "fov_mm"
        case slices
        case thickness = "thickness_mm"
        case gap = "gap_mm"
    }

    public init(from decoder: any Decoder) throws {
        let defaults = ScanProtocol()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        discs = try c.decodeIfPresent([DiscLevel].self, forKey: .discs) ?? defaults.discs
        includeTransitionalDiscs = try c.decodeIfPresent(Bool.self, forKey: .includeTransitionalDiscs)
            ?? defaults.includeTransitionalDiscs
        fieldOfView = try c.decodeIfPresent(SIMD2<Double>.self, forKey: .fieldOfView) ?? defaults.fieldOfView
        slices = try c.decodeIfPresent(Int.self, forKey: .slices) ?? defaults.slices
        thickness = try c.decodeIfPresent(Double.self, forKey: .thickness) ?? defaults.thickness
        gap = try c.decodeIfPresent(Double.self, forKey: .gap) ?? defaults.gap
    }
}
