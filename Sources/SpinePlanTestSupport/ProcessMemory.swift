import Foundation

/// Memory figures of the current process, from /proc.
package enum ProcessMemory {
    /// Resident set size in bytes (VmRSS) of this process, or of another one by pid.
    package static func residentBytes(of pid: Int32? = nil) -> Int {
        let path = pid.map { "/proc/\($0)/status" } ?? "/proc/self/status"
        guard let status = try? String(contentsOfFile: path, encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kb * 1024
        }
        return 0
    }
}
