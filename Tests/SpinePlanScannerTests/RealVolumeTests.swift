import Testing
import SpinePlanGeometry
@testable import SpinePlanScanner

@Suite struct RealVolumeTests {
    static let caseNames = ["vb2-02", "vb3-01"]

    @Test(.enabled(if: ScannerFixtures.hasRealData("vb2-02") && ScannerFixtures.hasRealData("vb3-01"), "needs ../shared/data/real beside the package"), arguments: caseNames)
    func acquiringARealVolumePreservesItsReferences(name: String) throws {
        let paths = ScannerFixtures.realCase(name)
        let source = try RealVolumeSource.load(volumePath: paths.image, referencesPath: paths.references)
        #expect(source.reference.case == name)
        // The README's convention: voxel (i, j, k) sits at LPS (k, j, -i).
        let g = source.image.grid
        #expect((g.point(atIndex: Vector3(10, 20, 30)) - Vector3(30, 20, -10)).length < 1e-4)

        let subject = ScanSubject.real(source, seed: 3, randomisePose: true)
        let posed = subject.signal.volume.grid
        #expect(subject.discs.count == source.reference.discs.count)
        for (truth, reference) in zip(subject.discs, source.reference.discs) {
            // Carry the reference through the voxel grid into the posed scanner frame.
            let expected = posed.point(atIndex: g.index(of: reference.centre))
            #expect((truth.centre - expected).length <= 0.5, "\(truth.level)")
            let expectedNormal = posed.axes * (g.inverseAxes * reference.normal)
            #expect(truth.normal.angleDegrees(to: expectedNormal) < 1)
        }
        for (truth, reference) in zip(subject.vertebrae, source.reference.vertebrae) {
            #expect((truth.centre - posed.point(atIndex: g.index(of: reference.centre))).length <= 0.5)
        }

        // Through the acquisition: a sagittal slice through each vertebra centre reads that vertebra's label.
        guard let labels = subject.labels else {
            Issue.record("\(name) has no label volume next to its image")
            return
        }
        // The dataset's own label values (1 = L1 in vb3-, 1 = T11 in vb2-) come out in SpineLevel's scheme.
        for vertebra in subject.vertebrae {
            #expect(source.reference.vertebrae.first { $0.level == vertebra.level }?.label != nil, "the reference labels \(vertebra.level)")
            let label = try #require(SpineLevel.allCases.first { $0.name == vertebra.level }, "\(vertebra.level)").rawValue
            let tilt = Matrix3.rotation(axis: Vector3(0.2, 1, 0.3), degrees: 12)
            let stack = LocalizerStack(orientation: .sagittal, centre: vertebra.centre, rowDirection: tilt * Vector3(0, 1, 0),
                                       columnDirection: tilt * Vector3(0, 0, -1), rows: 256, columns: 256, pixelSpacing: 1.25,
                                       sliceCount: 1, thickness: 5, gap: 0)
            let map = ScannerFixtures.labelMap(stack, labels: labels)
            #expect(ScannerFixtures.label(at: vertebra.centre, in: stack, slice: 0, map: map) == UInt8(label), "\(name) \(vertebra.level)")
        }

        // And the localizer planned for it covers every reference disc.
        let prescription = try LocalizerPrescription.plan(targets: subject.targets, seed: 3, overrides: LocalizerOverrides())
        let synthesizer = SessionSynthesizer(seed: 3, options: SynthesisOptions(outputDirectory: "/unused"), subject: subject)
        #expect(synthesizer.visibleTruth(prescription).discs.count == source.reference.discs.count)
    }

    @Test(.enabled(if: ScannerFixtures.hasRealData("vb3-01"), "needs ../shared/data/real beside the package"))
    func withoutPoseTheTruthIsTheReferences() throws {
        let paths = ScannerFixtures.realCase("vb3-01")
        let source = try RealVolumeSource.load(volumePath: paths.image, referencesPath: paths.references)
        let subject = ScanSubject.real(source, seed: 1, randomisePose: false)
        for (truth, reference) in zip(subject.discs, source.reference.discs) {
            #expect((truth.centre - reference.centre).length <= 0.5)
        }
        #expect(subject.anatomy.lumbarCount == source.reference.vertebrae.filter { $0.level.hasPrefix("L") }.count)
    }
}
