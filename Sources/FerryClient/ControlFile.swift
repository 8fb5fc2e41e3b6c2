import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The control file beside a download (`<destination>.ferry-part`): enough to resume.
struct ControlFile: Codable, Equatable {
    var version = 1
    var source: String
    var url: String?
    var size: Int64
    var etag: String?
    var sha256: String?
    var partSize: Int64
    /// Parts written completely (and, where block hashes are known, verified).
    var done: [Int]
    /// Parts on their way when the file was written: fetched again on resume.
    var inFlight: [Int]
    /// For parts in flight, how many bytes at their start are written and verified (whole blocks
    /// that matched the manifest): a resumed part continues from there. Absent in older files.
    var progress: [String: Int64]? = nil

    enum CodingKeys: String, CodingKey {
        case version, source, size, etag, sha256, done, progress
        case url
        case partSize = "part_size"
        case inFlight = "in_flight"
    }
}

extension ControlFile {
    /// The temporary name a control file is written under before it is renamed into place.
    static func temporaryPath(_ path: String) -> String { path + ".tmp" }

    /// Writes the control file through `PATH.tmp` and a rename, so a kill at any moment leaves
    /// either the old file or the new one, and at worst a `PATH.tmp` that the next run removes.
    /// (Foundation's `.atomic` writes use a temporary name of their own, `.dat.nosync...`,
    /// which a kill left beside the download and nothing ever removed.)
    func save(to path: String, encoder: JSONEncoder) throws {
        let data = try encoder.encode(self)
        let temporary = Self.temporaryPath(path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
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

    /// Removes what an earlier run killed mid-write left of the control file of `path`.
    static func removeLeftovers(of path: String) {
        unlink(temporaryPath(path))
    }
}
