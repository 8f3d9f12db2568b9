#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import SpinePlanGeometry

/// A smooth multiplicative receive-coil shading: the exponential of a random quadratic in position.
struct BiasField: Sendable {
    let centre: Vector3
    private let linear: Vector3
    private let quadratic: Vector3
    private let cross: Vector3

    /// `amplitude` is the standard deviation of each coefficient; 0 gives a flat field.
    init(seed: UInt64, centre: Vector3, amplitude: Double) {
        var rng = SplitMix64(seed: seed, purpose: "bias field")
        self.centre = centre
        linear = Vector3(rng.gaussian(), rng.gaussian(), rng.gaussian()) * amplitude
        quadratic = Vector3(rng.gaussian(), rng.gaussian(), rng.gaussian()) * amplitude * 0.5
        cross = Vector3(rng.gaussian(), rng.gaussian(), rng.gaussian()) * amplitude * 0.3
    }

    static let flat = BiasField(seed: 0, centre: .zero, amplitude: 0)

    @inline(__always) func gain(at p: Vector3) -> Float {
        // Normalised by 250 mm, roughly the radius of a localizer field of view.
        let u = (p - centre) / 250
        let e = linear.dot(u) + quadratic.dot(u * u) + cross.dot(Vector3(u.x * u.y, u.x * u.z, u.y * u.z))
        return Float(exp(max(-1, min(1, e))))
    }
}
