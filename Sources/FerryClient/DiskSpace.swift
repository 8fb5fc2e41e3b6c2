import FerryCore
import Foundation
import _NIOFileSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The disk under a download: its space is reserved before the first byte (a full disk is told
/// at once, not after minutes of transfer), and a disk that fills up anyway is named as the
/// cause, with how to go on.
enum DiskSpace {
    /// Allocates `bytes` for the file open as `descriptor` (`posix_fallocate`: blocks already
    /// allocated by an earlier run cost nothing). File systems without it are left to allocate as
    /// bytes land. Throws a `FerryClientError` saying how much is missing when the disk is too full.
    static func reserve(_ descriptor: Int32, bytes: Int64, destination: String) throws {
        guard bytes > 0 else { return }
        #if canImport(Glibc)
            let result = posix_fallocate(descriptor, 0, off_t(bytes))
            switch result {
            case 0, EOPNOTSUPP, EINVAL, ENOSYS:
                return
            case ENOSPC, EDQUOT:
                throw full(destination, needed: bytes)
            default:
                throw FerryClientError(
                    .unexpected, "Cannot reserve space for \(destination): \(String(cString: strerror(result))).")
            }
        #endif
    }

    /// A write failure as the user should read it: a full disk (`ENOSPC`, `EDQUOT`) says so and
    /// how to resume; anything else names the file and the system's reason.
    static func writeError(_ error: any Error, path: String, destination: String) -> FerryClientError {
        if let error = error as? FerryClientError { return error }
        if isDiskFull(error) { return full(destination, needed: nil) }
        return FerryClientError(.unexpected, "Cannot write \(path): \(error)")
    }

    static func full(_ destination: String, needed: Int64?) -> FerryClientError {
        let directory = (destination as NSString).deletingLastPathComponent
        let place = directory.isEmpty ? "." : directory
        var amounts = ""
        if let needed {
            amounts = " (the file needs \(ByteCount.format(needed))"
            if let free = freeBytes(place) { amounts += ", \(ByteCount.format(free)) free" }
            amounts += ")"
        }
        return FerryClientError(
            .unexpected,
            "The disk holding \(place) is full\(amounts). Free space, then run the same command again: the parts already downloaded are kept."
        )
    }

    static func isDiskFull(_ error: any Error) -> Bool {
        if let failure = error as? FileSystemError, let call = failure.cause as? FileSystemError.SystemCallError {
            return call.errno == .noSpace || call.errno == .diskQuotaExceeded
        }
        // Foundation's writes (the control file).
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain && ns.code == NSFileWriteOutOfSpaceError { return true }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return underlying.code == Int(ENOSPC) || underlying.code == Int(EDQUOT)
        }
        return false
    }

    static func freeBytes(_ directory: String) -> Int64? {
        #if canImport(Glibc)
            var stats = statvfs()
            guard statvfs(directory, &stats) == 0 else { return nil }
            return Int64(stats.f_bavail) * Int64(stats.f_frsize)
        #else
            return nil
        #endif
    }
}

/// Sizes as people read them: `1.5 MiB`, `312.4 GiB`.
public enum ByteCount {
    /// A byte count for people: `1.5 GiB`, `512 KiB`.
    public static func format(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }
}
