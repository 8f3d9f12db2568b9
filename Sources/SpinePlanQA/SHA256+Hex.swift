import Crypto
import Foundation

extension SHA256 {
    /// The digest of `bytes` as 64 lower-case hex digits, as manifests store it.
    static func hex<D: DataProtocol>(_ bytes: D) -> String {
        hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}
