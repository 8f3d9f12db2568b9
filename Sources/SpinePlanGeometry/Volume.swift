/// A scalar volume on a voxel grid, stored with i varying fastest.
public struct Volume<Voxel: Sendable>: Sendable {
    public var grid: VoxelGrid
    public var voxels: [Voxel]

    public init(grid: VoxelGrid, repeating value: Voxel) {
        self.grid = grid
        self.voxels = Array(repeating: value, count: grid.voxelCount)
    }

    /// `voxels.count` must equal `grid.voxelCount`.
    public init(grid: VoxelGrid, voxels: [Voxel]) {
        precondition(voxels.count == grid.voxelCount, "voxel count does not match the grid")
        self.grid = grid
        self.voxels = voxels
    }

    public subscript(i: Int, j: Int, k: Int) -> Voxel {
        get { voxels[grid.linearIndex(i, j, k)] }
        set { voxels[grid.linearIndex(i, j, k)] = newValue }
    }
}

extension Volume: Equatable where Voxel: Equatable {}
