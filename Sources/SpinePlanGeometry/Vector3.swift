/// A point or direction in DICOM patient coordinates (LPS, millimetres).
public typealias Vector3 = SIMD3<Double>

extension SIMD3 where Scalar == Double {
    /// Dot product.
    @inlinable public func dot(_ other: Self) -> Double { (self * other).sum() }

    /// Right-handed cross product.
    @inlinable public func cross(_ o: Self) -> Self {
        Self(y * o.z - z * o.y, z * o.x - x * o.z, x * o.y - y * o.x)
    }

    /// Euclidean length.
    @inlinable public var length: Double { dot(self).squareRoot() }

    /// Unit vector in the same direction; the zero vector stays zero.
    @inlinable public var normalized: Self {
        let l = length
        return l > 0 ? self / l : self
    }

    /// Angle in degrees between two directions.
    @inlinable public func angleDegrees(to other: Self) -> Double {
        let c = normalized.dot(other.normalized)
        return (Swift.min(1, Swift.max(-1, c))).acosDegrees
    }
}

extension Double {
    @usableFromInline var acosDegrees: Double {
        // Foundation-free acos through atan2 keeps this module dependency-free.
        let s = (1 - self * self).squareRoot()
        return _atan2(s, self) * 180 / .pi
    }
}

@usableFromInline func _atan2(_ y: Double, _ x: Double) -> Double {
    #if canImport(Glibc)
    return Glibc.atan2(y, x)
    #else
    return Darwin.atan2(y, x)
    #endif
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
