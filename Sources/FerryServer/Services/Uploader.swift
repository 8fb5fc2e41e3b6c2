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

    /// Streams the request's file into a new blob under `key` and returns its name and verified
    /// content. The file is the body, or the file part of a `multipart/form-data` body (see
    /// `FormFileReader`). `name` is the name given (`?name=`, or the file's current name); nil
    /// takes a form's filename. The name gives the type when the client named none (see
    /// `MediaType.ofUpload`).
    func receive(_ request: Request, key: String, name: String?) async throws -> (name: String, content: FileContent) {
        let configuration = services.configuration
        var form = try FormFileReader(contentType: request.headers[.contentType], body: request.body)
        let (bodyDigest, fileDigest) = try Self.expectedDigests(request.headers, form: form != nil)
        form?.hashesBody = bodyDigest != nil
        let part = try await form?.filePart()
        guard let name = try name ?? part?.fileName.map(FileName.validate) else {
            throw FerryError(.badRequest, "Name the file with ?name=<filename>.")
        }
        // A form part's application/octet-stream is what curl -F and browsers send when they know no type.
        let rawType =
            form == nil
            ? request.headers[.contentType]
            : part?.contentType.flatMap { MediaType.essence($0) == "application/octet-stream" ? nil : $0 }
        guard let contentType = MediaType.ofUpload(contentType: rawType, fileName: name) else {
            throw FerryError(
                .badRequest, "The Content-Type '\(rawType ?? "")' is not a media type like application/pdf.")
        }
        guard MediaType.isAllowed(contentType, by: configuration.allowedTypes) else {
            let allowed = configuration.allowedTypes?.joined(separator: ", ") ?? ""
            throw FerryError(
                .typeNotAllowed, "Files of type \(contentType) are not accepted here; allowed: \(allowed).")
        }
        let limit = configuration.maxUploadBytes
        let declared = request.headers[.contentLength].flatMap { Int64($0) }
        if let declared, declared > limit + (form == nil ? 0 : Int64(FormFileReader.otherBytesLimit)) {
            throw Self.tooLarge(limit)
        }

        var raw = form == nil ? request.body.makeAsyncIterator() : nil
        let upload = try await services.store.beginUpload(key: key, sizeHint: form == nil ? declared : nil)
        do {
            // The whole content's SHA-256 and each 8 MiB block's, as the bytes pass (tus uploads
            // hash the same way, PATCH by PATCH).
            var hasher = UploadHasher.fresh
            while let buffer = try await (form != nil ? form!.next() : raw!.next()) {
                if hasher.offset + Int64(buffer.readableBytes) > limit { throw Self.tooLarge(limit) }
                hasher.update(buffer)
                try await upload.write(buffer)
            }
            let size = hasher.offset
            let blocks = hasher.allBlocks
            let received = form?.bodyBytes ?? size
            if let declared, declared != received {
                throw FerryError(.badRequest, "The body ended after \(received) of \(declared) bytes; upload again.")
            }
            let digest = Array(hasher.whole?.finalize() ?? SHA256().finalize())
            if let expected = fileDigest ?? (form == nil ? bodyDigest : nil), expected != digest {
                throw FerryError(
                    .checksumMismatch,
                    "The uploaded bytes have SHA-256 \(Hex.encode(digest)), not the \(Hex.encode(expected)) you sent; nothing was stored."
                )
            }
            if let formDigest = form?.bodySHA256, let bodyDigest, bodyDigest != formDigest {
                throw FerryError(
                    .checksumMismatch,
                    "The form's bytes have SHA-256 \(Hex.encode(formDigest)), not the \(Hex.encode(bodyDigest)) your Content-Digest names; nothing was stored."
                )
            }
            try await upload.commit()
            return (
                name,
                FileContent(
                    size: size, contentType: contentType, sha256: Hex.encode(digest), blobKey: key,
                    blockSHA256: blocks, crc32: hasher.crc?.value)
            )
        } catch {
            await upload.abort()
            throw error
        }
    }

    static func tooLarge(_ limit: Int64) -> FerryError {
        FerryError(.tooLarge, "The file is larger than this server's limit of \(limit) bytes; nothing was stored.")
    }

    /// The SHA-256s the client promised: of the request body (`Content-Digest`, RFC 9530) and of
    /// the file (`X-Ferry-SHA256`). Without a form they are of the same bytes, so they must agree.
    static func expectedDigests(_ headers: HTTPFields, form: Bool) throws -> (body: [UInt8]?, file: [UInt8]?) {
        var body: [UInt8]?
        if let value = headers[.contentDigest] {
            do {
                body = try DigestField.sha256(value)
            } catch {
                throw FerryError(
                    .badRequest, "Content-Digest must look like sha-256=:<base64 of 32 bytes>: (RFC 9530).")
            }
        }
        if let value = headers[.xFerrySHA256] {
            guard let bytes = Hex.decode(value.trimmingCharacters(in: .whitespaces)), bytes.count == 32 else {
                throw FerryError(.badRequest, "X-Ferry-SHA256 must be 64 hex characters.")
            }
            if !form, let body, body != bytes {
                throw FerryError(.badRequest, "Content-Digest and X-Ferry-SHA256 disagree; send one.")
            }
            return (body, bytes)
        }
        return (body, nil)
    }
}
