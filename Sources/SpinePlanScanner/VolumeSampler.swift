import SpinePlanGeometry

/// Reads signal out of a byte volume at LPS points: bytes map to signal through a 256-entry table.
///
/// The table is the contrast table for a phantom's tissue classes, a plain scale for a real image,
/// and the identity for a label map.
struct VolumeSampler: Sendable {
    let volume: Volume<UInt8>
    let lookup: [Float]
    let metal: [MetalSegment]

    init(volume: Volume<UInt8>, lookup: [Float], metal: [MetalSegment] = []) {
        precondition(lookup.count == 256)
        self.volume = volume
        self.lookup = lookup
        self.metal = metal
    }

    /// Runs `body` with an unchecked view of the volume for the innermost loops.
    func withRaw<R>(_ body: (RawView) -> R) -> R {
        volume.voxels.withUnsafeBufferPointer { voxels in
            lookup.withUnsafeBufferPointer { table in
                body(RawView(voxels: voxels, table: table, size: volume.grid.size, origin: volume.grid.origin,
                             inverse: volume.grid.inverseAxes))
            }
        }
    }

    /// An unchecked view of a sampler's storage.
    struct RawView {
        let voxels: UnsafeBufferPointer<UInt8>
        let table: UnsafeBufferPointer<Float>
        let size: SIMD3<Int>
        let origin: Vector3
        let inverse: Matrix3

        /// Trilinear interpolation of table values; outside the grid the signal is zero.
        @inline(__always) func trilinear(_ p: Vector3) -> Float {
            let x = inverse * (p - origin)
            let f = x.rounded(.down)
            let i = Int(f.x), j = Int(f.y), k = Int(f.z)
            guard i >= -1, j >= -1, k >= -1, i < size.x, j < size.y, k < size.z else { return 0 }
            let w = x - f
            let wx = Float(w.x), wy = Float(w.y), wz = Float(w.z)
            if i >= 0, j >= 0, k >= 0, i + 1 < size.x, j + 1 < size.y, k + 1 < size.z {
                let sy = size.x, sz = size.x * size.y
                let o = i + sy * j + sz * k
                let c000 = table[Int(voxels[o])], c100 = table[Int(voxels[o + 1])]
                let c010 = table[Int(voxels[o + sy])], c110 = table[Int(voxels[o + sy + 1])]
                let c001 = table[Int(voxels[o + sz])], c101 = table[Int(voxels[o + sz + 1])]
                let c011 = table[Int(voxels[o + sy + sz])], c111 = table[Int(voxels[o + sy + sz + 1])]
                let c00 = c000 + (c100 - c000) * wx, c10 = c010 + (c110 - c010) * wx
                let c01 = c001 + (c101 - c001) * wx, c11 = c011 + (c111 - c011) * wx
                let c0 = c00 + (c10 - c00) * wy, c1 = c01 + (c11 - c01) * wy
                return c0 + (c1 - c0) * wz
            }
            // Border cells: neighbours outside the grid contribute zero signal.
            var sum: Float = 0
            for dk in 0...1 {
                for dj in 0...1 {
                    for di in 0...1 {
                        let ii = i + di, jj = j + dj, kk = k + dk
                        guard ii >= 0, jj >= 0, kk >= 0, ii < size.x, jj < size.y, kk < size.z else { continue }
                        let weight = (di == 1 ? wx : 1 - wx) * (dj == 1 ? wy : 1 - wy) * (dk == 1 ? wz : 1 - wz)
                        sum += weight * table[Int(voxels[ii + size.x * (jj + size.y * kk)])]
                    }
                }
            }
            return sum
        }

        /// The table value of the nearest voxel; zero outside the grid.
        @inline(__always) func nearest(_ p: Vector3) -> Float {
            let x = (inverse * (p - origin)).rounded(.toNearestOrAwayFromZero)
            let i = Int(x.x), j = Int(x.y), k = Int(x.z)
            guard i >= 0, j >= 0, k >= 0, i < size.x, j < size.y, k < size.z else { return 0 }
            return table[Int(voxels[i + size.x * (j + size.y * k)])]
        }
    }

    /// Where the scanner actually reads the signal for a point near metal: the susceptibility field
    /// shifts it along the readout direction; nil inside the dephased void around the metal.
    @inline(__always) func distorted(_ p: Vector3, readout: Vector3) -> Vector3? {
        guard !metal.isEmpty else { return p }
        var shift = 0.0
        for segment in metal {
            let d = segment.end - segment.start
            let t = max(0, min(1, (p - segment.start).dot(d) / max(d.dot(d), 1e-9)))
            let r = p - (segment.start + d * t)
            let distance = r.length
            if distance < 2.2 * segment.radius { return nil }
            // A dipole-like field from the implant, B0 along the bore (LPS z).
            let cosine = distance > 0 ? r.z / distance : 0
            let reach = 2.6 * segment.radius / distance
            shift += 7 * reach * reach * reach * (3 * cosine * cosine - 1) / 2
        }
        return p + readout * max(-15, min(15, shift))
    }
}
