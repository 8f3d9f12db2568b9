import Foundation

/// A safetensors file read whole: an 8-byte little-endian header length, a JSON header, then raw tensor bytes.
public struct SafeTensorsFile: Sendable {
    /// One tensor's header entry.
    public struct Entry: Sendable, Equatable {
        public var dtype: String
        public var shape: [Int]
        /// Byte range inside the data section.
        public var range: Range<Int>
    }

    public var path: String
    public var entries: [String: Entry]
    /// The data section (everything after the header).
    let data: Data

    /// Reads and checks the header: every entry's byte range must fit the file and match its dtype and shape.
    public init(path: String) throws(ModelError) {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw ModelError(.missingFile, "weights file \(path) does not exist")
        }
        let bytes: Data
        do { bytes = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe) } catch {
            throw ModelError(.missingFile, "weights file \(path) cannot be read: \(error.localizedDescription)")
        }
        guard bytes.count >= 8 else {
            throw ModelError(.truncatedFile, "weights file \(path) ends at byte \(bytes.count), before its 8-byte header length")
        }
        let headerLength = bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw ModelError(.truncatedFile, "weights file \(path) ends at byte \(bytes.count), inside its \(headerLength)-byte header")
        }
        let headerEnd = 8 + Int(headerLength)
        let json: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<headerEnd)) as? [String: Any] else {
                throw ModelError(.malformedHeader, "weights file \(path): header is not a JSON object")
            }
            json = object
        } catch let error as ModelError {
            throw error
        } catch {
            throw ModelError(.malformedHeader, "weights file \(path): header is not valid JSON")
        }
        data = bytes.subdata(in: headerEnd..<bytes.count)
        var entries: [String: Entry] = [:]
        for (name, value) in json where name != "__metadata__" {
            guard let fields = value as? [String: Any], let dtype = fields["dtype"] as? String,
                  let shape = (fields["shape"] as? [NSNumber])?.map(\.intValue),
                  let offsets = (fields["data_offsets"] as? [NSNumber])?.map(\.intValue), offsets.count == 2,
                  offsets[0] >= 0, offsets[1] >= offsets[0], shape.allSatisfy({ $0 >= 0 }) else {
                throw ModelError(.malformedHeader, "weights file \(path): header entry for tensor \(name) is malformed")
            }
            guard offsets[1] <= data.count else {
                throw ModelError(.truncatedFile,
                                 "weights file \(path) is truncated: tensor \(name) needs data up to byte \(offsets[1]) but the data section has \(data.count)")
            }
            if let width = Self.byteWidth[dtype], shape.reduce(1, *) * width != offsets[1] - offsets[0] {
                throw ModelError(.malformedHeader,
                                 "weights file \(path): tensor \(name) has \(offsets[1] - offsets[0]) bytes, not the \(shape.reduce(1, *) * width) its \(dtype) shape \(shape) needs")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        self.entries = entries
    }

    static let byteWidth = ["F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1]

    /// The tensor's values; it must be F32 (little-endian, as the format specifies).
    public func floats(_ name: String) throws(ModelError) -> [Float] {
        guard let entry = entries[name] else { throw ModelError(.mismatchedTensor, "weights file \(path) has no tensor \(name)") }
        guard entry.dtype == "F32" else {
            throw ModelError(.mismatchedTensor, "weights file \(path): tensor \(name) is \(entry.dtype), expected F32")
        }
        let count = entry.range.count / 4
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialised in
            data.withUnsafeBytes { raw in
                let base = raw.baseAddress!.advanced(by: entry.range.lowerBound)
                for i in 0..<count { buffer[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            }
            initialised = count
        }
    }
}
