#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// UID generation under the UUID-derived root 2.25 (PS3.5 B.2), so no registered org root is needed.
public enum DICOMUID {
    /// A fresh, random UID.
    public static func make() -> String {
        var g = SystemRandomNumberGenerator()
        return fromBits(high: g.next(), low: g.next())
    }

    /// A UID derived from a 128-bit value, e.g. a hash, for deterministic output.
    public static func fromBits(high: UInt64, low: UInt64) -> String {
        // Decimal of the 128-bit integer high·2^64 + low, by repeated division by 10.
        var words = [high >> 32, high & 0xFFFF_FFFF, low >> 32, low & 0xFFFF_FFFF]
        var digits: [Character] = []
        while words.contains(where: { $0 != 0 }) {
            var remainder: UInt64 = 0
            for i in words.indices {
                let cur = (remainder << 32) | words[i]
                words[i] = cur / 10
                remainder = cur % 10
            }
            digits.append(Character(String(remainder)))
        }
        return "2.25." + (digits.isEmpty ? "0" : String(digits.reversed()))
    }
}
