/// One vertebra of the phantom, with its label value in `labels.npy`.
///
/// Label scheme of the phantom label volume:
/// - 0: background and every unlabelled tissue (soft tissue, pelvis, ribs);
/// - 1...12: vertebrae T8, T9, T10, T11, T12, L1, L2, L3, L4, L5, L6, and 12 for the whole sacrum ("S1");
/// - 20 + upper vertebra's label: the disc below that vertebra (T12/L1 = 25, L4/L5 = 29, L5/S1 = 30).
///   With four lumbar vertebrae the lumbosacral disc is "L4/S1" = 29; with six, "L6/S1" = 31;
/// - 40: the dural sac (CSF and cord) inside the spinal canal.
enum SpineLevel: UInt8, CaseIterable, Comparable, Sendable {
    case t8 = 1, t9, t10, t11, t12, l1, l2, l3, l4, l5, l6, sacrum

    static let discLabelBase: UInt8 = 20
    static let duralSacLabel: UInt8 = 40

    var name: String {
        switch self {
        case .t8: "T8"
        case .t9: "T9"
        case .t10: "T10"
        case .t11: "T11"
        case .t12: "T12"
        case .l1: "L1"
        case .l2: "L2"
        case .l3: "L3"
        case .l4: "L4"
        case .l5: "L5"
        case .l6: "L6"
        case .sacrum: "S1"
        }
    }

    var isLumbar: Bool { self >= .l1 && self <= .l6 }
    var isThoracic: Bool { self <= .t12 }

    /// Label of the disc directly below this vertebra.
    var discLabelBelow: UInt8 { Self.discLabelBase + rawValue }

    /// "L4/L5" style name of the disc between this vertebra and `lower`.
    func discName(above lower: SpineLevel) -> String { "\(name)/\(lower.name)" }

    static func < (a: SpineLevel, b: SpineLevel) -> Bool { a.rawValue < b.rawValue }

    /// The presacral column top to bottom for a given number of lumbar vertebrae (4, 5 or 6).
    static func column(lumbarCount: Int) -> [SpineLevel] {
        let lumbar: [SpineLevel] = Array([.l1, .l2, .l3, .l4, .l5, .l6].prefix(lumbarCount))
        return [.t8, .t9, .t10, .t11, .t12] + lumbar + [.sacrum]
    }
}
