#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import SpinePlanService

/// The file operations a recording needs, so tests can inject a full disk without filling one.
public protocol RecordingDisk: Sendable {
    /// Creates one directory with mode 0700 (the parent must exist); succeeds if it already exists.
    func makeDirectory(_ path: String) throws(RecordingError)
    /// Writes a new file with mode 0600, replacing any file at `path` atomically (temporary file then rename).
    func write(_ bytes: [UInt8], to path: String) throws(RecordingError)
    /// Removes a file or a directory tree; missing paths are not an error.
    func removeTree(_ path: String)
}

/// The real disk, through POSIX calls so the modes are set at creation rather than fixed up afterwards.
public struct POSIXRecordingDisk: RecordingDisk {
    public init() {}

    public func makeDirectory(_ path: String) throws(RecordingError) {
        if mkdir(path, 0o700) != 0 {
            let e = errno
            var st = stat()
            guard e == EEXIST, stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                throw RecordingError(.io, "cannot create \(path): \(Self.describe(e))")
            }
        }
        // The umask may only remove bits; make the mode exact in case the directory pre-existed with a looser one.
        _ = chmod(path, 0o700)
    }

    public func write(_ bytes: [UInt8], to path: String) throws(RecordingError) {
        do {
            try DurableFile.write(bytes, to: path)
        } catch {
            throw RecordingError(.io, error.message)
        }
    }

    public func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in Self.entries(path) { removeTree(path + "/" + name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// Names in a directory, without `.` and `..`; empty when it cannot be read.
    static func entries(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func describe(_ code: Int32) -> String { DurableFile.describe(code) }
}
