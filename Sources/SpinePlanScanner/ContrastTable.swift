/// Which contrast a localizer imitates.
public enum Weighting: String, Sendable, CaseIterable, Codable {
    /// Fluid bright, fat bright (fast spin echo / SSFP-like localizer).
    case t2
    /// Fluid dark, fat bright (spoiled gradient echo localizer).
    case t1
}

/// Tissue signal per tissue class on the 0...4095 stored-value scale.
struct ContrastTable: Sendable {
    let weighting: Weighting
    /// Indexed by `TissueClass.rawValue`; 256 entries so any byte can be looked up unchecked.
    let lookup: [Float]

    init(_ weighting: Weighting) {
        self.weighting = weighting
        var table = [Float](repeating: 0, count: 256)
        for tissue in TissueClass.allCases {
            table[Int(tissue.rawValue)] = Self.signal(tissue, weighting)
        }
        lookup = table
    }

    subscript(tissue: TissueClass) -> Float { lookup[Int(tissue.rawValue)] }

    /// The tissue that SNR is quoted against: paraspinal muscle, present in every localizer.
    var referenceSignal: Float { self[.muscle] }

    // Values are relative signal levels read off typical 1.5 T lumbar localizers, not physics simulation.
    private static func signal(_ tissue: TissueClass, _ weighting: Weighting) -> Float {
        switch (tissue, weighting) {
        case (.air, _), (.bowelGas, _), (.metal, _): 0
        case (.skin, .t2): 600
        case (.skin, .t1): 700
        case (.fat, .t2): 1250
        case (.fat, .t1): 1450
        case (.muscle, .t2): 380
        case (.muscle, .t1): 620
        case (.viscera, .t2): 560
        case (.viscera, .t1): 680
        case (.corticalBone, _): 40
        case (.marrow, .t2): 720
        case (.marrow, .t1): 1050
        case (.nucleus, .t2): 1550
        case (.nucleus, .t1): 560
        case (.degeneratedNucleus, .t2): 640
        case (.degeneratedNucleus, .t1): 520
        case (.annulus, .t2): 300
        case (.annulus, .t1): 480
        case (.csf, .t2): 1900
        case (.csf, .t1): 260
        case (.cord, .t2): 720
        case (.cord, .t1): 660
        case (.modicType1, .t2): 1150
        case (.modicType1, .t1): 430
        case (.modicType2, .t2): 1000
        case (.modicType2, .t1): 1350
        case (.vessel, .t2): 180
        case (.vessel, .t1): 220
        case (.lung, _): 25
        }
    }
}
