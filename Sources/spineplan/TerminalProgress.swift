import Foundation
import Synchronization

/// Progress and an estimate of the time left for long verbs (`synth --count`, `replay` over many recordings), on
/// one rewritten line of standard error — only when that is a terminal, so logs, pipes and CI stay quiet.
final class TerminalProgress: Sendable {
    private struct State {
        var done = 0
        var lastDrawn: ContinuousClock.Instant?
    }

    private let label: String
    private let total: Int
    private let started = ContinuousClock.now
    private let enabled: Bool
    private let state = Mutex(State())

    init(_ label: String, total: Int, enabled: Bool = isatty(STDERR_FILENO) != 0 && ProcessInfo.processInfo.environment["TERM"] != "dumb") {
        self.label = label
        self.total = total
        self.enabled = enabled && total > 1
    }

    /// One more item done; safe from any thread.
    func advance() {
        guard enabled else { return }
        let line: String? = state.withLock { s in
            s.done += 1
            let now = ContinuousClock.now
            // At most five redraws a second, and always the last.
            if let last = s.lastDrawn, now - last < .milliseconds(200), s.done < total { return nil }
            s.lastDrawn = now
            return Self.line(label, done: s.done, total: total, elapsed: (now - started).seconds)
        }
        if let line { FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8)) }
    }

    /// Clears the line, so what the verb prints next starts clean.
    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    /// "synth 3/20 (15 %), 4 s elapsed, about 23 s left": the rate so far, projected over what remains.
    static func line(_ label: String, done: Int, total: Int, elapsed: Double) -> String {
        let percent = total > 0 ? 100 * done / total : 100
        var text = "\(label) \(done)/\(total) (\(percent) %), \(duration(elapsed)) elapsed"
        if done > 0 && done < total {
            text += ", about \(duration(elapsed / Double(done) * Double(total - done))) left"
        }
        return text
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s < 120 ? "\(s) s" : s < 7200 ? "\(s / 60) min \(s % 60) s" : "\(s / 3600) h \((s % 3600) / 60) min"
    }
}

private extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
