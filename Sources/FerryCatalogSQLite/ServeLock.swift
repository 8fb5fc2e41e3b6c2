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

        /// Takes the lock of the catalog at `path`. A process that has it may be a node still
        /// draining after SIGTERM (a restart, a rolling deploy): the lock is awaited for up to
        /// `wait` seconds (`waiting` is called once, with the holder's pid, when it is), then
        /// refused with `conflict` naming the holder.
        public init(
            catalogPath path: String, wait: Double, waiting: @Sendable (_ pid: String?) -> Void = { _ in }
        ) async throws {
            let lockPath = path + ".serve-lock"
            let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw FerryError(.unavailable, "Could not open \(lockPath): \(String(cString: strerror(errno))).")
            }
            let deadline = ContinuousClock.now + .milliseconds(Int(wait * 1000))
            var announced = false
            while flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let failure = errno
                guard failure == EWOULDBLOCK else {
                    closeDescriptor(fd)
                    throw FerryError(
                        .unavailable, "Could not lock \(lockPath): \(String(cString: strerror(failure))).")
                }
                let pid = Self.holder(fd)
                if !announced {
                    announced = true
                    waiting(pid)
                }
                guard ContinuousClock.now < deadline else {
                    closeDescriptor(fd)
                    throw FerryError(
                        .conflict,
                        "The SQLite catalog \(path) is in use by another ferry serve"
                            + (pid.map { " (pid \($0))" } ?? "")
                            + ". One SQLite catalog serves one node: stop the other, give this one its own"
                            + " FERRY_DATA_DIR, or run several nodes on PostgreSQL (FERRY_DATABASE_URL=postgres://...)."
                    )
                }
                do { try await Task.sleep(for: .milliseconds(100)) } catch {
                    closeDescriptor(fd)
                    throw error
                }
            }
            let text = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = pwrite(fd, text, text.count, 0)
            descriptor = fd
        }

        /// The pid the holder wrote, if any.
        static func holder(_ fd: Int32) -> String? {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(fd, &buffer, buffer.count, 0)
            let pid = String(decoding: buffer.prefix(max(0, count)).filter { (48...57).contains($0) }, as: UTF8.self)
            return pid.isEmpty ? nil : pid
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
