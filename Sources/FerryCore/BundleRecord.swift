import Crypto
import Foundation

/// A bundle (API.md "Bundles"): a fixed list of file versions served as one ZIP archive whose
/// bytes are fully determined when it is created (`ZipLayout`).
public struct BundleRecord: Hashable, Sendable {
    /// One member: which version of which file, under which name in the archive.
    public struct Member: Hashable, Sendable, Codable {
        /// The file.
        public var fileID: String
        /// The version the bundle is bound to.
        public var version: Int
        /// The member's name in the archive (safe and unique).
        public var name: String
        /// Size in bytes.
        public var size: Int64
        /// CRC-32 of the version's content.
        public var crc32: UInt32
        /// The version's `updated_at`: the member's modification time.
        public var modified: Date

        /// Creates a member.
        public init(fileID: String, version: Int, name: String, size: Int64, crc32: UInt32, modified: Date) {
            self.fileID = fileID
            self.version = version
            self.name = name
            self.size = size
            self.crc32 = crc32
            self.modified = modified
        }

        // Stored as JSON in the catalogs, with short keys and `modified` in epoch seconds.
        enum CodingKeys: String, CodingKey {
            case fileID = "f", version = "v", name = "n"
            case size = "s", crc32 = "c", modified = "m"
        }
    }

    /// The id (random, URL-safe).
    public var id: String
    /// The archive's file name (`photos.zip`).
    public var name: String
    /// Who created it.
    public var creatorID: String
    /// The creator's username.
    public var creatorName: String
    /// When it was created.
    public var createdAt: Date
    /// The members, in archive order.
    public var members: [Member]
    /// Lowercase hex SHA-256 of the whole archive, computed once when the bundle is made.
    public var sha256: String?

    /// Creates a record.
    public init(
        id: String, name: String, creatorID: String, creatorName: String, createdAt: Date, members: [Member],
        sha256: String? = nil
    ) {
        self.sha256 = sha256
        self.id = id
        self.name = name
        self.creatorID = creatorID
        self.creatorName = creatorName
        self.createdAt = createdAt
        self.members = members
    }

    /// The archive's layout.
    public var layout: ZipLayout {
        ZipLayout(
            members: members.map {
                ZipLayout.Member(name: $0.name, size: $0.size, crc32: $0.crc32, modified: $0.modified)
            })
    }

    /// The strong entity tag: a digest of everything the bytes depend on, the same on every node.
    public var etag: EntityTag {
        var hasher = SHA256()
        for member in members {
            hasher.update(
                data: Array(
                    "\(member.fileID)\n\(member.version)\n\(member.name)\n\(member.size)\n\(member.crc32)\n\(Int64(member.modified.timeIntervalSince1970))\n"
                        .utf8))
        }
        return EntityTag(opaque: "z" + Hex.encode(hasher.finalize()).prefix(32))
    }

    /// The archive's RFC 9530 `Repr-Digest` value, when its SHA-256 is known.
    public var reprDigest: String? {
        sha256.flatMap(Hex.decode).map { DigestField.value(sha256: $0) }
    }

    /// Last-Modified: the newest member's time.
    public var lastModified: Date { members.map(\.modified).max() ?? createdAt }

    /// The members as JSON, as catalogs store them.
    public var membersJSON: String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        return String(decoding: (try? encoder.encode(members)) ?? Data("[]".utf8), as: UTF8.self)
    }

    /// Members from their stored JSON.
    public static func members(fromJSON text: String) throws -> [Member] {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        return try decoder.decode([Member].self, from: Data(text.utf8))
    }
}
