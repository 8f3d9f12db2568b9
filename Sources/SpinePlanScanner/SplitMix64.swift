#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A small seeded generator (SplitMix64) whose output never changes across platforms or Swift versions.
///
/// The standard library's `random(in:using:)` algorithms are not guaranteed stable, so every draw here
/// goes through this type's own conversions.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// An independent stream for one purpose, so adding draws elsewhere never shifts this one.
    init(seed: UInt64, purpose: String) { state = SeedHash.hash64(seed, purpose) }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SeedHash.finalise(state)
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * unit()
    }

    /// Uniform integer in the range.
    mutating func integer(_ range: ClosedRange<Int>) -> Int {
        let span = UInt64(range.upperBound - range.lowerBound + 1)
        return range.lowerBound + Int(next() % span)
    }

    mutating func chance(_ probability: Double) -> Bool { unit() < probability }

    /// Standard normal by Box–Muller.
    mutating func gaussian() -> Double {
        let u1 = max(unit(), 0x1p-60), u2 = unit()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// Normal draw clamped to a plausible range.
    mutating func normal(mean: Double, sd: Double, within range: ClosedRange<Double>) -> Double {
        min(range.upperBound, max(range.lowerBound, mean + sd * gaussian()))
    }

    mutating func sign() -> Double { chance(0.5) ? 1 : -1 }
}

/// Seed mixing: stable 64- and 128-bit hashes of a seed and a purpose string.
enum SeedHash {
    static func finalise(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func hash64(_ seed: UInt64, _ purpose: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in purpose.utf8 {
            h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return finalise(finalise(seed ^ 0x5350_494E_4550_4C41) ^ h)
    }

    static func hash128(_ seed: UInt64, _ purpose: String) -> UInt128 {
        let hi = hash64(seed, purpose + "#hi"), lo = hash64(seed, purpose + "#lo")
        return (UInt128(hi) << 64) | UInt128(lo)
    }
}
