import SpinePlanGeometry

/// An orthonormal anatomical frame: lateral (patient left), anterior and superior axes at an origin.
struct LocalFrame: Sendable {
    var origin: Vector3
    var lateral: Vector3
    var anterior: Vector3
    var superior: Vector3

    /// (lateral, anterior, superior) coordinates of a point.
    @inline(__always) func local(_ p: Vector3) -> Vector3 {
        let d = p - origin
        return Vector3(d.dot(lateral), d.dot(anterior), d.dot(superior))
    }

    @inline(__always) func world(_ l: Vector3) -> Vector3 {
        origin + lateral * l.x + anterior * l.y + superior * l.z
    }

    func translated(by d: Vector3) -> LocalFrame {
        LocalFrame(origin: origin + d, lateral: lateral, anterior: anterior, superior: superior)
    }
}

/// A plane given by a point and a normal; "above" means on the normal's side.
struct OrientedPlane: Sendable {
    var point: Vector3
    var normal: Vector3

    @inline(__always) func signedDistance(_ p: Vector3) -> Double { (p - point).dot(normal) }
}
