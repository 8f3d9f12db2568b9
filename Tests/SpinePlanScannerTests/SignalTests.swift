import Testing
import SpinePlanGeometry
@testable import SpinePlanScanner

@Suite struct SignalTests {
    /// A 120 mm cube of one tissue, so every pixel of a central slice samples the same signal.
    func uniform(_ tissue: TissueClass) -> Volume<UInt8> {
        let grid = VoxelGrid(size: SIMD3(120, 120, 120), origin: Vector3(-60, -60, -60), axes: .identity)!
        return Volume(grid: grid, repeating: tissue.rawValue)
    }

    func axialStack(slices: Int = 1, thickness: Double = 5) -> LocalizerStack {
        LocalizerStack(orientation: .axial, centre: .zero, rowDirection: Vector3(1, 0, 0), columnDirection: Vector3(0, 1, 0),
                       rows: 64, columns: 64, pixelSpacing: 1, sliceCount: slices, thickness: thickness, gap: 0)
    }

    func statistics(_ values: [Float]) -> (mean: Double, sd: Double) {
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count - 1)
        return (mean, variance.squareRoot())
    }

    @Test(arguments: [(TissueClass.muscle, 20.0), (.marrow, 40.0), (.csf, 10.0)])
    func tissueSampleHasTheExpectedMeanAndSNR(tissue: TissueClass, snr: Double) {
        let table = ContrastTable(.t2)
        let sampler = VolumeSampler(volume: uniform(tissue), lookup: table.lookup)
        let settings = AcquisitionSettings(snr: snr, referenceSignal: table.referenceSignal, bias: .flat, noiseSeed: 4, labelMap: false)
        let pixels = LocalizerAcquisition.acquire(axialStack(slices: 3), stackIndex: 0, from: sampler, settings: settings).flatMap { $0 }
        let (mean, sd) = statistics(pixels)
        let signal = Double(table[tissue]), sigma = Double(table.referenceSignal) / snr
        // Rician bias is about sigma²/2S, under 1% at these SNRs; the sample SD estimate is within a few %.
        #expect(abs(mean - signal) < 0.01 * signal + 3 * sigma / Double(pixels.count).squareRoot() + 1)
        #expect(abs(sd - sigma) < 0.06 * sigma + 0.3)
        #expect(abs(Double(table.referenceSignal) / sd - snr) < 0.07 * snr)
    }

    @Test func noiselessAcquisitionReproducesTheContrastTable() {
        for weighting in Weighting.allCases {
            let table = ContrastTable(weighting)
            for tissue in [TissueClass.fat, .csf, .muscle] {
                let sampler = VolumeSampler(volume: uniform(tissue), lookup: table.lookup)
                let settings = AcquisitionSettings(snr: nil, referenceSignal: 1, bias: .flat, noiseSeed: 0, labelMap: false)
                let pixels = LocalizerAcquisition.acquire(axialStack(), stackIndex: 0, from: sampler, settings: settings)[0]
                #expect(pixels.allSatisfy { $0 == table[tissue].rounded() })
            }
        }
        // The two contrasts differ where they should: fluid bright on T2 and dark on T1.
        #expect(ContrastTable(.t2)[.csf] > ContrastTable(.t2)[.fat])
        #expect(ContrastTable(.t1)[.csf] < ContrastTable(.t1)[.muscle])
        #expect(ContrastTable(.t2)[.nucleus] > ContrastTable(.t2)[.degeneratedNucleus])
    }

    @Test func slabIntegrationAveragesAcrossTheThickness() {
        // Half the slab in fat and half in muscle: partial volume gives the mean of the two.
        var volume = uniform(.muscle)
        for k in 0..<60 { for j in 0..<120 { for i in 0..<120 { volume[i, j, k] = TissueClass.fat.rawValue } } }
        let table = ContrastTable(.t2)
        let stack = LocalizerStack(orientation: .axial, centre: Vector3(0, 0, -0.5), rowDirection: Vector3(1, 0, 0),
                                   columnDirection: Vector3(0, 1, 0), rows: 32, columns: 32, pixelSpacing: 1, sliceCount: 1,
                                   thickness: 8, gap: 0)
        let settings = AcquisitionSettings(snr: nil, referenceSignal: 1, bias: .flat, noiseSeed: 0, labelMap: false)
        let pixels = LocalizerAcquisition.acquire(stack, stackIndex: 0, from: VolumeSampler(volume: volume, lookup: table.lookup),
                                                  settings: settings)[0]
        let expected = (table[.fat] + table[.muscle]) / 2
        #expect(pixels.allSatisfy { abs($0 - expected) <= 1 })
    }

    @Test func biasFieldIsSmoothAndBounded() {
        let field = BiasField(seed: 3, centre: .zero, amplitude: 0.2)
        var previous = field.gain(at: Vector3(-200, 10, -20))
        for x in stride(from: -199.0, through: 200, by: 1) {
            let g = field.gain(at: Vector3(x, 10, -20))
            #expect(g > 0.36 && g < 2.72)
            #expect(abs(g - previous) < 0.01)
            previous = g
        }
        #expect(BiasField.flat.gain(at: Vector3(100, 200, 300)) == 1)
    }

    @Test func phantomNoiseMatchesTheRequestedSNR() throws {
        let subject = ScanSubject.phantom(seed: 9, rates: AnatomyRates(), weighting: .t2)
        let prescription = try LocalizerPrescription.plan(targets: subject.targets, seed: 9, overrides: LocalizerOverrides())
        let stack = prescription.sagittal
        let clean = AcquisitionSettings(snr: nil, referenceSignal: subject.referenceSignal, bias: .flat, noiseSeed: 1, labelMap: false)
        var noisy = clean
        noisy.snr = 25
        let a = LocalizerAcquisition.acquireSlice(stack, 0, stackIndex: 0, sampler: subject.signal, settings: clean)
        let b = LocalizerAcquisition.acquireSlice(stack, 0, stackIndex: 0, sampler: subject.signal, settings: noisy)
        let sigma = Double(subject.referenceSignal) / 25
        // Where the signal is well above the noise, Rician noise is nearly Gaussian with that sigma.
        let differences = zip(a, b).filter { Double($0.0) > 8 * sigma && $0.0 < 3500 }.map { $0.1 - $0.0 }
        #expect(differences.count > 1000)
        let (mean, sd) = statistics(differences)
        #expect(abs(mean) < 0.1 * sigma)
        #expect(abs(sd - sigma) < 0.08 * sigma)
    }
}
