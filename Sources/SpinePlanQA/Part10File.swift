import SpinePlanDICOM
import SpinePlanService

/// DICOM Part 10 framing around dataset bytes that must stay exactly as received: preamble, `DICM`, a file meta group,
/// then the dataset appended verbatim. Any DICOM tool can open the file, and the dataset's byte range is known.
enum Part10File {
    static let implementationClassUID = "2.25.190355940226474063386420567154563640449"
    static let implementationVersionName = "SPINEPLAN_QA1"

    /// The file meta group fields SpinePlan writes and reads back.
    struct Meta: Equatable {
        var sopClassUID: String
        var sopInstanceUID: String
        var transferSyntaxUID: String
        var sourceAETitle: String = ""
    }

    /// Preamble and meta group; the dataset follows at `result.count`.
    static func header(_ meta: Meta) -> [UInt8] {
        var group: [UInt8] = []
        append(&group, element: 0x0001, vr: "OB", value: [0x00, 0x01])
        append(&group, element: 0x0002, vr: "UI", value: uid(meta.sopClassUID))
        append(&group, element: 0x0003, vr: "UI", value: uid(meta.sopInstanceUID))
        append(&group, element: 0x0010, vr: "UI", value: uid(meta.transferSyntaxUID))
        append(&group, element: 0x0012, vr: "UI", value: uid(implementationClassUID))
        append(&group, element: 0x0013, vr: "SH", value: text(implementationVersionName))
        if !meta.sourceAETitle.isEmpty { append(&group, element: 0x0016, vr: "AE", value: text(meta.sourceAETitle)) }
        var out = [UInt8](repeating: 0, count: 128)
        out += Array("DICM".utf8)
        append(&out, element: 0x0000, vr: "UL", value: le32(UInt32(group.count)))
        out += group
        return out
    }

    /// The whole file: header plus the dataset bytes untouched.
    static func encode(dataset: [UInt8], meta: Meta) -> (file: [UInt8], datasetOffset: Int) {
        var file = header(meta)
        let offset = file.count
        file += dataset
        return (file, offset)
    }

    /// Reads the meta group of a Part 10 file; nil when the bytes are not Part 10.
    static func parse(_ bytes: [UInt8]) -> (meta: Meta, datasetOffset: Int)? {
        guard bytes.count >= 132, bytes[128..<132].elementsEqual("DICM".utf8) else { return nil }
        var i = 132
        var values: [UInt16: String] = [:]
        while i + 8 <= bytes.count {
            let group = u16(bytes, i), element = u16(bytes, i + 2)
            guard group == 0x0002 else { break }
            let vr = String(decoding: bytes[(i + 4)..<(i + 6)], as: UTF8.self)
            let length: Int, start: Int
            if ["OB", "OW", "OF", "SQ", "UT", "UN", "UC", "UR", "OD", "OL", "OV"].contains(vr) {
                guard i + 12 <= bytes.count else { return nil }
                length = Int(u32(bytes, i + 8)); start = i + 12
            } else {
                length = Int(u16(bytes, i + 6)); start = i + 8
            }
            guard length >= 0, start + length <= bytes.count else { return nil }
            if vr == "UI" || vr == "AE" || vr == "SH" {
                values[element] = String(decoding: bytes[start..<(start + length)], as: UTF8.self).trimmingPadding
            }
            i = start + length
        }
        guard let ts = values[0x0010] else { return nil }
        return (Meta(sopClassUID: values[0x0002] ?? "", sopInstanceUID: values[0x0003] ?? "", transferSyntaxUID: ts,
                     sourceAETitle: values[0x0016] ?? ""), i)
    }

    /// Wraps a result object (SR, overlay) that may arrive either as a Part 10 file or as bare dataset bytes.
    /// Bare bytes are assumed Explicit VR Little Endian, which is what `DICOMObject.encoded()` produces.
    static func wrapResult(_ bytes: [UInt8]) -> [UInt8] {
        if parse(bytes) != nil { return bytes }
        let ts = TransferSyntax.explicitVRLittleEndian
        var meta = Meta(sopClassUID: "", sopInstanceUID: "", transferSyntaxUID: ts)
        if let object = try? DICOMObject(datasetBytes: bytes, transferSyntax: ts) {
            meta.sopClassUID = object.root.trimmed(.sopClassUID) ?? ""
            meta.sopInstanceUID = object.root.trimmed(.sopInstanceUID) ?? ""
        }
        return encode(dataset: bytes, meta: meta).file
    }

    private static func append(_ out: inout [UInt8], element: UInt16, vr: String, value: [UInt8]) {
        out += le16(0x0002) + le16(element) + Array(vr.utf8)
        if vr == "OB" {
            out += [0, 0] + le32(UInt32(value.count))
        } else {
            out += le16(UInt16(value.count))
        }
        out += value
    }

    static func uid(_ s: String) -> [UInt8] {
        var b = Array(s.utf8)
        if b.count % 2 == 1 { b.append(0) }
        return b
    }

    static func text(_ s: String) -> [UInt8] {
        var b = Array(s.utf8)
        if b.count % 2 == 1 { b.append(0x20) }
        return b
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
    static func u16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    static func u32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
}

extension String {
    /// Without DICOM's space and NUL padding at either end.
    var trimmingPadding: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\0" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\0" { s.removeLast() }
        return String(s)
    }
}
