/// How often the phantom generator draws each anatomical variant or finding (probabilities per session).
public struct AnatomyRates: Sendable, Equatable {
    /// Lumbosacral transitional anatomy: four or six lumbar vertebrae, or a sacralised L5.
    public var transitionalAnatomy: Double
    /// A scoliosis above 5° Cobb (otherwise 0–5°).
    public var scoliosis: Double
    /// Anterolisthesis at the lowest or second-lowest lumbar disc.
    public var spondylolisthesis: Double
    /// Modic endplate change next to a degenerated disc.
    public var modic: Double
    /// Pedicle screws and rods, with their signal void and distortion.
    public var metalImplant: Double

    public init(transitionalAnatomy: Double = 0.10, scoliosis: Double = 0.30, spondylolisthesis: Double = 0.08,
                modic: Double = 0.30, metalImplant: Double = 0.03) {
        self.transitionalAnatomy = transitionalAnatomy
        self.scoliosis = scoliosis
        self.spondylolisthesis = spondylolisthesis
        self.modic = modic
        self.metalImplant = metalImplant
    }

    /// True when every rate is a probability.
    var isValid: Bool {
        [transitionalAnatomy, scoliosis, spondylolisthesis, modic, metalImplant].allSatisfy { (0...1).contains($0) }
    }
}
