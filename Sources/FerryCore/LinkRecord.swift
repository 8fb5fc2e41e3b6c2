#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An issued download link (API.md "Signed links"). The URL itself is never stored.
public struct LinkRecord: Hashable, Sendable {
    /// The id (random, URL-safe).
    public var id: String
    /// The file it concerns.
    public var fileID: String
    /// The file version the link is bound to.
    public var fileVersion: Int
    /// The issuer's user id.
    public var issuerID: String
    /// The issuer's username.
    public var issuerName: String
    /// When it was created.
    public var createdAt: Date
    /// When it expires.
    public var expiresAt: Date
    /// `server`, `storage` or `cdn`.
    public var strategy: String
    /// How many clients may download through it; nil: no limit.
    public var maxDownloads: Int?
    /// The client address it is bound to, if any.
    public var bindIP: String?
    /// `attachment` (default) or `inline`.
    public var disposition: ContentDisposition.Kind
    /// A name to save as instead of the file's.
    public var filename: String?
    /// When it was revoked; nil while it works.
    public var revokedAt: Date?
    /// The slow hash (bcrypt) of the link's password; nil: no password (API.md "Password-protected links").
    public var passwordHash: String?
    /// What the link serves: a file's version, or a bundle (`fileID` is then the bundle's id and
    /// `fileVersion` 0).
    public var subject: Subject

    /// What a link serves.
    public enum Subject: String, Sendable, Hashable {
        case file, bundle
    }

    /// Creates a link record.
    public init(
        id: String, fileID: String, fileVersion: Int, issuerID: String, issuerName: String, createdAt: Date,
        expiresAt: Date, strategy: String, maxDownloads: Int?, bindIP: String?, disposition: ContentDisposition.Kind,
        filename: String?, revokedAt: Date?, passwordHash: String? = nil, subject: Subject = .file
    ) {
        self.passwordHash = passwordHash
        self.subject = subject
        self.id = id
        self.fileID = fileID
        self.fileVersion = fileVersion
        self.issuerID = issuerID
        self.issuerName = issuerName
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.strategy = strategy
        self.maxDownloads = maxDownloads
        self.bindIP = bindIP
        self.disposition = disposition
        self.filename = filename
        self.revokedAt = revokedAt
    }
}

/// Everything `/t/` needs to decide a request, read in one catalog query.
public struct LinkState: Sendable {
    /// The link.
    public var link: LinkRecord
    /// The file, or nil when it was deleted.
    public var file: FileRecord?
    /// Whether the issuer may still read the file (owner, admin, or unexpired grant) and is enabled.
    public var issuerMayRead: Bool
    /// Downloads taken so far.
    public var downloadsUsed: Int
    /// Whether this client already holds one of the downloads.
    public var clientHoldsDownload: Bool

    /// Creates a state.
    public init(link: LinkRecord, file: FileRecord?, issuerMayRead: Bool, downloadsUsed: Int, clientHoldsDownload: Bool)
    {
        self.link = link
        self.file = file
        self.issuerMayRead = issuerMayRead
        self.downloadsUsed = downloadsUsed
        self.clientHoldsDownload = clientHoldsDownload
    }
}

/// A link as `GET /v1/files/{id}/links` lists it.
public struct LinkSummary: Hashable, Sendable {
    /// The link.
    public var link: LinkRecord
    /// Downloads taken so far.
    public var downloadsUsed: Int

    /// Creates a summary.
    public init(link: LinkRecord, downloadsUsed: Int) {
        self.link = link
        self.downloadsUsed = downloadsUsed
    }
}
