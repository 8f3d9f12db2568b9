import CZlib

/// The one place the scanner calls zlib: whole-file reads of gzip (or plain) files.
enum GzipFile {
    /// The decompressed bytes; gzread passes uncompressed files through unchanged.
    static func read(_ path: String) throws(ScannerError) -> [UInt8] {
        guard let file = gzopen(path, "rb") else {
            throw ScannerError(.volumeUnreadable, "cannot open \(path)")
        }
        defer { gzclose(file) }
        gzbuffer(file, 1 << 20)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if n < 0 { throw ScannerError(.volumeUnreadable, "\(path) is not a valid gzip stream") }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<Int(n)])
        }
        return bytes
    }
}
