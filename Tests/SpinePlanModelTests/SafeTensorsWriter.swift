import Foundation

/// Writes safetensors files for the corruption tests: tensors in the given order, F32 or F64, little-endian.
struct SafeTensorsWriter {
    struct Tensor {
        var name: String
        var shape: [Int]
        var values: [Float]
        var dtype = "F32"
    }

    var tensors: [Tensor] = []

    func bytes() -> Data {
        var header: [String: Any] = [:]
        var body = Data()
        for tensor in tensors {
            let start = body.count
            if tensor.dtype == "F64" {
                for v in tensor.values { withUnsafeBytes(of: Double(v).bitPattern.littleEndian) { body.append(contentsOf: $0) } }
            } else {
                for v in tensor.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
            }
            header[tensor.name] = ["dtype": tensor.dtype, "shape": tensor.shape, "data_offsets": [start, body.count]]
        }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        return out + json + body
    }
}
