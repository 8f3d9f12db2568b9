import CDCMTK

/// DICOM Part 10 framing, encoded and read by DCMTK, around dataset bytes that must stay exactly as received:
/// preamble, `DICM` and the meta group, then the dataset verbatim, so a recording replays byte for byte.
public enum Part10File {
    /// The file meta fields SpinePlan writes and reads back.
    public struct Meta: Equatable, Sendable {
        public var sopClassUID: String
        public var sopInstanceUID: String
        public var transferSyntaxUID: String
        public var sourceAETitle: String

        public init(sopClassUID: String, sopInstanceUID: String, transferSyntaxUID: String, sourceAETitle: String = "") {
            self.sopClassUID = sopClassUID
            self.sopInstanceUID = sopInstanceUID
            self.transferSyntaxUID = transferSyntaxUID
            self.sourceAETitle = sourceAETitle
        }
    }

    /// The whole file: DCMTK's header, then the dataset bytes untouched at `datasetOffset`.
    public static func encode(dataset: [UInt8], meta: Meta) throws(DICOMError) -> (file: [UInt8], datasetOffset: Int) {
        var raw = spdcm_part10_meta()
        copy(meta.sopClassUID, into: &raw.sop_class_uid)
        copy(meta.sopInstanceUID, into: &raw.sop_instance_uid)
        copy(meta.transferSyntaxUID, into: &raw.transfer_syntax_uid)
        copy(meta.sourceAETitle, into: &raw.source_ae_title)
        var error = spdcm_error()
        var bytes: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard spdcm_part10_header(&raw, &bytes, &length, &error), let bytes else { throw DICOMError(error) }
        defer { spdcm_free(bytes) }
        var file = Array(UnsafeBufferPointer(start: bytes, count: length))
        let offset = file.count
        file += dataset
        return (file, offset)
    }

    /// The meta group of a Part 10 file in memory, and where its dataset begins.
    public static func parse(_ bytes: [UInt8]) throws(DICOMError) -> (meta: Meta, datasetOffset: Int) {
        var raw = spdcm_part10_meta()
        var offset = 0
        var error = spdcm_error()
        guard spdcm_part10_read_meta(bytes, bytes.count, &raw, &offset, &error) else { throw DICOMError(error) }
        let meta = Meta(sopClassUID: string(raw.sop_class_uid), sopInstanceUID: string(raw.sop_instance_uid),
                        transferSyntaxUID: string(raw.transfer_syntax_uid), sourceAETitle: string(raw.source_ae_title))
        return (meta, offset)
    }

    /// A result object (SR, overlay) as a Part 10 file, whether it came framed already or as bare Explicit VR Little
    /// Endian dataset bytes (what `DICOMObject.encoded()` produces).
    public static func wrapResult(_ bytes: [UInt8]) throws(DICOMError) -> [UInt8] {
        if (try? parse(bytes)) != nil { return bytes }
        let ts = TransferSyntax.explicitVRLittleEndian
        let object = try DICOMObject(datasetBytes: bytes, transferSyntax: ts)
        let meta = Meta(sopClassUID: object.root.trimmed(.sopClassUID) ?? "", sopInstanceUID: object.root.trimmed(.sopInstanceUID) ?? "",
                        transferSyntaxUID: ts)
        return try encode(dataset: bytes, meta: meta).file
    }

    private static func copy<T>(_ value: String, into field: inout T) {
        withUnsafeMutableBytes(of: &field) { raw in
            let utf8 = Array(value.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: utf8)
            raw[utf8.count] = 0
        }
    }

    private static func string<T>(_ field: T) -> String {
        withUnsafeBytes(of: field) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }
}
