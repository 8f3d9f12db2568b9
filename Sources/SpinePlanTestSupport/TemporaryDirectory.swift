import Foundation

/// A fresh directory under the system temporary directory, removed by `remove()`.
package struct TemporaryDirectory: Sendable {
    package let url: URL
    package var path: String { url.path }

    package init(_ prefix: String = "spineplan-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    package func appending(_ component: String) -> String { url.appendingPathComponent(component).path }

    package func remove() { try? FileManager.default.removeItem(at: url) }
}
