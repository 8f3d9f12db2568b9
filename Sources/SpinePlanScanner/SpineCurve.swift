#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import SpinePlanGeometry

/// The centreline of the vertebral bodies, sampled by arc length s running from the top (s = 0) downward.
///
/// The tangent comes from two tilt profiles: sagittal θ(s) (positive leans the superior end posterior)
/// and coronal φ(s) (positive leans it to the patient's left). Positions integrate the tangent, so the
/// vertebrae strung along it never gap or overlap whatever the curvature.
struct SpineCurve: Sendable {
    static let step = 0.5
    private(set) var frames: [LocalFrame]
    let length: Double

    /// `anchorArc` is placed at `anchor` (the body-frame origin for the S1 endplate).
    init(length: Double, anchorArc: Double, anchor: Vector3,
         sagittal: (Double) -> Double, coronal: (Double) -> Double, axialPerMillimetre: Double) {
        self.length = length
        let n = Int((length / Self.step).rounded(.up)) + 1
        var rotations: [Matrix3] = []
        rotations.reserveCapacity(n)
        for index in 0..<n {
            let s = Double(index) * Self.step
            let rx = Matrix3.rotation(axis: Vector3(1, 0, 0), degrees: -sagittal(s))
            let ry = Matrix3.rotation(axis: Vector3(0, 1, 0), degrees: coronal(s))
            rotations.append(ry * rx)
        }
        // dC/ds = -T because s runs inferiorly while T points superiorly.
        var positions = [Vector3](repeating: .zero, count: n)
        for index in 1..<n {
            let t = (rotations[index - 1].c2 + rotations[index].c2).normalized
            positions[index] = positions[index - 1] - t * Self.step
        }
        let anchorIndex = min(n - 1, Int((anchorArc / Self.step).rounded()))
        let shift = anchor - positions[anchorIndex]
        let anchorX = positions[anchorIndex].x
        frames = (0..<n).map { index in
            // Scoliotic vertebrae rotate axially with their lateral displacement.
            let twist = max(-25, min(25, axialPerMillimetre * (positions[index].x - anchorX)))
            let r = rotations[index] * Matrix3.rotation(axis: Vector3(0, 0, 1), degrees: twist)
            return LocalFrame(origin: positions[index] + shift, lateral: r.c0, anterior: -r.c1, superior: r.c2)
        }
    }

    /// The frame at arc length s (clamped to the curve), from the nearest sample.
    func frame(at s: Double) -> LocalFrame {
        let x = max(0, min(Double(frames.count - 1), s / Self.step))
        let i0 = Int(x.rounded(.down)), i1 = min(frames.count - 1, i0 + 1)
        let w = x - Double(i0)
        var f = frames[Int(x.rounded())]
        f.origin = frames[i0].origin * (1 - w) + frames[i1].origin * w
        return f
    }

    /// Adds a displacement that is full above `from`, ramps smoothly to zero at `to`, and is nil below.
    mutating func displace(by d: Vector3, from: Double, to: Double) {
        for index in frames.indices {
            let s = Double(index) * Self.step
            let u = max(0, min(1, (s - from) / max(to - from, 1e-6)))
            let w = 1 - u * u * (3 - 2 * u)
            frames[index].origin += d * w
        }
    }
}
