#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The tus 1.0.0 rules Ferry applies to each request (tus.io/protocols/resumable-upload), as
/// pure functions: the `Upload-Metadata` of a creation and the acceptance of a PATCH.
public enum Tus {
    /// The protocol version Ferry speaks.
    public static let version = "1.0.0"
    /// The extensions Ferry supports (`Tus-Extension`).
    public static let extensions = "creation,creation-with-upload,termination,checksum,expiration"
    /// Checksum algorithms of the checksum extension (`Tus-Checksum-Algorithm`).
    public static let checksumAlgorithms = "sha1,sha256"
    /// The media type of PATCH bodies.
    public static let patchContentType = "application/offset+octet-stream"

    /// `Upload-Metadata`: comma-separated `key base64value` pairs (a key alone means empty).
    public static func metadata(_ header: String?) throws(FerryError) -> [String: String] {
        guard let header, !header.trimmingSpaces.isEmpty else { return [:] }
        var result: [String: String] = [:]
        for item in header.split(separator: ",") {
            let parts = String(item).trimmingSpaces.split(separator: " ", omittingEmptySubsequences: true)
            guard (1...2).contains(parts.count), let key = parts.first, !key.isEmpty,
                key.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
            else {
                throw FerryError(.badRequest, "Upload-Metadata must be comma-separated 'key base64value' pairs.")
            }
            var value = ""
            if parts.count == 2 {
                guard let bytes = Data(base64Encoded: String(parts[1])).map { Array($0) },
                    let text = String(validating: bytes, as: UTF8.self)
                else {
                    throw FerryError(.badRequest, "Upload-Metadata: the value of '\(key)' is not base64 of UTF-8 text.")
                }
                value = text
            }
            guard result[String(key)] == nil else {
                throw FerryError(.badRequest, "Upload-Metadata names '\(key)' twice.")
            }
            result[String(key)] = value
        }
        return result
    }

    /// `Upload-Checksum: <algorithm> <base64 digest>`.
    public struct Checksum: Hashable, Sendable {
        /// `sha1` or `sha256`.
        public var algorithm: String
        /// The digest's bytes.
        public var digest: [UInt8]
    }

    /// Parses `Upload-Checksum`; an algorithm other than sha1/sha256 is a 400.
    public static func checksum(_ header: String?) throws(FerryError) -> Checksum? {
        guard let header else { return nil }
        let parts = header.trimmingSpaces.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2 else {
            throw FerryError(.badRequest, "Upload-Checksum must be '<algorithm> <base64 digest>'.")
        }
        let algorithm = parts[0].lowercased()
        let size = algorithm == "sha1" ? 20 : algorithm == "sha256" ? 32 : 0
        guard size > 0 else {
            throw FerryError(
                .badRequest, "Upload-Checksum algorithm '\(algorithm)' is not supported; use sha1 or sha256.")
        }
        guard let digest = Data(base64Encoded: String(parts[1])).map { Array($0) }, digest.count == size else {
            throw FerryError(.badRequest, "Upload-Checksum: the \(algorithm) digest must be base64 of \(size) bytes.")
        }
        return Checksum(algorithm: algorithm, digest: digest)
    }

    /// Whether a PATCH may write: its offset must be the upload's, its length must fit.
    /// Returns the error to answer with, or nil to proceed.
    public static func refusePatch(
        upload: UploadRecord, offsetHeader: String?, contentType: String?, contentLength: Int64?
    ) -> FerryError? {
        guard MediaType.essence(contentType ?? "") == patchContentType else {
            return FerryError(
                .unsupportedPatchType, "A PATCH body must be sent as Content-Type: \(patchContentType).")
        }
        guard let text = offsetHeader, let offset = Int64(text.trimmingSpaces), offset >= 0 else {
            return FerryError(.badRequest, "Send Upload-Offset with the offset the upload stands at.")
        }
        guard offset == upload.offset else {
            return FerryError(
                .offsetMismatch,
                "The upload stands at byte \(upload.offset), not \(offset); ask with HEAD and continue from there.")
        }
        if let contentLength, offset + contentLength > upload.length {
            return FerryError(
                .badRequest,
                "The chunk would end at byte \(offset + contentLength), past the upload's length of \(upload.length).")
        }
        return nil
    }
}
