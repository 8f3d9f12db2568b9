/// A DICOM attribute tag.
public struct Tag: Sendable, Hashable, CustomStringConvertible {
    public let group: UInt16
    public let element: UInt16

    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    public var description: String {
        func hex(_ v: UInt16) -> String {
            let digits = String(v, radix: 16, uppercase: true)
            return String(repeating: "0", count: 4 - digits.count) + digits
        }
        return "(\(hex(group)),\(hex(element)))"
    }
}
