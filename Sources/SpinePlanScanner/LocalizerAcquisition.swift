import Dispatch
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import SpinePlanGeometry

/// How the virtual scanner turns volume signal into pixel values.
struct AcquisitionSettings: Sendable {
    /// Signal-to-noise ratio of the reference tissue; nil acquires without noise.
    var snr: Double?
    /// The signal that `snr` is quoted against.
    var referenceSignal: Float
    var bias: BiasField
    var noiseSeed: UInt64
    /// Label-map mode: nearest-neighbour on the slice plane only, no slab, bias, noise or distortion.
    var labelMap: Bool

    static func labels() -> AcquisitionSettings {
        AcquisitionSettings(snr: nil, referenceSignal: 1, bias: .flat, noiseSeed: 0, labelMap: true)
    }
}

/// Samples the slices of a localizer stack out of a volume.
enum LocalizerAcquisition {
    /// Largest stored value: pixels are written as 12-bit-range unsigned integers.
    static let maximumValue: Float = 4095

    /// Pixel arrays (row-major, `rows × columns`) for every slice of the stack, in slice order.
    static func acquire(_ stack: LocalizerStack, stackIndex: Int, from sampler: VolumeSampler,
                        settings: AcquisitionSettings) -> [[Float]] {
        let slots = SliceSlots<[Float]>(count: stack.sliceCount)
        DispatchQueue.concurrentPerform(iterations: stack.sliceCount) { k in
            slots.store(k, acquireSlice(stack, k, stackIndex: stackIndex, sampler: sampler, settings: settings))
        }
        return slots.values
    }

    static func acquireSlice(_ stack: LocalizerStack, _ k: Int, stackIndex: Int, sampler: VolumeSampler,
                             settings: AcquisitionSettings) -> [Float] {
        let plane = stack.plane(k)
        let normal = stack.normal
        let rowStep = plane.rowDirection * stack.pixelSpacing, columnStep = plane.columnDirection * stack.pixelSpacing
        // Partial volume: average sub-samples spread evenly through the slice thickness.
        let subSamples = settings.labelMap ? 1 : max(3, min(12, Int((stack.thickness / 0.8).rounded(.up))))
        let offsets = (0..<subSamples).map { i in
            settings.labelMap ? 0 : (-stack.thickness / 2 + (Double(i) + 0.5) * stack.thickness / Double(subSamples))
        }
        let weight = 1 / Float(subSamples)
        var rng = SplitMix64(seed: settings.noiseSeed, purpose: "noise \(stackIndex) \(k)")
        let sigma = settings.snr.map { Double(settings.referenceSignal) / $0 } ?? 0
        var pixels = [Float](repeating: 0, count: stack.rows * stack.columns)
        sampler.withRaw { raw in
            pixels.withUnsafeMutableBufferPointer { out in
                for r in 0..<stack.rows {
                    var p = plane.position + columnStep * Double(r)
                    for c in 0..<stack.columns {
                        defer { p += rowStep }
                        if settings.labelMap {
                            out[r * stack.columns + c] = raw.nearest(p)
                            continue
                        }
                        var value: Float = 0
                        for offset in offsets {
                            guard let q = sampler.distorted(p + normal * offset, readout: plane.rowDirection) else { continue }
                            value += raw.trilinear(q)
                        }
                        value *= weight * settings.bias.gain(at: p)
                        if sigma > 0 {
                            // Rician magnitude: noise is added to both quadrature channels before the modulus.
                            let re = Double(value) + sigma * rng.gaussian(), im = sigma * rng.gaussian()
                            value = Float((re * re + im * im).squareRoot())
                        }
                        out[r * stack.columns + c] = min(maximumValue, max(0, value.rounded()))
                    }
                }
            }
        }
        return pixels
    }
}

/// Result slots that concurrent iterations fill, each iteration writing only its own index.
final class SliceSlots<Value>: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<Value?>

    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil)
    }

    deinit {
        _ = storage.deinitialize()
        storage.deallocate()
    }

    // Safe without a lock: concurrentPerform gives every index to exactly one iteration, the buffer
    // never moves, and `values` is only read after concurrentPerform has returned.
    func store(_ index: Int, _ value: Value) { storage[index] = value }

    var values: [Value] { storage.map { $0! } }
}
