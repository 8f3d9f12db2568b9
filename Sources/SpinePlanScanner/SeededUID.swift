/// DICOM UIDs derived from a seed, so that the same seed always writes byte-identical files.
///
/// Uses the ISO/IEC 9834-8 "2.25" root: "2.25." followed by a 128-bit integer in decimal.
enum SeededUID {
    static func make(seed: UInt64, purpose: String) -> String {
        var value = SeedHash.hash128(seed, purpose)
        // The UUID-derived form must not be zero and must have no leading zeros; decimal printing guarantees the latter.
        if value == 0 { value = 1 }
        return "2.25.\(value)"
    }
}
