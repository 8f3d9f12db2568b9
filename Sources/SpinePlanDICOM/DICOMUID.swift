/// UID generation under the UUID-derived root 2.25 (PS3.5 B.2), so no registered org root is needed.
public enum DICOMUID {
    /// A fresh, random UID.
    public static func make() -> String {
        var g = SystemRandomNumberGenerator()
        return fromBits(high: g.next(), low: g.next())
    }

    /// A UID derived from a 128-bit value, e.g. a hash, for deterministic output.
    public static func fromBits(high: UInt64, low: UInt64) -> String {
        "2.25.\(UInt128(high) << 64 | UInt128(low))"
    }
}
