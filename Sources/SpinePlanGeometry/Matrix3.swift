#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A 3×3 matrix stored by columns: rotations and the linear part of voxel-to-patient affines.
public struct Matrix3: Sendable, Equatable {
    public var c0: Vector3
    public var c1: Vector3
    public var c2: Vector3

    public init(columns c0: Vector3, _ c1: Vector3, _ c2: Vector3) {
        self.c0 = c0
        self.c1 = c1
        self.c2 = c2
    }

    public init(rows r0: Vector3, _ r1: Vector3, _ r2: Vector3) {
        self.init(columns: Vector3(r0.x, r1.x, r2.x), Vector3(r0.y, r1.y, r2.y), Vector3(r0.z, r1.z, r2.z))
    }

    public static let identity = Matrix3(columns: Vector3(1, 0, 0), Vector3(0, 1, 0), Vector3(0, 0, 1))

    /// Row `r` as a vector.
    public func row(_ r: Int) -> Vector3 { Vector3(c0[r], c1[r], c2[r]) }

    public var transposed: Matrix3 { Matrix3(columns: row(0), row(1), row(2)) }

    public var determinant: Double { c0.dot(c1.cross(c2)) }

    /// The inverse, or nil when the matrix is (numerically) singular.
    public var inverse: Matrix3? {
        let d = determinant
        guard abs(d) > 1e-12 else { return nil }
        return Matrix3(rows: c1.cross(c2) / d, c2.cross(c0) / d, c0.cross(c1) / d)
    }

    public static func * (m: Matrix3, v: Vector3) -> Vector3 { m.c0 * v.x + m.c1 * v.y + m.c2 * v.z }

    public static func * (a: Matrix3, b: Matrix3) -> Matrix3 { Matrix3(columns: a * b.c0, a * b.c1, a * b.c2) }

    /// Right-handed rotation about `axis` (Rodrigues' formula).
    public static func rotation(axis: Vector3, degrees: Double) -> Matrix3 {
        let k = axis.normalized
        let a = degrees * .pi / 180
        let c = cos(a), s = sin(a), t = 1 - c
        return Matrix3(rows:
            Vector3(t * k.x * k.x + c, t * k.x * k.y - s * k.z, t * k.x * k.z + s * k.y),
            Vector3(t * k.x * k.y + s * k.z, t * k.y * k.y + c, t * k.y * k.z - s * k.x),
            Vector3(t * k.x * k.z - s * k.y, t * k.y * k.z + s * k.x, t * k.z * k.z + c))
    }
}
