#if canImport(Glibc)
import Glibc
#else
import Darwin
import SpinePlanService
#endif

/// UTC time stamps for folder names (`20261122T003717Z`) and manifests (`2026-11-22T00:37:17.123Z`).
enum UTCTimestamp {
    static func compact(_ seconds: Double) -> String {
        let t = parts(seconds)
        return pad(t.year, 4) + pad(t.month, 2) + pad(t.day, 2) + "T" + pad(t.hour, 2) + pad(t.minute, 2) + pad(t.second, 2) + "Z"
    }

    static func iso8601(_ seconds: Double) -> String {
        let t = parts(seconds)
        let millis = Int(((seconds - seconds.rounded(.down)) * 1000).rounded(.down))
        return "\(pad(t.year, 4))-\(pad(t.month, 2))-\(pad(t.day, 2))T\(pad(t.hour, 2)):\(pad(t.minute, 2)):\(pad(t.second, 2)).\(pad(millis, 3))Z"
    }

    /// Seconds since 1970 of a compact stamp, or nil when `text` does not start with one.
    static func parseCompact(_ text: String) -> Double? {
        let c = Array(text.utf8)
        guard c.count >= 16, c[8] == UInt8(ascii: "T"), c[15] == UInt8(ascii: "Z") else { return nil }
        func num(_ r: Range<Int>) -> Int? { Int(String(decoding: c[r], as: UTF8.self)) }
        guard let y = num(0..<4), let mo = num(4..<6), let d = num(6..<8), let h = num(9..<11), let mi = num(11..<13),
              let s = num(13..<15) else { return nil }
        var t = tm()
        t.tm_year = Int32(y - 1900); t.tm_mon = Int32(mo - 1); t.tm_mday = Int32(d)
        t.tm_hour = Int32(h); t.tm_min = Int32(mi); t.tm_sec = Int32(s)
        return Double(timegm(&t))
    }

    private static func parts(_ seconds: Double) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        var secs = time_t(seconds.rounded(.down))
        var t = tm()
        gmtime_r(&secs, &t)
        return (Int(t.tm_year) + 1900, Int(t.tm_mon) + 1, Int(t.tm_mday), Int(t.tm_hour), Int(t.tm_min), Int(t.tm_sec))
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
