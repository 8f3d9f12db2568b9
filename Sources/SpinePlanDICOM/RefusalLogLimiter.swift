import Synchronization

/// Keeps repeated refusals of one peer from flooding the log: the first in a quiet spell is logged in full, the
/// ones after it within `window` are only counted, and each window that counted some ends in one summary line.
///
/// A peer retrying against an allowlist or a full server once wrote two lines per attempt (6,000 lines for 3,000
/// connects), burying everything else in the journal; now a flood costs at most one line per peer per window.
public final class RefusalLogLimiter: Sendable {
    /// What to write for one refusal.
    public enum Decision: Sendable, Equatable {
        /// Log this refusal in full.
        case log
        /// Count it; nothing to write now.
        case suppress
    }

    /// Refusals of one peer counted but not written, to be reported in one line.
    public struct Summary: Sendable, Equatable {
        public var peer: String
        public var count: Int
        /// The last counted refusal's reason, as an example of what was refused.
        public var latest: String
    }

    private struct Entry {
        var start: ContinuousClock.Instant
        var suppressed = 0
        var latest = ""
    }

    public let window: Duration
    /// Peers tracked at most; past it, further peers share one entry, so a scan from many addresses stays bounded.
    public let maximumPeers: Int
    static let overflowPeer = "other peers"
    private let entries = Mutex<[String: Entry]>([:])

    public init(window: Duration = .seconds(60), maximumPeers: Int = 1024) {
        self.window = window
        self.maximumPeers = maximumPeers
    }

    /// Decides about one refusal of `peer` and returns the summaries of any windows that have ended (for any peer).
    public func refusal(peer: String, reason: String, at now: ContinuousClock.Instant = .now) -> (Decision, [Summary]) {
        entries.withLock { e in
            var summaries = Self.close(&e, at: now, window: window, except: peer)
            var key = peer
            if e[key] == nil && e.count >= maximumPeers { key = Self.overflowPeer }
            guard var entry = e[key] else {
                e[key] = Entry(start: now)
                return (.log, summaries)
            }
            if now - entry.start < window {
                entry.suppressed += 1
                entry.latest = reason
                e[key] = entry
                return (.suppress, summaries)
            }
            // This peer's window has ended. If it counted refusals, report them and count this one in a new window
            // (the flood goes on: one line a window); if it was quiet, this is a fresh start, logged in full.
            if entry.suppressed > 0 {
                summaries.append(Summary(peer: key, count: entry.suppressed, latest: entry.latest))
                e[key] = Entry(start: now, suppressed: 1, latest: reason)
                return (.suppress, summaries)
            }
            e[key] = Entry(start: now)
            return (.log, summaries)
        }
    }

    /// Summaries of the windows that have ended by `now`; with `all` (at shutdown), of every window, ended or not.
    public func flush(at now: ContinuousClock.Instant = .now, all: Bool = false) -> [Summary] {
        entries.withLock { e in
            guard all else { return Self.close(&e, at: now, window: window, except: nil) }
            defer { e.removeAll() }
            return e.filter { $0.value.suppressed > 0 }.map { Summary(peer: $0.key, count: $0.value.suppressed, latest: $0.value.latest) }
                .sorted { $0.peer < $1.peer }
        }
    }

    /// Ends every elapsed window but `except`'s: a window that counted refusals yields its summary and a new,
    /// empty window (so a flood that goes on is still summarised, not logged in full again); a quiet one is dropped.
    private static func close(_ e: inout [String: Entry], at now: ContinuousClock.Instant, window: Duration,
                              except: String?) -> [Summary] {
        var out: [Summary] = []
        for (peer, entry) in e where peer != except && now - entry.start >= window {
            if entry.suppressed > 0 {
                out.append(Summary(peer: peer, count: entry.suppressed, latest: entry.latest))
                e[peer] = Entry(start: now)
            } else {
                e[peer] = nil
            }
        }
        return out.sorted { $0.peer < $1.peer }
    }
}
