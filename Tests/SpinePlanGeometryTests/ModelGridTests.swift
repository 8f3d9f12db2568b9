import Testing
@testable import SpinePlanGeometry

@Suite struct ModelGridTests {
    func sagittalStack(count: Int, spacing: Double, x0: Double) -> [ImagePlane] {
        (0..<count).map { k in
            ImagePlane(position: Vector3(x0 + Double(k) * spacing, -100, 100), rowDirection: Vector3(0, 1, 0),
                       columnDirection: Vector3(0, 0, -1), pixelSpacing: SIMD2(1, 1), rows: 200, columns: 200)
        }
    }

    @Test("every slice of a regular stack lands on an integer depth, odd and even counts", arguments: [7, 8, 1, 15])
    func slicesOnIntegerDepths(count: Int) throws {
        let planes = sagittalStack(count: count, spacing: 4.4, x0: -13.2)
        let grid = try #require(ModelGrid().place(planes))
        for plane in planes {
            let centre = plane.point(column: 99.5, row: 99.5)
            let index = grid.index(of: centre)
            #expect(abs(index.z - index.z.rounded()) < 1e-9, "slice at depth \(index.z)")
            #expect(abs(index.x - 63.5) < 1e-9 && abs(index.y - 63.5) < 1e-9)
        }
    }

    @Test("through-plane sampling copies a slice exactly and interpolates nothing between neighbours")
    func copiesSlices() throws {
        let planes = sagittalStack(count: 3, spacing: 5, x0: 0)
        let slices = planes.enumerated().map { k, p in (plane: p, pixels: [Float](repeating: Float(k + 1), count: 200 * 200)) }
        let model = ModelGrid(shape: SIMD3(32, 32, 8), inPlaneSpacing: 2.5)
        let grid = try #require(model.place(planes))
        let values = model.resample(slices, onto: grid, interpolation: .linear)
        let depths = (0..<8).map { values[grid.linearIndex(16, 16, $0)] }
        // Depth runs along row × column = -x here, so the slice at the largest x comes first.
        #expect(depths == [0, 0, 0, 3, 2, 1, 0, 0])
    }

    @Test("normalisation divides by the 99.5th percentile of positive values and clips")
    func normalises() throws {
        let values = (0...1000).map(Float.init)
        let normalised = try #require(ModelGrid.normalise(values))
        #expect(normalised[995] == 1)
        #expect(normalised[1000] > 1 && normalised[1000] < 1.01)
        #expect(ModelGrid.normalise([0, 0, -1]) == nil)
    }
}
