import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Small files only this user may read (control files, upload state, the saved login), replaced
/// whole through `PATH.tmp` and a rename so a kill at any moment leaves the old file or the new
/// one, and at worst a `PATH.tmp` the next write removes.
///
/// Written by hand because Foundation's `createFile` and `.atomic` writes go through a temporary
/// name of their own (`.dat.nosync…`), created with the default mode and chmod-ed afterwards:
/// a process killed in between leaves a stray file nothing removes, readable by others.
public enum PrivateFile {
    /// The temporary name a file is written under before it is renamed into place.
    public static func temporaryPath(_ path: String) -> String { path + ".tmp" }

    /// Replaces `path` with `data`, mode 0600 from the first byte.
    public static func replace(_ path: String, with data: Data) throws {
        let temporary = temporaryPath(path)
        // A leftover of a killed run may have another mode: never reuse it.
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var written = 0
        let failure: Int32? = data.withUnsafeBytes { raw in
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += n
            }
            return nil
        }
        close(fd)
        if let failure {
            unlink(temporary)
            throw POSIXError(POSIXErrorCode(rawValue: failure) ?? .EIO)
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
    }

    /// Removes what a run killed mid-write left of `path`'s temporary file.
    public static func removeLeftovers(of path: String) {
        unlink(temporaryPath(path))
    }
}
