import CSystemd
import Foundation
import Logging

/// A swift-log handler that writes structured entries to journald under systemd, and plain lines to stderr otherwise.
///
/// Metadata become journal fields (upper-cased, e.g. `association` → `ASSOCIATION=`), so an admin can filter with
/// `journalctl -u spineplan ASSOCIATION=12`. Callers must never put PHI in messages or metadata.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let journal: Bool

    /// journald when stderr is connected to the journal (systemd sets JOURNAL_STREAM), stderr otherwise.
    public static func bootstrap(level: Logger.Level) {
        let journal = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil
        LoggingSystem.bootstrap { label in
            var h = JournalLogHandler(label: label, journal: journal)
            h.logLevel = level
            return h
        }
    }

    public init(label: String, journal: Bool) {
        self.label = label
        self.journal = journal
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        if journal {
            var fields = ["SYSLOG_IDENTIFIER=spineplan", "LOGGER=\(label)", "CODE_FILE=\(event.file)", "CODE_LINE=\(event.line)"]
            for (k, v) in all.sorted(by: { $0.key < $1.key }) {
                let key = k.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
                fields.append("\(String(key))=\(v)")
            }
            let copies = fields.map { strdup($0) }
            defer { copies.forEach { free($0) } }
            let pointers = copies.map { UnsafePointer<CChar>($0) }
            _ = pointers.withUnsafeBufferPointer { buf in
                spineplan_journal_send(Self.priority(event.level), "\(event.message)", buf.baseAddress, Int32(buf.count))
            }
        } else {
            let meta = all.isEmpty ? "" : " " + all.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            FileHandle.standardError.write(Data("\(Self.timestamp()) \(event.level) \(label): \(event.message)\(meta)\n".utf8))
        }
    }

    static func priority(_ level: Logger.Level) -> Int32 {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    static func timestamp() -> String {
        var t = timeval()
        gettimeofday(&t, nil)
        var tm = tm()
        var secs = t.tv_sec
        gmtime_r(&secs, &tm)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, Int(t.tv_usec / 1000))
    }
}
