import Crypto
import SpinePlanDICOM
import SpinePlanService

/// The DICOM PS3.15 Basic Application Level Confidentiality Profile (`ConfidentialityProfile`), applied through DCMTK
/// to every object of one recording with one UID map, so references between the localizer, the SR and the overlay
/// still resolve after export.
///
/// Beyond Table E.1-1, every attribute is also judged by its VR wherever it sits: private attributes are removed, every
/// PN is emptied, every DA, DT and TM becomes a dummy (1900-01-01, 00:00: no longitudinal-date option), and every UID
/// outside the DICOM root becomes a `2.25.` UID derived from a per-export random salt. Patient Identity Removed,
/// De-identification Method and its code sequence (113100 and 113104, DCM) are added.
final class Deidentifier {
    private var uidMap: [String: String] = [:]
    private let salt: [UInt8]

    init(salt: [UInt8]? = nil) {
        var g = SystemRandomNumberGenerator()
        self.salt = salt ?? (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    static let dicomRoot = "1.2.840.10008."

    /// What every date and time becomes.
    static let dummyDates: [String: String] = ["DA": "19000101", "TM": "000000", "DT": "19000101000000"]
    static let dummyText = "ANONYMIZED"
    static let textVRs: Set<String> = ["AE", "AS", "CS", "LO", "LT", "SH", "ST", "UC", "UR", "UT", "PN"]
    static let numberVRs: Set<String> = ["DS", "IS"]

    /// De-identifies one dataset in place.
    func apply(to object: DICOMObject) throws(DICOMError) {
        let root = object.root
        try clean(root)
        try root.set(.patientIdentityRemoved, "YES")
        try root.set(.deidentificationMethod, "PS3.15 E.1-1 Basic Profile, Clean Structured Content")
        root.remove(.deidentificationMethodCodeSequence)
        for (code, meaning) in [("113100", "Basic Application Confidentiality Profile"), ("113104", "Clean Structured Content Option")] {
            let item = try root.appendItem(.deidentificationMethodCodeSequence)
            try item.set(.codeValue, code)
            try item.set(.codingSchemeDesignator, "DCM")
            try item.set(.codeMeaning, meaning)
        }
    }

    /// De-identifies dataset bytes in a transfer syntax and returns them in Explicit VR Little Endian.
    func apply(_ bytes: [UInt8], transferSyntax: String) throws(DICOMError) -> [UInt8] {
        let object = try DICOMObject(datasetBytes: bytes, transferSyntax: transferSyntax)
        try apply(to: object)
        return try object.encoded(transferSyntax: TransferSyntax.explicitVRLittleEndian)
    }

    /// The replacement for a UID; the same input always maps to the same output within this export.
    func remap(_ uid: String) -> String {
        if uid.isEmpty || uid.hasPrefix(Self.dicomRoot) { return uid }
        if let known = uidMap[uid] { return known }
        var h = SHA256()
        h.update(data: salt)
        h.update(data: Array(uid.utf8))
        let digest = Array(h.finalize())
        var high: UInt64 = 0, low: UInt64 = 0
        for i in 0..<8 { high = high << 8 | UInt64(digest[i]); low = low << 8 | UInt64(digest[8 + i]) }
        let new = DICOMUID.fromBits(high: high, low: low)
        uidMap[uid] = new
        return new
    }

    private func clean(_ item: DICOMItem) throws(DICOMError) {
        for (tag, vr) in item.elements {
            let key = UInt32(tag.group) << 16 | UInt32(tag.element)
            // Private attributes, and command or file meta groups, never belong in an exported dataset.
            if tag.group % 2 == 1 || tag.group == 0x0000 || tag.group == 0x0002 {
                item.remove(tag)
                continue
            }
            if tag == .patientIdentityRemoved || tag == .deidentificationMethod || tag == .deidentificationMethodCodeSequence { continue }
            switch ConfidentialityProfile.action(for: key)?.resolved(vr: vr) {
            case .remove:
                item.remove(tag)
            case .empty:
                try item.clear(tag)
            case .dummy:
                try dummy(item, tag, vr)
            case .remapUID:
                if vr == "SQ" { try cleanItems(item, tag) } else { try remapValues(item, tag, vr) }
            default:
                try byVR(item, tag, vr)
            }
        }
    }

    /// An attribute the profile does not list, judged by its VR.
    private func byVR(_ item: DICOMItem, _ tag: Tag, _ vr: String) throws(DICOMError) {
        switch vr {
        case "SQ": try cleanItems(item, tag)
        case "PN": try item.clear(tag)
        case "UI": try remapValues(item, tag, vr)
        default:
            if let date = Self.dummyDates[vr], item.string(tag)?.isEmpty == false { try item.set(tag, date) }
        }
    }

    private func dummy(_ item: DICOMItem, _ tag: Tag, _ vr: String) throws(DICOMError) {
        if vr == "SQ" { return try cleanItems(item, tag) }
        if vr == "UI" { return try remapValues(item, tag, vr) }
        if let date = Self.dummyDates[vr] { return try item.set(tag, date) }
        if Self.textVRs.contains(vr) { return try item.set(tag, Self.dummyText) }
        if Self.numberVRs.contains(vr) { return try item.set(tag, "0") }
        // Binary values (signatures, encapsulated documents) have no meaningful dummy: stricter to remove them.
        item.remove(tag)
    }

    private func remapValues(_ item: DICOMItem, _ tag: Tag, _ vr: String) throws(DICOMError) {
        guard vr == "UI" else { return try dummy(item, tag, vr) }
        guard let text = item.string(tag), !text.isEmpty else { return }
        let values = text.split(separator: "\\", omittingEmptySubsequences: false).map { remap(String($0).trimmingDICOMPadding) }
        try item.set(tag, values.joined(separator: "\\"))
    }

    private func cleanItems(_ item: DICOMItem, _ tag: Tag) throws(DICOMError) {
        for index in 0..<item.sequenceCount(tag) {
            if let child = item.sequenceItem(tag, index) { try clean(child) }
        }
    }
}
