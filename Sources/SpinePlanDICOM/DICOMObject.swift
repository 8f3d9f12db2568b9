import CDCMTK
import Foundation

/// A DICOM object held by DCMTK: owns the C handle, frees it once, and lets one thread at a time touch it.
public final class DICOMObject: Sendable {
    /// DCMTK's datasets are not thread-safe; every call into one, through the object or its items, holds this lock.
    /// (NSLock, not Mutex: Mutex's `sending` results do not fit C calls that return pointers into the dataset.)
    private let lock = NSLock()
    private let dataset: Address

    /// The dataset's address: immutable, and only dereferenced under `lock`.
    private struct Address: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    init(adopting handle: OpaquePointer) {
        dataset = Address(pointer: handle)
    }

    deinit { spdcm_dataset_free(dataset.pointer) }

    /// Runs `body` with the C handle, under the object's lock.
    func withHandle<T, E: Error>(_ body: (OpaquePointer) throws(E) -> T) throws(E) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(dataset.pointer)
    }

    /// Runs `body` with the C handles of all `objects`, each under its lock, in order.
    static func withHandles<T>(_ objects: ArraySlice<DICOMObject>, _ taken: [OpaquePointer] = [],
                               _ body: ([OpaquePointer]) -> T) -> T {
        guard let first = objects.first else { return body(taken) }
        return first.withHandle { h in withHandles(objects.dropFirst(), taken + [h], body) }
    }

    /// A new, empty object.
    public convenience init() throws(DICOMError) {
        var error = spdcm_error()
        guard let h = spdcm_dataset_create(&error) else { throw DICOMError(error) }
        self.init(adopting: h)
    }

    /// Reads a Part 10 file.
    public convenience init(contentsOfFile path: String) throws(DICOMError) {
        var error = spdcm_error()
        guard let h = spdcm_dataset_read_file(path, &error) else { throw DICOMError(error) }
        self.init(adopting: h)
    }

    /// Parses a dataset byte stream (no meta header) encoded in a little endian transfer syntax.
    public convenience init(datasetBytes: [UInt8], transferSyntax: String) throws(DICOMError) {
        var error = spdcm_error()
        let h = datasetBytes.withUnsafeBufferPointer { buf in
            spdcm_dataset_parse(buf.baseAddress ?? UnsafePointer(bitPattern: 1)!, buf.count, transferSyntax, &error)
        }
        guard let h else { throw DICOMError(error) }
        self.init(adopting: h)
    }

    /// The top-level dataset.
    public var root: DICOMItem { DICOMItem(pointer: withHandle { spdcm_dataset_root($0) }, owner: self) }

    /// Writes a Part 10 file (Explicit VR Little Endian).
    public func write(toFile path: String) throws(DICOMError) {
        var error = spdcm_error()
        guard withHandle({ spdcm_dataset_save_file($0, path, &error) }) else { throw DICOMError(error) }
    }

    /// The dataset encoded without a meta header.
    public func encoded(transferSyntax: String = TransferSyntax.explicitVRLittleEndian) throws(DICOMError) -> [UInt8] {
        var error = spdcm_error()
        var bytes: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard withHandle({ spdcm_dataset_encode($0, transferSyntax, &bytes, &length, &error) }), let bytes else {
            throw DICOMError(error)
        }
        defer { spdcm_free(bytes) }
        return Array(UnsafeBufferPointer(start: bytes, count: length))
    }
}

/// A dataset or sequence item inside a `DICOMObject`; it keeps its owner alive and calls in under its lock.
public struct DICOMItem {
    let pointer: OpaquePointer
    let owner: DICOMObject

    private func locked<T, E: Error>(_ body: (OpaquePointer) throws(E) -> T) throws(E) -> T {
        try owner.withHandle { (_: OpaquePointer) throws(E) -> T in try body(pointer) }
    }

    /// The whole value as text (multiple values joined by backslash), or nil when absent.
    public func string(_ tag: Tag) -> String? {
        guard let c = locked({ spdcm_item_get_string($0, tag.group, tag.element) }) else { return nil }
        defer { spdcm_free(c) }
        return String(cString: c)
    }

    /// The value with DICOM padding removed; nil when absent or empty.
    public func trimmed(_ tag: Tag) -> String? {
        guard let s = string(tag) else { return nil }
        let t = s.trimmingDICOMPadding
        return t.isEmpty ? nil : t
    }

    /// Backslash-separated values parsed as numbers; nil when absent or any value is not a number.
    public func doubles(_ tag: Tag) -> [Double]? {
        guard let s = trimmed(tag) else { return nil }
        var out: [Double] = []
        for part in s.split(separator: "\\", omittingEmptySubsequences: false) {
            guard let v = Double(String(part).trimmingDICOMPadding) else { return nil }
            out.append(v)
        }
        return out
    }

    public func int(_ tag: Tag) -> Int? {
        guard let s = trimmed(tag) else { return nil }
        if let i = Int(s) { return i }
        // Int(exactly:), not Int(_:): an IS of "1e999" or "9e99" parses as a Double that Int(_:) traps on, and one
        // such Instance Number from a peer would trap on its association thread and end the whole daemon.
        if let d = Double(s), let i = Int(exactly: d) { return i }
        return nil
    }

    public func contains(_ tag: Tag) -> Bool { locked { spdcm_item_has($0, tag.group, tag.element) } }

    /// Raw value bytes in host byte order, copied out.
    public func bytes(_ tag: Tag) -> [UInt8]? {
        locked { p -> [UInt8]? in
            var ptr: UnsafePointer<UInt8>?
            var length = 0
            guard spdcm_item_get_bytes(p, tag.group, tag.element, &ptr, &length), let ptr else { return nil }
            return Array(UnsafeBufferPointer(start: ptr, count: length))
        }
    }

    public func sequenceCount(_ tag: Tag) -> Int { locked { spdcm_item_sequence_count($0, tag.group, tag.element) } }

    public func sequenceItem(_ tag: Tag, _ index: Int) -> DICOMItem? {
        guard index >= 0, let p = locked({ spdcm_item_sequence_item($0, tag.group, tag.element, index) }) else { return nil }
        return DICOMItem(pointer: p, owner: owner)
    }

    public func set(_ tag: Tag, _ value: String) throws(DICOMError) {
        var error = spdcm_error()
        guard locked({ spdcm_item_put_string($0, tag.group, tag.element, value, &error) }) else { throw DICOMError(error) }
    }

    public func set(_ tag: Tag, uint16 value: UInt16) throws(DICOMError) {
        var error = spdcm_error()
        guard locked({ spdcm_item_put_uint16($0, tag.group, tag.element, value, &error) }) else { throw DICOMError(error) }
    }

    public func set(_ tag: Tag, numbers: [Double]) throws(DICOMError) {
        try set(tag, numbers.map(DICOMFormat.decimalString).joined(separator: "\\"))
    }

    public func set(_ tag: Tag, words: [UInt16]) throws(DICOMError) {
        var error = spdcm_error()
        let ok = locked { p in words.withUnsafeBufferPointer { spdcm_item_put_words(p, tag.group, tag.element, $0.baseAddress!, $0.count, &error) } }
        guard ok else { throw DICOMError(error) }
    }

    public func set(_ tag: Tag, bytes: [UInt8]) throws(DICOMError) {
        var error = spdcm_error()
        let ok = locked { p in bytes.withUnsafeBufferPointer { spdcm_item_put_bytes(p, tag.group, tag.element, $0.baseAddress!, $0.count, &error) } }
        guard ok else { throw DICOMError(error) }
    }

    public func set(_ tag: Tag, float64s: [Double]) throws(DICOMError) {
        var error = spdcm_error()
        let ok = locked { p in float64s.withUnsafeBufferPointer { spdcm_item_put_float64s(p, tag.group, tag.element, $0.baseAddress!, $0.count, &error) } }
        guard ok else { throw DICOMError(error) }
    }

    /// Appends a new item to a sequence (creating it) and returns the item.
    @discardableResult
    public func appendItem(_ tag: Tag) throws(DICOMError) -> DICOMItem {
        var error = spdcm_error()
        guard let p = locked({ spdcm_item_append_sequence_item($0, tag.group, tag.element, &error) }) else { throw DICOMError(error) }
        return DICOMItem(pointer: p, owner: owner)
    }

    public func setEmpty(_ tag: Tag) throws(DICOMError) {
        var error = spdcm_error()
        guard locked({ spdcm_item_put_empty_sequence($0, tag.group, tag.element, &error) }) else { throw DICOMError(error) }
    }

    /// The item's own elements (not those inside its sequences), in ascending tag order, with DCMTK's VR for each.
    public var elements: [(tag: Tag, vr: String)] {
        locked { handle in
            (0..<spdcm_item_element_count(handle)).compactMap { index -> (tag: Tag, vr: String)? in
                var group: UInt16 = 0, element: UInt16 = 0
                var vr: (CChar, CChar, CChar) = (0, 0, 0)
                let found = withUnsafeMutablePointer(to: &vr) {
                    $0.withMemoryRebound(to: CChar.self, capacity: 3) { spdcm_item_element_at(handle, index, &group, &element, $0) }
                }
                guard found else { return nil }
                return (Tag(group, element), String(decoding: [UInt8(bitPattern: vr.0), UInt8(bitPattern: vr.1)], as: UTF8.self))
            }
        }
    }

    /// Removes an element; false when it was absent.
    @discardableResult
    public func remove(_ tag: Tag) -> Bool { locked { spdcm_item_remove($0, tag.group, tag.element) } }

    /// Empties an element's value and keeps the element; a sequence loses its items.
    public func clear(_ tag: Tag) throws(DICOMError) {
        var error = spdcm_error()
        guard locked({ spdcm_item_clear($0, tag.group, tag.element, &error) }) else { throw DICOMError(error) }
    }
}

extension String {
    /// Without DICOM's space and NUL padding at either end.
    package var trimmingDICOMPadding: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\0" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\0" { s.removeLast() }
        return String(s)
    }
}
