import FerryCore
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension S3Client {
    /// An object as `ListObjectsV2` describes it; `key` is relative to the configured prefix.
    public struct ObjectSummary: Sendable, Hashable {
        /// The object key.
        public var key: String
        /// The object's size.
        public var size: Int64
        /// When the object was written, by the S3 server's clock (nil if it sent no readable date).
        public var lastModified: Date?
    }

    /// A multipart upload begun and neither completed nor aborted.
    public struct UnfinishedUpload: Sendable, Hashable {
        /// The object key.
        public var key: String
        /// The multipart upload id.
        public var uploadID: String
        /// When it was begun, by the S3 server's clock (nil if it sent no readable date).
        public var initiated: Date?
    }

    /// `ListObjectsV2` under a key prefix (relative to the configured prefix), handing each page
    /// (up to 1 000 objects) to `page` as it arrives.
    public func listObjects(prefix: String = "", page: ([ObjectSummary]) async throws -> Void) async throws {
        var token: String?
        // Bounded: 10 million objects per listing.
        for _ in 0..<10_000 {
            var query = [("list-type", "2"), ("prefix", configuration.prefix + prefix)]
            if let token { query.append(("continuation-token", token)) }
            let response = try await send("ListObjectsV2", method: .GET, key: nil, query: query)
            let body = try await expect(response, [200], "ListObjectsV2")
            let result = try decode(ListBucketResult.self, body, "ListObjectsV2")
            let objects = (result.contents ?? []).map {
                ObjectSummary(
                    key: String($0.key.dropFirst(configuration.prefix.count)), size: $0.size,
                    lastModified: $0.lastModified.flatMap(Self.s3Date))
            }
            if !objects.isEmpty { try await page(objects) }
            guard result.isTruncated == true, let next = result.nextContinuationToken else { return }
            token = next
        }
    }

    /// Every object under a key prefix.
    public func listObjects(prefix: String = "") async throws -> [ObjectSummary] {
        var out: [ObjectSummary] = []
        try await listObjects(prefix: prefix) { out += $0 }
        return out
    }

    /// `ListMultipartUploads` under a key prefix, every page.
    public func listMultipartUploads(prefix: String = "") async throws -> [UnfinishedUpload] {
        var out: [UnfinishedUpload] = []
        var marker: (key: String, uploadID: String)?
        for _ in 0..<10_000 {
            var query = [("prefix", configuration.prefix + prefix), ("uploads", "")]
            if let marker { query += [("key-marker", marker.key), ("upload-id-marker", marker.uploadID)] }
            let response = try await send("ListMultipartUploads", method: .GET, key: nil, query: query)
            let body = try await expect(response, [200], "ListMultipartUploads")
            let result = try decode(ListMultipartUploadsResult.self, body, "ListMultipartUploads")
            out += (result.upload ?? []).map {
                UnfinishedUpload(
                    key: String($0.key.dropFirst(configuration.prefix.count)), uploadID: $0.uploadId,
                    initiated: $0.initiated.flatMap(Self.s3Date))
            }
            guard result.isTruncated == true, let key = result.nextKeyMarker, let id = result.nextUploadIdMarker
            else { break }
            marker = (key, id)
        }
        return out
    }

    /// S3's timestamps (`2026-12-01T08:00:00.000Z`; some servers leave out the milliseconds).
    static func s3Date(_ text: String) -> Date? {
        (try? Date(text, strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: .iso8601))
    }
}

// Decoded by `S3XML.decoder()`: properties spell the elements with the first letter lowered.
struct ListBucketResult: Decodable {
    struct Object: Decodable {
        var key: String
        var size: Int64
        var lastModified: String?
    }
    var contents: [Object]?
    var isTruncated: Bool?
    var nextContinuationToken: String?
}

struct ListMultipartUploadsResult: Decodable {
    struct Upload: Decodable {
        var key: String
        var uploadId: String
        var initiated: String?
    }
    /// The `Upload` elements.
    var upload: [Upload]?
    var isTruncated: Bool?
    var nextKeyMarker: String?
    var nextUploadIdMarker: String?
}
