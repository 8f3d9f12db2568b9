/// Running first and second moments of a point cloud: its centroid and principal axes.
public struct PointMoments: Sendable {
    public private(set) var count = 0
    // Accumulating relative to the first point keeps the covariance accurate far from the origin.
    private var reference = Vector3.zero
    private var sum = Vector3.zero
    private var sumXX = 0.0, sumYY = 0.0, sumZZ = 0.0, sumXY = 0.0, sumXZ = 0.0, sumYZ = 0.0

    public init() {}

    public mutating func add(_ p: Vector3) {
        if count == 0 { reference = p }
        let d = p - reference
        count += 1
        sum += d
        sumXX += d.x * d.x; sumYY += d.y * d.y; sumZZ += d.z * d.z
        sumXY += d.x * d.y; sumXZ += d.x * d.z; sumYZ += d.y * d.z
    }

    /// Centroid; zero for an empty cloud.
    public var mean: Vector3 { count == 0 ? .zero : reference + sum / Double(count) }

    /// Population covariance.
    public var covariance: Matrix3 {
        guard count > 0 else { return Matrix3(columns: .zero, .zero, .zero) }
        let n = Double(count), m = sum / n
        let xx = sumXX / n - m.x * m.x, yy = sumYY / n - m.y * m.y, zz = sumZZ / n - m.z * m.z
        let xy = sumXY / n - m.x * m.y, xz = sumXZ / n - m.x * m.z, yz = sumYZ / n - m.y * m.z
        return Matrix3(rows: Vector3(xx, xy, xz), Vector3(xy, yy, yz), Vector3(xz, yz, zz))
    }

    /// Eigenvalues and unit eigenvectors of the covariance, smallest eigenvalue first.
    public var principalAxes: [(variance: Double, axis: Vector3)] { covariance.symmetricEigen() }
}

extension Matrix3 {
    /// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations, smallest eigenvalue first.
    public func symmetricEigen() -> [(variance: Double, axis: Vector3)] {
        var a = [[c0.x, c1.x, c2.x], [c0.y, c1.y, c2.y], [c0.z, c1.z, c2.z]]
        var v: [[Double]] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
        for _ in 0..<50 {
            let off = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2]
            if off < 1e-22 { break }
            for (p, q) in [(0, 1), (0, 2), (1, 2)] where abs(a[p][q]) > 1e-300 {
                let theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for k in 0..<3 {
                    let akp = a[k][p], akq = a[k][q]
                    a[k][p] = c * akp - s * akq
                    a[k][q] = s * akp + c * akq
                }
                for k in 0..<3 {
                    let apk = a[p][k], aqk = a[q][k]
                    a[p][k] = c * apk - s * aqk
                    a[q][k] = s * apk + c * aqk
                }
                for k in 0..<3 {
                    let vkp = v[k][p], vkq = v[k][q]
                    v[k][p] = c * vkp - s * vkq
                    v[k][q] = s * vkp + c * vkq
                }
            }
        }
        return (0..<3).map { i in (a[i][i], Vector3(v[0][i], v[1][i], v[2][i]).normalized) }
            .sorted { $0.variance < $1.variance }
    }
}
