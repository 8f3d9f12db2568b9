import Testing
@testable import SpinePlanGeometry

@Test(arguments: [(Vector3(1, 0, 0), 30.0), (Vector3(0.3, -1, 2), -75.0), (Vector3(1, 1, 1), 180.0)])
func rotationIsOrthonormalAndInvertible(axis: Vector3, degrees: Double) throws {
    let r = Matrix3.rotation(axis: axis, degrees: degrees)
    #expect(abs(r.determinant - 1) < 1e-12)
    let inverse = try #require(r.inverse)
    let product = inverse * r
    for (column, unit) in [(product.c0, Vector3(1, 0, 0)), (product.c1, Vector3(0, 1, 0)), (product.c2, Vector3(0, 0, 1))] {
        #expect((column - unit).length < 1e-12)
    }
    // The axis is fixed and the angle between a perpendicular vector and its image is the rotation angle.
    #expect((r * axis - axis).length < 1e-12)
    let perpendicular = axis.cross(Vector3(0.2, 0.7, -0.4)).normalized
    #expect(abs(perpendicular.angleDegrees(to: r * perpendicular) - abs(degrees)) < 1e-9)
}

@Test func singularMatrixHasNoInverse() {
    let m = Matrix3(columns: Vector3(1, 2, 3), Vector3(2, 4, 6), Vector3(0, 1, 0))
    #expect(m.inverse == nil)
}

@Test func voxelGridRoundTripsPoints() throws {
    let axes = Matrix3.rotation(axis: Vector3(1, 2, 3), degrees: 17) * Matrix3(columns: Vector3(0.8, 0, 0), Vector3(0, 1.2, 0), Vector3(0, 0, 2))
    let grid = try #require(VoxelGrid(size: SIMD3(10, 20, 30), origin: Vector3(-5, 12, 100), axes: axes))
    for index in [Vector3(0, 0, 0), Vector3(9, 19, 29), Vector3(3.25, 7.5, 11.125)] {
        #expect((grid.index(of: grid.point(atIndex: index)) - index).length < 1e-9)
        #expect(grid.contains(index: index))
    }
    #expect(!grid.contains(index: Vector3(-0.5, 0, 0)))
    let moved = grid.moved(rotation: Matrix3.rotation(axis: Vector3(0, 0, 1), degrees: 90), translation: Vector3(1, 2, 3))
    let p = grid.point(atIndex: Vector3(4, 5, 6))
    let expected = Matrix3.rotation(axis: Vector3(0, 0, 1), degrees: 90) * p + Vector3(1, 2, 3)
    #expect((moved.point(atIndex: Vector3(4, 5, 6)) - expected).length < 1e-9)
    #expect(grid.affineRows[3] == [0, 0, 0, 1])
    #expect(VoxelGrid(size: SIMD3(1, 1, 1), origin: .zero, axes: Matrix3(columns: .zero, .zero, .zero)) == nil)
}

@Test func pointMomentsFindTheThinnestDirectionOfATiltedSlab() {
    // A 40 × 40 × 6 slab, tilted: its smallest principal axis must be the slab normal.
    let tilt = Matrix3.rotation(axis: Vector3(1, 0.4, 0), degrees: 23)
    var moments = PointMoments()
    var sum = Vector3.zero, n = 0.0
    for x in stride(from: -20.0, through: 20, by: 1) {
        for y in stride(from: -20.0, through: 20, by: 1) {
            for z in stride(from: -3.0, through: 3, by: 1) {
                let p = tilt * Vector3(x, y, z) + Vector3(100, -50, 300)
                moments.add(p)
                sum += p
                n += 1
            }
        }
    }
    #expect((moments.mean - sum / n).length < 1e-9)
    let axes = moments.principalAxes
    #expect(axes[0].variance < axes[1].variance && axes[1].variance <= axes[2].variance + 1e-9)
    let normal = tilt * Vector3(0, 0, 1)
    #expect(abs(abs(axes[0].axis.dot(normal)) - 1) < 1e-9)
    #expect(abs(axes[0].variance - 4) < 1e-6) // variance of -3...3 in unit steps
}
