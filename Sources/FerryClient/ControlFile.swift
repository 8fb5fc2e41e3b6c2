import Foundation

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
    static func temporaryPath(_ path: String) -> String { PrivateFile.temporaryPath(path) }

    /// Writes the control file privately and atomically (`PrivateFile`).
    func save(to path: String, encoder: JSONEncoder) throws {
        try PrivateFile.replace(path, with: try encoder.encode(self))
    }

    /// Removes what an earlier run killed mid-write left of the control file of `path`.
    static func removeLeftovers(of path: String) {
        PrivateFile.removeLeftovers(of: path)
    }
}
