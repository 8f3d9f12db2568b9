import Testing
import SpinePlanGeometry
@testable import SpinePlanScanner

@Suite struct PhantomGeometryTests {
    /// Seeds plus forced variants, so transitional anatomy, slips, scoliosis and metal are all exercised.
    static let cases: [(UInt64, AnatomyRates)] = [
        (1, AnatomyRates()), (2, AnatomyRates()), (3, AnatomyRates()),
        (4, AnatomyRates(transitionalAnatomy: 1)), (5, AnatomyRates(transitionalAnatomy: 1)),
        (6, AnatomyRates(transitionalAnatomy: 1, scoliosis: 1)),
        (7, AnatomyRates(scoliosis: 1, spondylolisthesis: 1, modic: 1, metalImplant: 1)),
    ]

    @Test(arguments: cases)
    func everyTrueDiscCentreFallsOnItsDiscInTheSagittalLabelMap(seed: UInt64, rates: AnatomyRates) throws {
        let options = SynthesisOptions(outputDirectory: "/unused", rates: rates)
        let builder = PhantomBuilder(seed: seed, rates: rates)
        let subject = ScanSubject.phantom(builder.build(), weighting: nil)
        if let phantom = subject.phantom { checkAgainstGeneratingGeometry(builder, phantom) }
        let synthesizer = SessionSynthesizer(seed: seed, options: options, subject: subject)
        let prescription = try LocalizerPrescription.plan(targets: subject.targets, seed: seed, overrides: options.overrides)
        let truth = synthesizer.visibleTruth(prescription)
        let sagittal = prescription.sagittal
        guard let labels = subject.labels else {
            Issue.record("a phantom always has labels")
            return
        }
        let map = ScannerFixtures.labelMap(sagittal, labels: labels)

        let lumbar = subject.anatomy.lumbarCount
        #expect(truth.discs.count >= lumbar + 1, "T12/L1 down to the sacrum must all be covered")
        #expect(truth.discs.last?.level.hasSuffix("/S1") == true)
        for disc in truth.discs {
            let k = try #require(sagittal.coveringSlice(of: disc.centre), "\(disc.level) is outside every slab")
            #expect(abs((disc.centre - sagittal.sliceCentre(k)).dot(sagittal.normal)) <= sagittal.thickness / 2)
            let expected = try #require(ScannerFixtures.discLabel(disc.level))
            #expect(ScannerFixtures.label(at: disc.centre, in: sagittal, slice: k, map: map) == expected, "\(disc.level) seed \(seed)")
            #expect(abs(disc.normal.length - 1) < 1e-3)
            #expect(disc.normal.z < 0, "normals point inferior")
        }
    }

    /// The truth also has to agree with the geometry the phantom was generated from.
    func checkAgainstGeneratingGeometry(_ builder: PhantomBuilder, _ phantom: Phantom) {
        let grid = phantom.tissue.grid
        let layout = builder.layout
        // The grid axes are the pose rotation, so they carry body-frame directions into LPS.
        #expect(phantom.discs.count == layout.discs.count)
        for (truth, disc) in zip(phantom.discs, layout.discs) {
            #expect(truth.level == disc.name)
            let expectedNormal = -(grid.axes * disc.frame.superior)
            #expect(truth.normal.angleDegrees(to: expectedNormal) < 8, "\(disc.name): \(truth.normal) vs \(expectedNormal)")
        }
        #expect(phantom.vertebrae.map(\.level) == builder.anatomy.column.map(\.name))
        let lumbar = phantom.vertebrae.filter { $0.level.hasPrefix("L") }.count
        #expect(lumbar == phantom.anatomyTruth.lumbarCount)
        #expect(phantom.anatomyTruth.lstv == (builder.anatomy.transitional != .none))
        // Vertebrae run downward: each centre is lower than the one above along the body axis.
        let down = grid.axes * Vector3(0, 0, -1)
        let heights = phantom.vertebrae.map { $0.centre.dot(down) }
        #expect(zip(heights, heights.dropFirst()).allSatisfy { $0 < $1 })
        // Each disc lies between its two vertebrae.
        for (index, disc) in phantom.discs.enumerated() {
            let h = disc.centre.dot(down)
            #expect(heights[index] < h && h < heights[index + 1], "\(disc.level) is not between its vertebrae")
        }
    }

    @Test func scoliosisParameterShowsUpAsCobbAngle() {
        let straight = PhantomBuilder(seed: 21, rates: AnatomyRates(scoliosis: 0)).build()
        let curved = PhantomBuilder(seed: 21, rates: AnatomyRates(scoliosis: 1)).build()
        #expect(straight.anatomyTruth.scoliosisCobbDegrees <= 5)
        #expect(curved.anatomyTruth.scoliosisCobbDegrees >= 4)
        #expect(curved.anatomyTruth.scoliosisCobbDegrees <= 41)
        #expect(abs(curved.anatomyTruth.scoliosisCobbDegrees - curved.anatomy.cobbDegrees) < curved.anatomy.cobbDegrees * 0.35 + 1)
    }

    @Test func transitionalAnatomyChangesTheLumbarCount() {
        var counts: Set<Int> = []
        for seed in UInt64(30)..<UInt64(60) {
            counts.insert(AnatomyParameters.draw(seed: seed, rates: AnatomyRates(transitionalAnatomy: 1)).lumbarCount)
        }
        #expect(counts == [4, 5, 6])
        let normal = (UInt64(0)..<UInt64(200)).filter {
            AnatomyParameters.draw(seed: $0, rates: AnatomyRates()).transitional != .none
        }.count
        #expect((5...40).contains(normal), "about 10% of 200 sessions should be transitional, got \(normal)")
    }

    @Test func metalLeavesASignalVoid() throws {
        let phantom = PhantomBuilder(seed: 7, rates: AnatomyRates(metalImplant: 1)).build()
        let screw = try #require(phantom.metal.first)
        let sampler = VolumeSampler(volume: phantom.tissue, lookup: ContrastTable(.t2).lookup, metal: phantom.metal)
        let middle = (screw.start + screw.end) / 2
        #expect(sampler.distorted(middle, readout: Vector3(0, 1, 0)) == nil)
        let far = middle + Vector3(0, 0, 80)
        #expect(sampler.distorted(far, readout: Vector3(0, 1, 0)).map { ($0 - far).length < 1 } == true)
    }
}
