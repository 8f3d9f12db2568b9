/// A remote application entity: AE title, host and port.
public struct DICOMPeer: Sendable, Equatable, Hashable, CustomStringConvertible, Codable {
    public var aeTitle: String
    public var host: String
    public var port: Int

    public init(aeTitle: String, host: String, port: Int) {
        self.aeTitle = aeTitle
        self.host = host
        self.port = port
    }

    /// Parses `AE@HOST:PORT`.
    public init(parsing text: String) throws(DICOMError) {
        guard let at = text.firstIndex(of: "@"), let colon = text.lastIndex(of: ":"), at < colon else {
            throw DICOMError(.invalidArgument, "'\(text)' is not AE@HOST:PORT")
        }
        let ae = String(text[..<at]), host = String(text[text.index(after: at)..<colon])
        guard !ae.isEmpty, ae.utf8.count <= 16 else { throw DICOMError(.invalidArgument, "AE title in '\(text)' must be 1 to 16 characters") }
        guard !host.isEmpty else { throw DICOMError(.invalidArgument, "'\(text)' has no host") }
        guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw DICOMError(.invalidArgument, "'\(text)' has no valid port")
        }
        self.init(aeTitle: ae, host: host, port: port)
    }

    public var description: String { "\(aeTitle)@\(host):\(port)" }
}
