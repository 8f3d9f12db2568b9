import SpinePlanGeometry
/// Lumbosacral transitional anatomy of a phantom.
enum TransitionalAnatomy: String, Sendable, Codable {
    case none
    /// Four mobile lumbar vertebrae above the sacrum.
    case fourLumbar = "four_lumbar"
    /// Six lumbar vertebrae (lumbarised S1).
    case sixLumbar = "six_lumbar"
    /// Five lumbar vertebrae, L5 with broad transverse processes fused to the sacral ala and a rudimentary disc.
    case sacralisedL5 = "sacralised_l5"

    var lumbarCount: Int {
        switch self {
        case .fourLumbar: 4
        case .sixLumbar: 6
        case .none, .sacralisedL5: 5
        }
    }
}

/// A Modic endplate change in the vertebra above or below a disc.
struct ModicChange: Sendable {
    var discAbove: SpineLevel
    /// 1 (oedema) or 2 (fatty).
    var type: Int
    /// The inferior endplate of the vertebra above the disc, the superior endplate below it, or both.
    var upper: Bool
    var lower: Bool
    var depth: Double
}

/// Every random choice that shapes one phantom, drawn once from the seed.
struct AnatomyParameters: Sendable {
    var transitional: TransitionalAnatomy
    var age: Int
    var sex: String
    /// Scales vertebral dimensions.
    var skeletalScale: Double
    var bodyHalfWidth: Double
    var anteriorDepth: Double
    var posteriorDepth: Double
    var subcutaneousFat: Double
    var lordosisDegrees: Double
    var sacralSlopeDegrees: Double
    var thoracicKyphosisDegrees: Double
    var sacralCurveDegrees: Double
    var cobbDegrees: Double
    var scoliosisApex: SpineLevel
    var scoliosisSide: Double
    /// Pfirrmann-like grade 0...3 for the disc below each vertebra.
    var degeneration: [SpineLevel: Int]
    /// Height factor per disc (below each vertebra), random normal variation.
    var discHeightJitter: [SpineLevel: Double]
    var slipLevel: SpineLevel?
    var slipMillimetres: Double
    var modic: [ModicChange]
    var metalLevels: [SpineLevel]
    /// Where the conus ends, as a fraction of the way from mid T12 to mid L2.
    var conusFraction: Double
    var poseDegrees: Vector3
    var poseOffset: Vector3
    var weighting: Weighting

    var lumbarCount: Int { transitional.lumbarCount }
    var column: [SpineLevel] { SpineLevel.column(lumbarCount: lumbarCount) }

    static func draw(seed: UInt64, rates: AnatomyRates) -> AnatomyParameters {
        var rng = SplitMix64(seed: seed, purpose: "anatomy")
        let transitional: TransitionalAnatomy
        if rng.chance(rates.transitionalAnatomy) {
            let u = rng.unit()
            transitional = u < 0.4 ? .fourLumbar : (u < 0.75 ? .sixLumbar : .sacralisedL5)
        } else {
            transitional = .none
        }
        let age = rng.integer(20...85)
        let sex = rng.chance(0.5) ? "F" : "M"
        let habitus = rng.normal(mean: 0, sd: 1, within: -2.2...2.2)
        let skeletal = rng.normal(mean: sex == "M" ? 1.04 : 0.96, sd: 0.05, within: 0.85...1.15)
        let halfWidth = min(185, max(125, 155 + 15 * habitus + (sex == "M" ? 5 : -5)))
        let anterior = min(235, max(125, 170 + 22 * habitus))
        let posterior = min(140, max(80, 102 + 12 * habitus))
        let fat = min(45, max(6, 18 + 8 * habitus + (sex == "F" ? 4 : 0)))

        let cobb = rng.chance(rates.scoliosis) ? rng.uniform(5...40) : rng.uniform(0...4)
        let apex: SpineLevel = [.t11, .t12, .l1, .l2, .l3][rng.integer(0...4)]
        let side = rng.sign()

        let column = SpineLevel.column(lumbarCount: transitional.lumbarCount)
        var degeneration: [SpineLevel: Int] = [:]
        var jitter: [SpineLevel: Double] = [:]
        let presacral = column.dropLast()
        for (index, level) in presacral.enumerated() {
            jitter[level] = rng.normal(mean: 1, sd: 0.07, within: 0.85...1.15)
            // Degeneration is commoner with age and toward the lumbosacral junction.
            let caudal = Double(index) / Double(presacral.count - 1)
            let load = Double(age - 20) / 65 * (0.35 + 0.65 * caudal)
            let u = rng.unit()
            degeneration[level] = u < 1 - load * 0.9 ? 0 : (u < 1 - load * 0.45 ? 1 : (u < 1 - load * 0.18 ? 2 : 3))
        }
        if transitional == .sacralisedL5 { degeneration[.l5] = 3 }

        var slipLevel: SpineLevel?
        var slip = 0.0
        let lastLumbar = presacral.last!
        if rng.chance(rates.spondylolisthesis) {
            let lumbar = presacral.filter(\.isLumbar)
            slipLevel = rng.chance(0.6) ? lumbar[lumbar.count - 2] : lastLumbar
            slip = rng.uniform(0.10...0.40) * 35 * skeletal
        }

        var modic: [ModicChange] = []
        for level in presacral where level.isLumbar && (degeneration[level] ?? 0) >= 2 && rng.chance(rates.modic) {
            let which = rng.integer(0...2)
            modic.append(ModicChange(discAbove: level, type: rng.chance(0.45) ? 1 : 2,
                                     upper: which != 1, lower: which != 0, depth: rng.uniform(4...10)))
        }

        var metal: [SpineLevel] = []
        if rng.chance(rates.metalImplant) {
            let lumbar = presacral.filter(\.isLumbar)
            let lower = rng.integer(1...lumbar.count - 1)
            metal = [lumbar[lower - 1], lumbar[lower]]
        }

        let pose = Vector3(rng.normal(mean: 0, sd: 2.5, within: -8...8),
                           rng.normal(mean: 0, sd: 2.5, within: -8...8),
                           rng.normal(mean: 0, sd: 3, within: -10...10))
        let offset = Vector3(rng.normal(mean: 0, sd: 12, within: -35...35),
                             rng.normal(mean: 0, sd: 12, within: -35...35),
                             rng.normal(mean: 0, sd: 20, within: -50...50))
        return AnatomyParameters(
            transitional: transitional, age: age, sex: sex, skeletalScale: skeletal,
            bodyHalfWidth: halfWidth, anteriorDepth: anterior, posteriorDepth: posterior, subcutaneousFat: fat,
            lordosisDegrees: rng.normal(mean: 48, sd: 10, within: 20...75),
            sacralSlopeDegrees: rng.normal(mean: 38, sd: 7, within: 22...55),
            thoracicKyphosisDegrees: rng.uniform(8...25),
            sacralCurveDegrees: rng.uniform(35...65),
            cobbDegrees: cobb, scoliosisApex: apex, scoliosisSide: side,
            degeneration: degeneration, discHeightJitter: jitter,
            slipLevel: slipLevel, slipMillimetres: slip, modic: modic, metalLevels: metal,
            conusFraction: rng.uniform(0...1), poseDegrees: pose, poseOffset: offset,
            weighting: rng.chance(0.75) ? .t2 : .t1)
    }
}
