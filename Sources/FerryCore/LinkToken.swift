import Crypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The signed part of a server link, `/t/<token>`: an HMAC-SHA256 over a versioned payload that
/// binds the link id, file, version, expiry, key id, and everything that must not be altered
/// (disposition, filename, bound address). Verification needs no catalog read.
public struct LinkToken: Hashable, Sendable {
    /// The link's id.
    public var linkID: String
    /// The file it concerns.
    public var fileID: String
    /// The file version the link is bound to.
    public var fileVersion: Int
    /// Expiry, whole seconds since 1970.
    public var expiresAt: Int64
    /// The id of the key that signed it.
    public var keyID: String
    /// `attachment` (default) or `inline`.
    public var disposition: ContentDisposition.Kind
    /// The client address it is bound to, if any.
    public var bindIP: String?
    /// A name to save as instead of the file's.
    public var filename: String?

    /// Creates a token description.
    public init(
        linkID: String, fileID: String, fileVersion: Int, expiresAt: Int64, keyID: String,
        disposition: ContentDisposition.Kind, bindIP: String?, filename: String?
    ) {
        self.linkID = linkID
        self.fileID = fileID
        self.fileVersion = fileVersion
        self.expiresAt = expiresAt
        self.keyID = keyID
        self.disposition = disposition
        self.bindIP = bindIP
        self.filename = filename
    }

    static let version = "f1"
    /// Fields are joined by U+001F, which no field can contain (ids and key ids are base64url,
    /// filenames refuse control characters, addresses are digits, hex, `.` and `:`).
    static let separator: Character = "\u{1F}"
    static let separatorByte: UInt8 = 0x1F

    var payload: [UInt8] {
        let fields = [
            Self.version, linkID, fileID, String(fileVersion), String(expiresAt), keyID, disposition.rawValue,
            bindIP ?? "", filename ?? "",
        ]
        return Array(fields.joined(separator: String(Self.separator)).utf8)
    }

    /// The URL-safe token: base64url(payload) `.` base64url(HMAC-SHA256(payload)).
    public func signed(with key: [UInt8]) -> String {
        let bytes = payload
        let mac = HMAC<SHA256>.authenticationCode(for: bytes, using: SymmetricKey(data: key))
        return Base64URL.encode(bytes) + "." + Base64URL.encode(Array(mac))
    }

    /// Verifies a token against the keys by id (constant-time MAC comparison); nil when it is
    /// malformed, altered, forged or signed with a key that is no longer configured.
    public static func verify(_ token: String, keys: [String: [UInt8]]) -> LinkToken? {
        // Bytes, not Characters: grapheme breaking in `lastIndex(of:)` and `split` was most of a
        // refused request's token check in profiles, and the separators are ASCII.
        guard token.utf8.count < 4096, let dot = token.utf8.lastIndex(of: UInt8(ascii: ".")),
            let payload = Base64URL.decode(token[..<dot]),
            let mac = Base64URL.decode(token[token.utf8.index(after: dot)...]),
            String(validating: payload, as: UTF8.self) != nil
        else { return nil }
        let fields = payload.split(separator: separatorByte, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        guard fields.count == 9, fields[0] == version, let key = keys[fields[5]],
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: payload, using: SymmetricKey(data: key)),
            let fileVersion = Int(fields[3]), let expiresAt = Int64(fields[4]),
            let disposition = ContentDisposition.Kind(rawValue: fields[6])
        else { return nil }
        return LinkToken(
            linkID: fields[1], fileID: fields[2], fileVersion: fileVersion, expiresAt: expiresAt, keyID: fields[5],
            disposition: disposition, bindIP: fields[7].isEmpty ? nil : fields[7],
            filename: fields[8].isEmpty ? nil : fields[8])
    }
}
