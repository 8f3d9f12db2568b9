import Testing
import SpinePlanDICOM
@testable import SpinePlanScanner

@Suite struct DeterminismTests {
    @Test func samePhantomSeedGivesIdenticalVolumesAndDifferentSeedsDiffer() {
        let a = PhantomBuilder(seed: 11, rates: AnatomyRates()).build()
        let b = PhantomBuilder(seed: 11, rates: AnatomyRates()).build()
        let c = PhantomBuilder(seed: 12, rates: AnatomyRates()).build()
        #expect(a.tissue == b.tissue)
        #expect(a.labels == b.labels)
        #expect(a.discs == b.discs)
        #expect(a.tissue != c.tissue || a.discs != c.discs)
        #expect(a.discs != c.discs)
    }

    @Test func sameSessionSeedGivesIdenticalSlicesAndUIDs() throws {
        let options = SynthesisOptions(outputDirectory: "/unused")
        func slices(_ seed: UInt64) throws -> [Slice] {
            let subject = ScanSubject.phantom(seed: seed, rates: options.rates, weighting: nil)
            return try SessionSynthesizer(seed: seed, options: options, subject: subject).acquire().slices
        }
        let first = try slices(5), second = try slices(5), other = try slices(6)
        #expect(first.count == second.count)
        #expect(zip(first, second).allSatisfy { $0.pixels == $1.pixels && $0.sopInstanceUID == $1.sopInstanceUID && $0.plane == $1.plane })
        #expect(first.map(\.pixels) != other.map(\.pixels))
        #expect(first[0].studyInstanceUID != other[0].studyInstanceUID)
        // Every slice of a session shares one frame of reference and one study; instance UIDs are unique.
        #expect(Set(first.map(\.frameOfReferenceUID)).count == 1)
        #expect(Set(first.map(\.sopInstanceUID)).count == first.count)
        #expect(first.allSatisfy { $0.sopInstanceUID.hasPrefix("2.25.") && $0.sopInstanceUID.count <= 64 })
        #expect(first.allSatisfy { $0.pixels.allSatisfy { (0...4095).contains($0) && $0 == $0.rounded() } })
        #expect(first[0].patientStudy.patientName == "SYNTHETIC^PHANTOM^5")
    }

    @Test func seededStreamsAreIndependentOfOtherPurposes() {
        var a = SplitMix64(seed: 3, purpose: "anatomy"), b = SplitMix64(seed: 3, purpose: "anatomy")
        var c = SplitMix64(seed: 3, purpose: "localizer")
        let xs = (0..<8).map { _ in a.next() }, ys = (0..<8).map { _ in b.next() }, zs = (0..<8).map { _ in c.next() }
        #expect(xs == ys)
        #expect(xs != zs)
        var u = SplitMix64(seed: 9)
        let draws = (0..<10_000).map { _ in u.unit() }
        #expect(draws.allSatisfy { (0..<1).contains($0) })
        let mean = draws.reduce(0, +) / Double(draws.count)
        #expect(abs(mean - 0.5) < 0.02)
    }
}
