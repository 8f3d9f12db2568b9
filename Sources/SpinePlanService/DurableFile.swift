import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes that survive a crash or power loss: temp file, fsync, rename, fsync of the directory.
/// The outbox and QA recordings both write through here.
package enum DurableFile {
    /// Why a durable write failed; callers wrap it in their own error type.
    package struct Failure: Error {
        package var message: String
    }

    package static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// Makes a directory (and parents) with mode 0700.
    package static func makeDirectory(_ path: String) throws(Failure) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw Failure(message: "cannot create \(path): \(error.localizedDescription)")
        }
    }

    /// Replaces `path` atomically with `bytes`, mode 0600.
    package static func write(_ bytes: [UInt8], to path: String) throws(Failure) {
        let temporary = path + ".tmp"
        let fd: Int32
        do {
            fd = try createTemporary(temporary, bytes)
        } catch {
            throw Failure(message: error.creating ? "cannot create \(temporary): \(describe(error.code))"
                                                  : "cannot write \(path): \(describe(error.code))")
        }
        try commit(fd: fd, temporary: temporary, to: path)
    }

    private struct Errno: Error {
        var code: Int32
        /// The temporary file could not be created at all (rather than written).
        var creating = false
    }

    /// Creates `temporary` (mode 0600) holding `bytes` and returns its still open descriptor; on failure nothing is
    /// left behind.
    private static func createTemporary(_ temporary: String, _ bytes: [UInt8]) throws(Errno) -> Int32 {
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Errno(code: errno, creating: true) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let failure = errno
                close(fd)
                unlink(temporary)
                throw Errno(code: failure)
            }
            offset += n
        }
        return fd
    }

    /// Writes `path` (temporary file, then rename; mode 0600) without fsync: it survives a kill -9 of this process at
    /// any point, and a crash of the machine once the file system is synced. Returns the errno of a failure.
    package static func writeUnsynced(_ bytes: [UInt8], to path: String) -> Int32? {
        let temporary = path + ".tmp"
        let fd: Int32
        do {
            fd = try createTemporary(temporary, bytes)
        } catch {
            return error.code
        }
        var failure: Int32? = close(fd) == 0 ? nil : errno
        if failure == nil && rename(temporary, path) != 0 { failure = errno }
        if failure != nil { unlink(temporary) }
        return failure
    }

    /// Renames an already written, unsynced temporary file over `path`: it survives a kill -9 from then on, and a
    /// power cut once `sync` has run. Returns the errno of a failure, after removing the temporary file.
    package static func publishUnsynced(temporary: String, to path: String) -> Int32? {
        chmod(temporary, 0o600)
        guard rename(temporary, path) == 0 else {
            let failure = errno
            unlink(temporary)
            return failure
        }
        return nil
    }

    /// fsyncs `paths` and then `directory`, so that what was written and renamed without fsync survives a power
    /// cut. A path that is gone (delivered and removed meanwhile) is skipped. Returns the first failure's errno.
    package static func sync(_ paths: [String], directory: String) -> Int32? {
        var failure: Int32?
        for path in paths {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                if errno != ENOENT && failure == nil { failure = errno }
                continue
            }
            if fsync(fd) != 0 && failure == nil { failure = errno }
            close(fd)
        }
        let d = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if d >= 0 {
            if fsync(d) != 0 && failure == nil { failure = errno }
            close(d)
        }
        return failure
    }

    /// Bytes an unprivileged writer can still use on the file system holding `path`.
    package static func freeBytes(in path: String) -> UInt64? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        return UInt64(s.f_bavail) * UInt64(s.f_frsize)
    }

    /// fsyncs an already written temporary file, closes it, renames it over `path` and fsyncs the directory.
    package static func commit(temporary: String, to path: String) throws(Failure) {
        let fd = open(temporary, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(message: "cannot reopen \(temporary): \(describe(errno))") }
        fchmod(fd, 0o600)
        try commit(fd: fd, temporary: temporary, to: path)
    }

    private static func commit(fd: Int32, temporary: String, to path: String) throws(Failure) {
        var failure: Int32 = fsync(fd) == 0 ? 0 : errno
        if close(fd) != 0 && failure == 0 { failure = errno }
        if failure == 0 && rename(temporary, path) != 0 { failure = errno }
        guard failure == 0 else {
            unlink(temporary)
            throw Failure(message: "cannot write \(path): \(describe(failure))")
        }
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}
