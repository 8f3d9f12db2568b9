import Crypto
import SpinePlanService
/// The DICOM PS3.15 Basic Application Level Confidentiality Profile, applied to every dataset of one recording with one
/// UID map, so references between the localizer, the SR and the overlay still resolve after export.
///
/// Rules, in order: private attributes are removed; the profile's listed attributes are removed (X) or emptied (Z);
/// every PN value is emptied and every DA, DT and TM value becomes a dummy (1900-01-01, 00:00; no longitudinal-date
/// option); every UID outside the DICOM root
/// `1.2.840.10008.` is replaced by a `2.25.` UID derived from a per-export random salt; and Patient Identity Removed,
/// De-identification Method and its code sequence (113100, DCM) are added.
final class Deidentifier {
    private var uidMap: [String: String] = [:]
    private let salt: [UInt8]

    init(salt: [UInt8]? = nil) {
        var g = SystemRandomNumberGenerator()
        self.salt = salt ?? (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    /// Attributes the profile removes (X, or X/Z where SpinePlan picks removal), by tag.
    static let removed: Set<UInt32> = [
        0x0008_0080, 0x0008_0081, 0x0008_0082, 0x0008_0092, 0x0008_0094, 0x0008_0096, 0x0008_1010, 0x0008_1030, 0x0008_103E,
        0x0008_1040, 0x0008_1048, 0x0008_1049, 0x0008_1050, 0x0008_1052, 0x0008_1060, 0x0008_1062, 0x0008_1070, 0x0008_1072,
        0x0008_1080, 0x0008_1084, 0x0008_1110, 0x0008_1120, 0x0008_2111, 0x0008_4000,
        0x0010_0021, 0x0010_0032, 0x0010_0050, 0x0010_1000, 0x0010_1001, 0x0010_1002, 0x0010_1005, 0x0010_1010, 0x0010_1020,
        0x0010_1030, 0x0010_1040, 0x0010_1060, 0x0010_1080, 0x0010_1081, 0x0010_1090, 0x0010_2150, 0x0010_2152, 0x0010_2154,
        0x0010_2160, 0x0010_2180, 0x0010_21A0, 0x0010_21B0, 0x0010_21F0, 0x0010_4000,
        0x0018_1000, 0x0018_1004, 0x0018_1005, 0x0018_1007, 0x0018_1008, 0x0018_1400, 0x0018_4000,
        0x0020_4000, 0x0020_9158,
        0x0032_0012, 0x0032_1020, 0x0032_1021, 0x0032_1030, 0x0032_1032, 0x0032_1033, 0x0032_1060, 0x0032_1070, 0x0032_4000,
        0x0038_0010, 0x0038_0011, 0x0038_0300, 0x0038_0400, 0x0038_0500, 0x0038_4000,
        0x0040_0001, 0x0040_0002, 0x0040_0006, 0x0040_0007, 0x0040_0241, 0x0040_0242, 0x0040_0243, 0x0040_0244, 0x0040_0245,
        0x0040_0253, 0x0040_0254, 0x0040_0275, 0x0040_0280, 0x0040_1001, 0x0040_1004, 0x0040_1005, 0x0040_1010, 0x0040_1011,
        0x0040_1102, 0x0040_1103, 0x0040_1400, 0x0040_2016, 0x0040_2017, 0x0040_2400, 0x0040_3001, 0x0040_4036, 0x0040_A027,
        0x0040_A073, 0x0040_A078, 0x0040_A07A, 0x0040_A07C, 0x0040_A088,
        0x0070_0086, 0x0088_0140, 0x0400_0561, 0x2030_0020, 0x4000_0010, 0x4000_4000, 0x4008_0114, 0xFFFA_FFFA,
    ]

    /// Attributes the profile keeps present but empties (Z, or D where an empty value is valid).
    static let emptied: Set<UInt32> = [
        0x0008_0050, 0x0008_1111, 0x0008_0090, 0x0010_0010, 0x0010_0020, 0x0010_0030, 0x0010_0040, 0x0018_1030, 0x0020_0010,
        0x0040_A123, 0x0070_0084,
    ]

    static let dicomRoot = "1.2.840.10008."

    /// What every date and time becomes (no longitudinal-date option).
    static let dummyDates: [String: String] = ["DA": "19000101", "TM": "000000", "DT": "19000101000000"]

    /// De-identifies one dataset (Explicit VR Little Endian bytes) and returns the new bytes.
    func apply(_ bytes: [UInt8]) throws(RecordingError) -> [UInt8] {
        var dataset = try ExplicitVRDataset(parsing: bytes)
        clean(&dataset)
        var out = dataset.elements.filter { !($0.group == 0x0012 && [0x0062, 0x0063, 0x0064].contains($0.element)) }
        var removed = ExplicitVRDataset.Element(group: 0x0012, element: 0x0062, vr: "CS")
        removed.setText("YES")
        var method = ExplicitVRDataset.Element(group: 0x0012, element: 0x0063, vr: "LO")
        method.setText("PS3.15 Basic Profile (spineplan recording export)")
        var code = ExplicitVRDataset(elements: [])
        for (element, vr, text) in [(UInt16(0x0100), "SH", "113100"), (0x0102, "SH", "DCM"), (0x0104, "LO", "Basic Application Confidentiality Profile")] {
            var e = ExplicitVRDataset.Element(group: 0x0008, element: element, vr: vr)
            e.setText(text)
            code.elements.append(e)
        }
        let codes = ExplicitVRDataset.Element(group: 0x0012, element: 0x0064, vr: "SQ", items: [code])
        out += [removed, method, codes]
        out.sort { $0.tag < $1.tag }
        dataset.elements = out
        return dataset.encoded()
    }

    /// The replacement for a UID; the same input always maps to the same output within this export.
    func remap(_ uid: String) -> String {
        if uid.isEmpty || uid.hasPrefix(Self.dicomRoot) { return uid }
        if let known = uidMap[uid] { return known }
        let digest = { () -> [UInt8] in
            var h = SHA256()
            h.update(data: salt)
            h.update(data: Array(uid.utf8))
            return Array(h.finalize())
        }()
        var high: UInt64 = 0, low: UInt64 = 0
        for i in 0..<8 { high = high << 8 | UInt64(digest[i]); low = low << 8 | UInt64(digest[8 + i]) }
        let new = "2.25.\(UInt128(high) << 64 | UInt128(low))"
        uidMap[uid] = new
        return new
    }

    private func clean(_ dataset: inout ExplicitVRDataset) {
        var kept: [ExplicitVRDataset.Element] = []
        for var e in dataset.elements {
            // Group 0000 (command) and 0002 (file meta) never belong in a stored dataset.
            if e.group % 2 == 1 || e.group == 0x0000 || e.group == 0x0002 || Self.removed.contains(e.tag) { continue }
            if e.group == 0x0012 && [0x0062, 0x0063, 0x0064].contains(e.element) { continue }
            if Self.emptied.contains(e.tag) || e.vr == "PN" {
                e.value = []
                e.items = []
            } else if let dummy = Self.dummyDates[e.vr] {
                // A dummy rather than nothing: Content Date and Time are Type 1 in an SR (the profile's D action).
                if !e.value.isEmpty { e.setText(dummy) }
            } else if e.vr == "UI" {
                let values = e.text.split(separator: "\\", omittingEmptySubsequences: false).map { remap(String($0)) }
                e.setText(values.joined(separator: "\\"))
            } else if e.isSequence {
                for i in e.items.indices { clean(&e.items[i]) }
            }
            kept.append(e)
        }
        dataset.elements = kept
    }
}
