import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes that survive a crash or power loss: temp file, fsync, rename, fsync of the directory.
enum DurableFile {
    /// Makes a directory (and parents) with mode 0700.
    static func makeDirectory(_ path: String) throws(OutboxError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw OutboxError(.directory, "cannot create \(path): \(error.localizedDescription)")
        }
    }

    /// Replaces `path` atomically with `bytes`, mode 0600.
    static func write(_ bytes: [UInt8], to path: String) throws(OutboxError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw OutboxError(.write, "cannot open \(temporary): \(String(cString: strerror(errno)))") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw OutboxError(.write, "cannot write \(temporary): \(reason)")
            }
            offset += n
        }
        try commit(fd: fd, temporary: temporary, to: path)
    }

    /// fsyncs an already written temporary file, closes it, renames it over `path` and fsyncs the directory.
    static func commit(temporary: String, to path: String) throws(OutboxError) {
        let fd = open(temporary, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OutboxError(.write, "cannot reopen \(temporary): \(String(cString: strerror(errno)))") }
        fchmod(fd, 0o600)
        try commit(fd: fd, temporary: temporary, to: path)
    }

    private static func commit(fd: Int32, temporary: String, to path: String) throws(OutboxError) {
        guard fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(temporary)
            throw OutboxError(.write, "fsync \(temporary): \(reason)")
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw OutboxError(.write, "rename to \(path): \(reason)")
        }
        let directory = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}
