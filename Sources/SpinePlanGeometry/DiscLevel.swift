/// An intervertebral disc SpinePlan plans, named by the vertebrae around it: T12/L1 to L5/S1, and the lumbosacral
/// discs of transitional spines (L5/L6 and L6/S1 with six lumbar vertebrae, L4/S1 with four).
///
/// One type for the configuration, the planner, the SR's finding-site codes and the overlay, so that a level one
/// of them accepts is a level all of them handle. It lives here, the module every other depends on, because the SR
/// writer (DICOM) and the planner do not depend on each other. Discs above T12/L1 are not planned: the localizer's
/// upper edge varies and the SR has no standard code for them.
public enum DiscLevel: String, CaseIterable, Sendable, Codable, Comparable, CustomStringConvertible {
    case t12L1 = "T12/L1"
    case l1L2 = "L1/L2"
    case l2L3 = "L2/L3"
    case l3L4 = "L3/L4"
    case l4L5 = "L4/L5"
    case l5S1 = "L5/S1"
    case l5L6 = "L5/L6"
    case l6S1 = "L6/S1"
    case l4S1 = "L4/S1"

    /// `L4/L5` style.
    public var name: String { rawValue }
    public var description: String { rawValue }

    /// The level with this `L4/L5` style name; nil for a disc SpinePlan does not plan (T11/T12) or no disc at all.
    public init?(name: String) { self.init(rawValue: name) }

    /// The default protocol: the five lumbar discs of a spine with five lumbar vertebrae, top to bottom.
    public static let lumbar: [DiscLevel] = [.l1L2, .l2L3, .l3L4, .l4L5, .l5S1]

    /// Only a spine with four or six lumbar vertebrae has it.
    public var isTransitional: Bool { self == .l5L6 || self == .l6S1 || self == .l4S1 }

    /// Every name, for messages that say what is accepted.
    public static let names = allCases.map(\.rawValue).joined(separator: ", ")

    /// Top to bottom: by the upper vertebra, then the lower (L4/L5 before L4/S1, L5/L6 before L6/S1).
    public static func < (a: DiscLevel, b: DiscLevel) -> Bool { a.rank < b.rank }

    private var rank: (Int, Int) {
        let order = ["T12", "L1", "L2", "L3", "L4", "L5", "L6", "S1"]
        let parts = rawValue.split(separator: "/").map(String.init)
        return (order.firstIndex(of: parts[0]) ?? 0, order.firstIndex(of: parts[1]) ?? 0)
    }
}
