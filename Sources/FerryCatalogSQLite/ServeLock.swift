import FerryCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension SQLiteCatalog {
    /// Held by the one `ferry serve` of a SQLite catalog for as long as it runs.
    ///
    /// A node keeps exact lookups in memory (`LookupCache`) and drops them on its own writes; a
    /// second process serving the same file would not see them dropped (a link it revoked would
    /// still open on the other for up to a second). So a second `ferry serve` on the same catalog
    /// refuses to start; several nodes share PostgreSQL. The lock is an advisory `flock` on
    /// `<catalog>.serve-lock` (mode 0600, holding the owner's pid for the message): the kernel
    /// releases it when the process ends, however it ends, so a killed node never leaves it behind.
    public final class ServeLock: Sendable {
        let descriptor: Int32

        /// Takes the lock of the catalog at `path` without waiting; throws `conflict` naming the
        /// other process if it has it.
        public init(catalogPath path: String) throws {
            let lockPath = path + ".serve-lock"
            let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw FerryError(
                    .unavailable, "Could not open \(lockPath): \(String(cString: strerror(errno))).")
            }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let failure = errno
                var buffer = [UInt8](repeating: 0, count: 32)
                let count = pread(fd, &buffer, buffer.count, 0)
                closeDescriptor(fd)
                guard failure == EWOULDBLOCK else {
                    throw FerryError(
                        .unavailable, "Could not lock \(lockPath): \(String(cString: strerror(failure))).")
                }
                let pid = String(
                    decoding: buffer.prefix(max(0, count)).filter { (48...57).contains($0) }, as: UTF8.self)
                throw FerryError(
                    .conflict,
                    "The SQLite catalog \(path) is in use by another ferry serve"
                        + (pid.isEmpty ? "" : " (pid \(pid))")
                        + ". One SQLite catalog serves one node: stop the other, give this one its own"
                        + " FERRY_DATA_DIR, or run several nodes on PostgreSQL (FERRY_DATABASE_URL=postgres://...).")
            }
            let text = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = pwrite(fd, text, text.count, 0)
            descriptor = fd
        }

        deinit {
            closeDescriptor(descriptor)
        }
    }
}

/// `close(2)` (inside `SQLiteCatalog`, `close` is the catalog's own).
private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}
