import Crypto
import FerryCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Receives file content: checks type and size before and while streaming, hashes the whole
/// content and each 8 MiB block as it passes, verifies a client digest, and commits the blob only
/// when everything holds. Any failure (including a client that disconnects) aborts the blob.
struct Uploader: Sendable {
    let services: FerryServices

    /// Streams the request body into a new blob under `key` and returns the verified content.
    /// `fileName` gives the type when the client named none (see `MediaType.ofUpload`).
    func receive(_ request: Request, key: String, fileName: String) async throws -> FileContent {
        let configuration = services.configuration
        let rawType = request.headers[.contentType]
        guard let contentType = MediaType.ofUpload(contentType: rawType, fileName: fileName) else {
            throw FerryError(
                .badRequest, "The Content-Type '\(rawType ?? "")' is not a media type like application/pdf.")
        }
        guard MediaType.isAllowed(contentType, by: configuration.allowedTypes) else {
            let allowed = configuration.allowedTypes?.joined(separator: ", ") ?? ""
            throw FerryError(
                .typeNotAllowed, "Files of type \(contentType) are not accepted here; allowed: \(allowed).")
        }
        let expected = try Self.expectedDigest(request.headers)
        let limit = configuration.maxUploadBytes
        let declared = request.headers[.contentLength].flatMap { Int64($0) }
        if let declared, declared > limit {
            throw Self.tooLarge(limit)
        }

        let upload = try await services.store.beginUpload(key: key, sizeHint: declared)
        do {
            // The whole content's SHA-256 and each 8 MiB block's, as the bytes pass (tus uploads
            // hash the same way, PATCH by PATCH).
            var hasher = UploadHasher.fresh
            for try await buffer in request.body {
                if hasher.offset + Int64(buffer.readableBytes) > limit { throw Self.tooLarge(limit) }
                hasher.update(buffer)
                try await upload.write(buffer)
            }
            let size = hasher.offset
            let blocks = hasher.allBlocks
            if let declared, declared != size {
                throw FerryError(.badRequest, "The body ended after \(size) of \(declared) bytes; upload again.")
            }
            let digest = Array(hasher.whole?.finalize() ?? SHA256().finalize())
            if let expected, expected != digest {
                throw FerryError(
                    .checksumMismatch,
                    "The uploaded bytes have SHA-256 \(Hex.encode(digest)), not the \(Hex.encode(expected)) you sent; nothing was stored."
                )
            }
            try await upload.commit()
            return FileContent(
                size: size, contentType: contentType, sha256: Hex.encode(digest), blobKey: key, blockSHA256: blocks,
                crc32: hasher.crc?.value)
        } catch {
            await upload.abort()
            throw error
        }
    }

    static func tooLarge(_ limit: Int64) -> FerryError {
        FerryError(.tooLarge, "The file is larger than this server's limit of \(limit) bytes; nothing was stored.")
    }

    /// The SHA-256 the client promised, from `Content-Digest` (RFC 9530) or `X-Ferry-SHA256`.
    static func expectedDigest(_ headers: HTTPFields) throws -> [UInt8]? {
        var found: [UInt8]?
        if let value = headers[.contentDigest] {
            do {
                found = try DigestField.sha256(value)
            } catch {
                throw FerryError(
                    .badRequest, "Content-Digest must look like sha-256=:<base64 of 32 bytes>: (RFC 9530).")
            }
        }
        if let value = headers[.xFerrySHA256] {
            guard let bytes = Hex.decode(value.trimmingCharacters(in: .whitespaces)), bytes.count == 32 else {
                throw FerryError(.badRequest, "X-Ferry-SHA256 must be 64 hex characters.")
            }
            if let found, found != bytes {
                throw FerryError(.badRequest, "Content-Digest and X-Ferry-SHA256 disagree; send one.")
            }
            found = bytes
        }
        return found
    }
}
