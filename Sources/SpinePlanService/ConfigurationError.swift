/// Why a configuration file was refused: every problem found, each with its key and line.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// One problem in the file.
    public struct Issue: Sendable, Equatable, CustomStringConvertible {
        /// Dotted key path, e.g. `network.port` or `peers[1].host`; empty for the document as a whole.
        public var key: String
        /// 1-based line in the file, when known.
        public var line: Int?
        public var message: String

        public var description: String {
            let place = line.map { "line \($0)" } ?? "file"
            return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
        }
    }

    public var path: String
    public var issues: [Issue]

    public init(path: String, issues: [Issue]) {
        self.path = path
        self.issues = issues
    }

    public var description: String {
        (["\(path): \(issues.count) error\(issues.count == 1 ? "" : "s")"] + issues.map { "  \($0)" }).joined(separator: "\n")
    }
}
