import SpinePlanGeometry

/// Reads NIfTI-1 volumes (.nii or .nii.gz) of unsigned 8-bit voxels, with their affine in LPS.
enum NIfTIReader {
    static func read(_ path: String) throws(ScannerError) -> Volume<UInt8> {
        try parse(GzipFile.read(path), name: path)
    }

    static func parse(_ bytes: [UInt8], name: String) throws(ScannerError) -> Volume<UInt8> {
        func fail(_ why: String) -> ScannerError { ScannerError(.volumeUnreadable, "\(name): \(why)") }
        guard bytes.count >= 352 else { throw fail("too short for a NIfTI-1 header") }
        func int16(_ o: Int) -> Int { Int(Int16(bitPattern: UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8)) }
        func int32(_ o: Int) -> Int {
            Int(Int32(bitPattern: UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24))
        }
        func float(_ o: Int) -> Double {
            Double(Float(bitPattern: UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24))
        }
        guard int32(0) == 348 else { throw fail("not a little-endian NIfTI-1 header") }
        guard bytes[344] == 0x6E, bytes[345] == 0x2B || bytes[345] == 0x69, bytes[346] == 0x31 else {
            throw fail("missing the NIfTI-1 magic")
        }
        let rank = int16(40)
        guard rank >= 3 else { throw fail("needs at least 3 dimensions, has \(rank)") }
        let size = SIMD3(int16(42), int16(44), int16(46))
        if rank > 3 {
            for d in 4...min(rank, 7) where int16(40 + 2 * d) > 1 { throw fail("only single 3D volumes are supported") }
        }
        guard int16(70) == 2, int16(72) == 8 else { throw fail("only uint8 voxels are supported (datatype \(int16(70)))") }
        let offset = Int(float(108))
        let count = size.x * size.y * size.z
        guard size.x > 0, size.y > 0, size.z > 0, offset >= 348, bytes.count >= offset + count else {
            throw fail("voxel data is truncated")
        }
        // NIfTI's world space is RAS; LPS negates the first two axes.
        let ras: (Matrix3, Vector3)
        if int16(254) > 0 {
            let r0 = Vector3(float(280), float(284), float(288)), r1 = Vector3(float(296), float(300), float(304))
            let r2 = Vector3(float(312), float(316), float(320))
            ras = (Matrix3(rows: r0, r1, r2), Vector3(float(292), float(308), float(324)))
        } else if int16(252) > 0 {
            let b = float(256), c = float(260), d = float(264)
            let a = max(0, 1 - (b * b + c * c + d * d)).squareRoot()
            let rotation = Matrix3(rows:
                Vector3(a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)),
                Vector3(2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)),
                Vector3(2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - b * b - c * c))
            let qfac = float(76) < 0 ? -1.0 : 1.0
            let scale = Matrix3(columns: Vector3(float(80), 0, 0), Vector3(0, float(84), 0), Vector3(0, 0, float(88) * qfac))
            ras = (rotation * scale, Vector3(float(268), float(272), float(276)))
        } else {
            ras = (Matrix3(columns: Vector3(float(80), 0, 0), Vector3(0, float(84), 0), Vector3(0, 0, float(88))), .zero)
        }
        let flip = Matrix3(columns: Vector3(-1, 0, 0), Vector3(0, -1, 0), Vector3(0, 0, 1))
        guard let grid = VoxelGrid(size: size, origin: flip * ras.1, axes: flip * ras.0) else {
            throw fail("the voxel-to-world affine is singular")
        }
        return Volume(grid: grid, voxels: Array(bytes[offset..<(offset + count)]))
    }
}
