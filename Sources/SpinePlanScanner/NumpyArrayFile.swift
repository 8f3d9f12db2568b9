#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Writes .npy files (format version 1.0, C order, little-endian) that `numpy.load` reads directly.
enum NumpyArrayFile {
    static func write(_ values: [Float], shape: [Int], to path: String) throws(ScannerError) {
        try write(values, descr: "<f4", shape: shape, to: path)
    }

    static func write(_ values: [UInt8], shape: [Int], to path: String) throws(ScannerError) {
        try write(values, descr: "|u1", shape: shape, to: path)
    }

    /// The 10-byte preamble plus the dictionary, padded with spaces so the data starts on a 64-byte boundary.
    static func header(descr: String, shape: [Int]) -> [UInt8] {
        let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = UInt16(dict.utf8.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(dict.utf8)
    }

    private static func write<T>(_ values: [T], descr: String, shape: [Int], to path: String) throws(ScannerError) {
        precondition(shape.reduce(1, *) == values.count, "shape does not match the value count")
        guard let file = fopen(path, "wb") else { throw ScannerError(.writeFailed, "cannot create \(path)") }
        defer { fclose(file) }
        let head = header(descr: descr, shape: shape)
        let ok = head.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) == $0.count }
            && values.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) == $0.count }
        guard ok else { throw ScannerError(.writeFailed, "short write to \(path)") }
    }
}
