import Foundation
import Testing
import SpinePlanGeometry
@testable import SpinePlanScanner

@Suite struct ReaderTests {
    @Test func niftiSformBecomesAnLPSGrid() throws {
        let size = SIMD3(4, 3, 2)
        let voxels = (0..<24).map { UInt8($0 * 3) }
        // RAS x = -k, y = -j + 5, z = -2i: LPS x = k, y = j - 5, z = -2i.
        let srow: [[Float]] = [[0, 0, -1, 0], [0, -1, 0, 5], [-2, 0, 0, 0]]
        let volume = try NIfTIReader.parse(ScannerFixtures.niftiBytes(size: size, srow: srow, voxels: voxels), name: "t")
        #expect(volume.grid.size == size)
        #expect(volume.voxels == voxels)
        #expect(volume[3, 2, 1] == voxels[3 + 4 * (2 + 3 * 1)])
        let p = volume.grid.point(atIndex: Vector3(3, 2, 1))
        #expect((p - Vector3(1, 2 - 5, -6)).length < 1e-6)
    }

    @Test func niftiRejectsWhatItCannotRead() {
        let good = ScannerFixtures.niftiBytes(size: SIMD3(2, 2, 2), srow: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]],
                                              voxels: [UInt8](repeating: 1, count: 8))
        var float = ScannerFixtures.niftiBytes(size: SIMD3(2, 2, 2), srow: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]],
                                               voxels: [UInt8](repeating: 1, count: 8), datatype: 16)
        float[72] = 32
        for bytes in [Array(good.prefix(300)), Array(good.prefix(355)), float, [UInt8](repeating: 7, count: 400)] {
            #expect(throws: ScannerError.self) { try NIfTIReader.parse(bytes, name: "bad") }
        }
    }

    @Test func gzipFilesAndPlainFilesReadTheSame() throws {
        let dir = ScannerFixtures.temporaryDirectory("gz")
        let plain = (dir as NSString).appendingPathComponent("v.nii")
        let bytes = ScannerFixtures.niftiBytes(size: SIMD3(3, 3, 3), srow: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]],
                                               voxels: (0..<27).map { UInt8($0) })
        ScannerFixtures.write(bytes, to: plain)
        #expect(try GzipFile.read(plain) == bytes)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-k", plain]
        try gzip.run()
        gzip.waitUntilExit()
        try #require(gzip.terminationStatus == 0, "gzip -k failed")
        #expect(try GzipFile.read(plain + ".gz") == bytes)
        #expect(try NIfTIReader.read(plain + ".gz").voxels == (0..<27).map { UInt8($0) })
    }

    @Test func npyHeaderIsAlignedAndDescribesTheArray() throws {
        for shape in [[3], [2, 3, 4], [490, 312, 389]] {
            let header = NumpyArrayFile.header(descr: "<f4", shape: shape)
            #expect(header.count % 64 == 0)
            #expect(Array(header.prefix(6)) == [0x93] + Array("NUMPY".utf8))
            #expect(Int(header[8]) | Int(header[9]) << 8 == header.count - 10)
            let text = String(decoding: header.dropFirst(10), as: UTF8.self)
            #expect(text.hasSuffix("\n"))
            let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
            #expect(text.contains("'shape': \(dims)"))
        }
        let dir = ScannerFixtures.temporaryDirectory("npy")
        let path = (dir as NSString).appendingPathComponent("a.npy")
        try NumpyArrayFile.write([Float](repeating: 1.5, count: 6), shape: [2, 3], to: path)
        let data = try #require(FileManager.default.contents(atPath: path))
        #expect(data.count == NumpyArrayFile.header(descr: "<f4", shape: [2, 3]).count + 24)
        #expect(data.suffix(4).elementsEqual(withUnsafeBytes(of: Float(1.5).bitPattern.littleEndian) { Array($0) }))
    }

    @Test func caseNamesComeFromVolumeFileNames() {
        #expect(ReferenceSet.caseName(forVolume: "/x/y/vb3-01_image.nii.gz") == "vb3-01")
        #expect(ReferenceSet.caseName(forVolume: "vb2-17_labels.nii") == "vb2-17")
        #expect(ReferenceSet.caseName(forVolume: "plain.nii.gz") == "plain")
    }
}
