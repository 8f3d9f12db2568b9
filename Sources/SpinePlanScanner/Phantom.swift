import SpinePlanGeometry

/// A straight piece of metal (screw or rod) in LPS, for the signal void and the susceptibility distortion.
struct MetalSegment: Sendable {
    var start: Vector3
    var end: Vector3
    var radius: Double
}

/// A generated anatomy phantom: 1 mm tissue-class and label volumes in LPS, and its ground truth.
struct Phantom: Sendable {
    var seed: UInt64
    var anatomy: AnatomyParameters
    var tissue: Volume<UInt8>
    var labels: Volume<UInt8>
    /// Every disc of the phantom, top to bottom, before any filtering by localizer coverage.
    var discs: [TruthRecord.Disc]
    var vertebrae: [TruthRecord.Vertebra]
    var cobbDegrees: Double
    var metal: [MetalSegment]

    var anatomyTruth: TruthRecord.Anatomy {
        let column = anatomy.column
        let presacral = column.dropLast()
        var slipName: String?
        if let slip = anatomy.slipLevel, let index = column.firstIndex(of: slip) {
            slipName = slip.discName(above: column[index + 1])
        }
        let discName: (SpineLevel) -> String = { level in
            let index = column.firstIndex(of: level)!
            return level.discName(above: column[index + 1])
        }
        return TruthRecord.Anatomy(
            lumbarCount: anatomy.lumbarCount, lstv: anatomy.transitional != .none,
            scoliosisCobbDegrees: (cobbDegrees * 10).rounded() / 10,
            lstvType: anatomy.transitional.rawValue, spondylolisthesis: slipName,
            slipMillimetres: slipName == nil ? nil : (anatomy.slipMillimetres * 10).rounded() / 10,
            modic: anatomy.modic.map { "\(discName($0.discAbove)) type \($0.type)" },
            degeneratedDiscs: presacral.filter { (anatomy.degeneration[$0] ?? 0) >= 2 }.map(discName),
            metalImplant: !metal.isEmpty, source: "phantom")
    }
}
