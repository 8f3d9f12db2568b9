#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Foundation
import SpinePlanGeometry

/// What the virtual scanner images: a phantom or a real volume, already posed in scanner LPS,
/// with the truth that goes with it.
struct ScanSubject: Sendable {
    var caseName: String
    /// Middle component of the synthetic PatientName: `PHANTOM` or the real case name.
    var identityTag: String
    var sex: String
    var age: Int?
    var signal: VolumeSampler
    var referenceSignal: Float
    /// Labels on the same grid as the signal, when known (phantoms, or a real label volume).
    var labels: Volume<UInt8>?
    /// True when only vertebral bodies are labelled (real volumes): zero then means "not a vertebral body".
    var labelsArePartial: Bool = false
    var discs: [TruthRecord.Disc]
    var vertebrae: [TruthRecord.Vertebra]
    var anatomy: TruthRecord.Anatomy
    /// Disc centres the sagittal localizer must cover.
    var targets: [Vector3]
    var phantom: Phantom?

    static func phantom(seed: UInt64, rates: AnatomyRates, weighting: Weighting?) -> ScanSubject {
        phantom(PhantomBuilder(seed: seed, rates: rates).build(), weighting: weighting)
    }

    static func phantom(_ phantom: Phantom, weighting: Weighting?) -> ScanSubject {
        let seed = phantom.seed
        let contrast = ContrastTable(weighting ?? phantom.anatomy.weighting)
        let lumbarDiscs = phantom.discs.filter { disc in
            let upper = disc.level.split(separator: "/").first.map(String.init) ?? ""
            return upper == "T12" || upper.hasPrefix("L")
        }
        return ScanSubject(
            caseName: "phantom-\(seed)", identityTag: "PHANTOM", sex: phantom.anatomy.sex, age: phantom.anatomy.age,
            signal: VolumeSampler(volume: phantom.tissue, lookup: contrast.lookup, metal: phantom.metal),
            referenceSignal: contrast.referenceSignal, labels: phantom.labels, discs: phantom.discs,
            vertebrae: phantom.vertebrae, anatomy: phantom.anatomyTruth, targets: lumbarDiscs.map(\.centre),
            phantom: phantom)
    }

    /// Scale from 8-bit real images to the stored-value range.
    static let realScale: Float = 8

    static func real(_ source: RealVolumeSource, seed: UInt64, randomisePose: Bool) -> ScanSubject {
        var rng = SplitMix64(seed: seed, purpose: "real pose \(source.reference.case)")
        let rotation: Matrix3
        let offset: Vector3
        if randomisePose {
            rotation = Matrix3.rotation(axis: Vector3(0, 0, 1), degrees: rng.normal(mean: 0, sd: 2, within: -5...5))
                * Matrix3.rotation(axis: Vector3(0, 1, 0), degrees: rng.normal(mean: 0, sd: 2, within: -5...5))
                * Matrix3.rotation(axis: Vector3(1, 0, 0), degrees: rng.normal(mean: 0, sd: 2, within: -5...5))
            offset = Vector3(rng.normal(mean: 0, sd: 10, within: -25...25), rng.normal(mean: 0, sd: 10, within: -25...25),
                             rng.normal(mean: 0, sd: 15, within: -40...40))
        } else {
            rotation = .identity
            offset = .zero
        }
        // Rotate about the spine and bring it near the isocentre, as positioning the patient would.
        let pivot = randomisePose ? source.spineCentre : .zero
        let translation = randomisePose ? offset - rotation * pivot : .zero
        let move: (Vector3) -> Vector3 = { rotation * $0 + translation }
        let reference = source.reference
        let discs = reference.discs.map { d -> TruthRecord.Disc in
            var n = (rotation * d.normal).normalized
            if n.z > 0 { n = -n }
            return TruthRecord.Disc(level: d.level, centre: move(d.centre).rounded3, normal: n.rounded4)
        }
        let vertebrae = reference.vertebrae.map { TruthRecord.Vertebra(level: $0.level, centre: move($0.centre).rounded3) }
        let tilts = discs.map { atan2($0.normal.x, -$0.normal.z) * 180 / .pi }
        let cobb = ((tilts.max() ?? 0) - (tilts.min() ?? 0))
        let volume = Volume(grid: source.image.grid.moved(rotation: rotation, translation: translation),
                            voxels: source.image.voxels)
        // Real label values are per-dataset (1 = L1 in vb3-, 1 = T11 in vb2-); the reference names each value,
        // so remap them to the phantom's scheme and every label export speaks one vocabulary.
        var remap = [UInt8](repeating: 0, count: 256)
        for vertebra in reference.vertebrae {
            if let label = vertebra.label, (1...255).contains(label),
               let level = SpineLevel.allCases.first(where: { $0.name == vertebra.level }) {
                remap[label] = level.rawValue
            }
        }
        let labels = source.labels.map {
            Volume(grid: $0.grid.moved(rotation: rotation, translation: translation), voxels: $0.voxels.map { remap[Int($0)] })
        }
        let lookup = (0..<256).map { Float($0) * realScale }
        return ScanSubject(
            caseName: "\(reference.case)-s\(seed)", identityTag: reference.case.uppercased(), sex: "O", age: nil,
            signal: VolumeSampler(volume: volume, lookup: lookup), referenceSignal: source.meanSignal * realScale,
            labels: labels, labelsArePartial: true, discs: discs, vertebrae: vertebrae,
            anatomy: TruthRecord.Anatomy(
                lumbarCount: reference.vertebrae.filter { $0.level.hasPrefix("L") }.count, lstv: false,
                scoliosisCobbDegrees: (cobb * 10).rounded() / 10, source: "real:\(reference.case)"),
            targets: discs.map(\.centre), phantom: nil)
    }
}

/// A real volume loaded once and shared by every session made from it.
struct RealVolumeSource: Sendable {
    var image: Volume<UInt8>
    /// The matching `<case>_labels.nii.gz`, when it sits next to the image.
    var labels: Volume<UInt8>?
    var reference: ReferenceSet.Case
    var meanSignal: Float
    var spineCentre: Vector3

    static func load(volumePath: String, referencesPath: String) throws(ScannerError) -> RealVolumeSource {
        let image = try NIfTIReader.read(volumePath)
        let references = try ReferenceSet.load(referencesPath)
        let reference = try references.matching(volume: image, path: volumePath)
        var labels: Volume<UInt8>?
        if volumePath.contains("_image.nii") {
            let labelPath = volumePath.replacingOccurrences(of: "_image.nii", with: "_labels.nii")
            // The published label volumes can differ from their images by a slice; they share the affine.
            if access(labelPath, R_OK) == 0, let l = try? NIfTIReader.read(labelPath),
               l.grid.axes == image.grid.axes, (l.grid.origin - image.grid.origin).length < 1e-6 {
                labels = l
            }
        }
        var sum = 0, count = 0
        for v in image.voxels where v > 10 {
            sum += Int(v)
            count += 1
        }
        let points = reference.vertebrae.isEmpty ? reference.discs.map(\.centre) : reference.vertebrae.map(\.centre)
        return RealVolumeSource(image: image, labels: labels, reference: reference,
                                meanSignal: count > 0 ? Float(sum) / Float(count) : 100,
                                spineCentre: points.reduce(.zero, +) / Double(points.count))
    }
}
