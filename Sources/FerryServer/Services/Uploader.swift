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
            var whole = SHA256()
            var block = SHA256()
            var blockFill: Int64 = 0
            var blocks: [String] = []
            var size: Int64 = 0
            for try await buffer in request.body {
                size += Int64(buffer.readableBytes)
                if size > limit { throw Self.tooLarge(limit) }
                buffer.withUnsafeReadableBytes { whole.update(bufferPointer: $0) }
                // A copy shares storage; moving its reader index leaves `buffer` intact.
                var rest = buffer
                while rest.readableBytes > 0 {
                    let take = Int(min(Int64(rest.readableBytes), FileRecord.blockSize - blockFill))
                    rest.readWithUnsafeReadableBytes { raw in
                        block.update(bufferPointer: UnsafeRawBufferPointer(rebasing: raw[..<take]))
                        return take
                    }
                    blockFill += Int64(take)
                    if blockFill == FileRecord.blockSize {
                        blocks.append(Hex.encode(block.finalize()))
                        block = SHA256()
                        blockFill = 0
                    }
                }
                try await upload.write(buffer)
            }
            if blockFill > 0 { blocks.append(Hex.encode(block.finalize())) }
            if let declared, declared != size {
                throw FerryError(.badRequest, "The body ended after \(size) of \(declared) bytes; upload again.")
            }
            let digest = Array(whole.finalize())
            if let expected, expected != digest {
                throw FerryError(
                    .checksumMismatch,
                    "The uploaded bytes have SHA-256 \(Hex.encode(digest)), not the \(Hex.encode(expected)) you sent; nothing was stored."
                )
            }
            try await upload.commit()
            return FileContent(
                size: size, contentType: contentType, sha256: Hex.encode(digest), blobKey: key, blockSHA256: blocks)
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
