import SpinePlanService
/// A dataset in Explicit VR Little Endian as a tree of elements, for edits DICOMItem cannot make:
/// walking every element (private ones included), removing elements, and rewriting values inside nested sequences.
struct ExplicitVRDataset: Equatable {
    /// One data element; sequences hold items, which are datasets themselves.
    struct Element: Equatable {
        var group: UInt16
        var element: UInt16
        var vr: String
        var value: [UInt8]
        var items: [ExplicitVRDataset]

        var tag: UInt32 { UInt32(group) << 16 | UInt32(element) }
        var isSequence: Bool { vr == "SQ" }

        init(group: UInt16, element: UInt16, vr: String, value: [UInt8] = [], items: [ExplicitVRDataset] = []) {
            self.group = group
            self.element = element
            self.vr = vr
            self.value = value
            self.items = items
        }

        /// The value as text without padding (for string VRs).
        var text: String { String(decoding: value, as: UTF8.self).trimmingPadding }

        /// Sets a string value with the padding its VR needs.
        mutating func setText(_ s: String) {
            var bytes = Array(s.utf8)
            if bytes.count % 2 == 1 { bytes.append(vr == "UI" ? 0 : 0x20) }
            value = bytes
        }
    }

    var elements: [Element]

    init(elements: [Element]) { self.elements = elements }

    /// VRs whose length field is 32-bit after two reserved bytes.
    static let longVRs: Set<String> = ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]

    /// Parses Explicit VR Little Endian dataset bytes (no meta header).
    init(parsing bytes: [UInt8]) throws(RecordingError) {
        var i = 0
        self = try Self.parse(bytes, &i, end: bytes.count, untilItemDelimiter: false)
    }

    private static func parse(_ b: [UInt8], _ i: inout Int, end: Int, untilItemDelimiter: Bool) throws(RecordingError) -> ExplicitVRDataset {
        var elements: [Element] = []
        while i < end {
            guard i + 8 <= b.count else { throw malformed(i, "element header runs past the end") }
            let group = Part10File.u16(b, i), element = Part10File.u16(b, i + 2)
            if group == 0xFFFE {
                // Item delimiter ends an undefined-length item.
                i += 8
                if element == 0xE00D && untilItemDelimiter { return ExplicitVRDataset(elements: elements) }
                throw malformed(i - 8, "unexpected item tag (FFFE,\(String(element, radix: 16)))")
            }
            let vr = String(decoding: b[(i + 2 + 2)..<(i + 6)], as: UTF8.self)
            guard vr.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else { throw malformed(i, "not Explicit VR (VR bytes '\(vr)')") }
            var length: UInt32
            if longVRs.contains(vr) {
                guard i + 12 <= b.count else { throw malformed(i, "long header runs past the end") }
                length = Part10File.u32(b, i + 8)
                i += 12
            } else {
                length = UInt32(Part10File.u16(b, i + 6))
                i += 8
            }
            if vr == "SQ" {
                var items: [ExplicitVRDataset] = []
                let sequenceEnd = length == 0xFFFF_FFFF ? b.count : i + Int(length)
                guard sequenceEnd <= b.count else { throw malformed(i, "sequence runs past the end") }
                while i < sequenceEnd {
                    guard i + 8 <= b.count, Part10File.u16(b, i) == 0xFFFE else { throw malformed(i, "expected an item") }
                    let itemTag = Part10File.u16(b, i + 2), itemLength = Part10File.u32(b, i + 4)
                    i += 8
                    if itemTag == 0xE0DD { break }
                    guard itemTag == 0xE000 else { throw malformed(i - 8, "expected an item tag") }
                    if itemLength == 0xFFFF_FFFF {
                        items.append(try parse(b, &i, end: b.count, untilItemDelimiter: true))
                    } else {
                        let itemEnd = i + Int(itemLength)
                        guard itemEnd <= b.count else { throw malformed(i, "item runs past the end") }
                        items.append(try parse(b, &i, end: itemEnd, untilItemDelimiter: false))
                        i = itemEnd
                    }
                }
                elements.append(Element(group: group, element: element, vr: vr, items: items))
            } else {
                guard length != 0xFFFF_FFFF else { throw malformed(i, "undefined length outside a sequence (encapsulated pixel data is not supported)") }
                guard i + Int(length) <= b.count else { throw malformed(i, "value runs past the end") }
                elements.append(Element(group: group, element: element, vr: vr, value: Array(b[i..<(i + Int(length))])))
                i += Int(length)
            }
        }
        if untilItemDelimiter { throw malformed(i, "item without delimiter") }
        return ExplicitVRDataset(elements: elements)
    }

    private static func malformed(_ offset: Int, _ what: String) -> RecordingError {
        RecordingError(.corrupt, "dataset byte \(offset): \(what)")
    }

    /// Encodes with defined lengths everywhere.
    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        for e in elements {
            let value: [UInt8]
            if e.isSequence {
                var seq: [UInt8] = []
                for item in e.items {
                    let body = item.encoded()
                    seq += Part10File.le16(0xFFFE) + Part10File.le16(0xE000) + Part10File.le32(UInt32(body.count)) + body
                }
                value = seq
            } else {
                value = e.value
            }
            out += Part10File.le16(e.group) + Part10File.le16(e.element) + Array(e.vr.utf8)
            if Self.longVRs.contains(e.vr) {
                out += [0, 0] + Part10File.le32(UInt32(value.count))
            } else {
                out += Part10File.le16(UInt16(value.count))
            }
            out += value
        }
        return out
    }

    /// The first top-level element with this tag.
    func first(_ group: UInt16, _ element: UInt16) -> Element? {
        elements.first { $0.group == group && $0.element == element }
    }
}
