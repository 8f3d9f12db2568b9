/// The sampling lattice of a volume: its size and the affine from voxel index (i, j, k) to LPS millimetres.
///
/// Voxels are stored with i varying fastest, so a C-order array of shape (k, j, i) matches the storage.
public struct VoxelGrid: Sendable, Equatable {
    public var size: SIMD3<Int>
    /// LPS position of the centre of voxel (0, 0, 0).
    public var origin: Vector3
    /// Columns are the LPS displacement of one step in i, j and k.
    public var axes: Matrix3
    /// Cached so that sampling does not invert a matrix per point.
    public private(set) var inverseAxes: Matrix3

    /// Fails (returns nil) for a singular axes matrix or an empty size.
    public init?(size: SIMD3<Int>, origin: Vector3, axes: Matrix3) {
        guard size.x > 0, size.y > 0, size.z > 0, let inverse = axes.inverse else { return nil }
        self.size = size
        self.origin = origin
        self.axes = axes
        self.inverseAxes = inverse
    }

    public var voxelCount: Int { size.x * size.y * size.z }

    /// Offset of voxel (i, j, k) in i-fastest storage.
    @inlinable public func linearIndex(_ i: Int, _ j: Int, _ k: Int) -> Int { i + size.x * (j + size.y * k) }

    /// LPS position of a (possibly fractional) voxel index.
    public func point(atIndex index: Vector3) -> Vector3 { origin + axes * index }

    /// Continuous voxel index of an LPS position.
    public func index(of point: Vector3) -> Vector3 { inverseAxes * (point - origin) }

    /// True when a continuous index lies within the outermost voxel centres.
    public func contains(index: Vector3) -> Bool {
        index.x >= 0 && index.y >= 0 && index.z >= 0
            && index.x <= Double(size.x - 1) && index.y <= Double(size.y - 1) && index.z <= Double(size.z - 1)
    }

    /// The same lattice after the rigid motion p -> rotation * p + translation.
    public func moved(rotation: Matrix3, translation: Vector3) -> VoxelGrid {
        VoxelGrid(size: size, origin: rotation * origin + translation, axes: rotation * axes)!
    }

    /// Row-major 4×4 homogeneous matrix mapping (i, j, k, 1) to LPS.
    public var affineRows: [[Double]] {
        (0..<3).map { r in [axes.c0[r], axes.c1[r], axes.c2[r], origin[r]] } + [[0, 0, 0, 1]]
    }

    /// LPS centre of the volume.
    public var centre: Vector3 {
        point(atIndex: Vector3(Double(size.x - 1), Double(size.y - 1), Double(size.z - 1)) / 2)
    }
}
