import AsyncHTTPClient
import FerryCore
import Foundation
import NIOHTTP1
import XMLCoder

extension S3Client {
    /// One rule of a bucket's CORS configuration.
    public struct CORSRule: Sendable, Hashable, Decodable {
        /// Origins allowed (`*` wildcards as S3 has them).
        public var allowedOrigins: [String]
        /// Methods allowed.
        public var allowedMethods: [String]
        /// Request headers allowed.
        public var allowedHeaders: [String]
        /// Response headers exposed to scripts.
        public var exposeHeaders: [String]

        enum CodingKeys: String, CodingKey {
            case allowedOrigins = "AllowedOrigin"
            case allowedMethods = "AllowedMethod"
            case allowedHeaders = "AllowedHeader"
            case exposeHeaders = "ExposeHeader"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            allowedOrigins = try c.decodeIfPresent([String].self, forKey: .allowedOrigins) ?? []
            allowedMethods = try c.decodeIfPresent([String].self, forKey: .allowedMethods) ?? []
            allowedHeaders = try c.decodeIfPresent([String].self, forKey: .allowedHeaders) ?? []
            exposeHeaders = try c.decodeIfPresent([String].self, forKey: .exposeHeaders) ?? []
        }

        /// Whether the rule lets `origin` make `method` requests.
        public func allows(origin: String, method: String) -> Bool {
            allowedMethods.contains { $0.uppercased() == method }
                && allowedOrigins.contains { pattern in
                    guard let star = pattern.firstIndex(of: "*") else { return pattern == origin }
                    let head = pattern[..<star]
                    let tail = pattern[pattern.index(after: star)...]
                    return origin.hasPrefix(head) && origin.hasSuffix(tail) && origin.count >= head.count + tail.count
                }
        }
    }

    /// The body of a bucket subresource (`?cors`, `?lifecycle`), or nil when S3 answers 404 with
    /// the code `missing`: the bucket has no such configuration.
    private func bucketConfiguration(
        _ operation: String, _ subresource: String, missing: String
    ) async throws
        -> [UInt8]?
    {
        let response = try await send(operation, method: .GET, key: nil, query: [(subresource, "")])
        if response.status == .notFound {
            let body = try await Self.collect(response, limit: 64 * 1024)
            let error = S3Error.from(operation: operation, status: 404, body: body, requestID: nil)
            if error.code == missing { return nil }
            throw error
        }
        return try await expect(response, [200], operation)
    }

    /// `GetBucketCors`: the bucket's CORS rules; empty when it has none.
    public func getBucketCors() async throws -> [CORSRule] {
        guard let body = try await bucketConfiguration("GetBucketCors", "cors", missing: "NoSuchCORSConfiguration")
        else { return [] }
        struct Configuration: Decodable {
            var rules: [CORSRule]?
            enum CodingKeys: String, CodingKey { case rules = "CORSRule" }
        }
        return try decode(Configuration.self, body, "GetBucketCors", keyedByElement: true).rules ?? []
    }

    /// One lifecycle rule, as far as Ferry cares: whether it is on, and after how many days it
    /// aborts unfinished multipart uploads or expires objects.
    public struct LifecycleRule: Sendable, Hashable, Decodable {
        /// `Enabled` or `Disabled`.
        public var status: String
        /// `AbortIncompleteMultipartUpload/DaysAfterInitiation`.
        public var abortIncompleteAfterDays: Int?
        /// `Expiration/Days`: objects deleted this long after they were written.
        public var expirationDays: Int?

        enum CodingKeys: String, CodingKey {
            case status = "Status"
            case abort = "AbortIncompleteMultipartUpload"
            case expiration = "Expiration"
        }
        struct Abort: Decodable {
            var days: Int?
            enum CodingKeys: String, CodingKey { case days = "DaysAfterInitiation" }
        }
        struct Expiration: Decodable {
            var days: Int?
            enum CodingKeys: String, CodingKey { case days = "Days" }
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            status = try c.decodeIfPresent(String.self, forKey: .status) ?? "Enabled"
            abortIncompleteAfterDays = try c.decodeIfPresent(Abort.self, forKey: .abort)?.days
            expirationDays = try c.decodeIfPresent(Expiration.self, forKey: .expiration)?.days
        }
    }

    /// `GetBucketLifecycleConfiguration`: the bucket's rules; empty when it has none.
    public func getBucketLifecycle() async throws -> [LifecycleRule] {
        guard
            let body = try await bucketConfiguration(
                "GetBucketLifecycleConfiguration", "lifecycle", missing: "NoSuchLifecycleConfiguration")
        else { return [] }
        struct Configuration: Decodable {
            var rules: [LifecycleRule]?
            enum CodingKeys: String, CodingKey { case rules = "Rule" }
        }
        return try decode(Configuration.self, body, "GetBucketLifecycleConfiguration", keyedByElement: true).rules ?? []
    }

    /// `GetBucketVersioning`: `Enabled`, `Suspended`, or nil when it was never turned on.
    public func getBucketVersioning() async throws -> String? {
        let response = try await send("GetBucketVersioning", method: .GET, key: nil, query: [("versioning", "")])
        let body = try await expect(response, [200], "GetBucketVersioning")
        struct Configuration: Decodable {
            var status: String?
            enum CodingKeys: String, CodingKey { case status = "Status" }
        }
        return try decode(Configuration.self, body, "GetBucketVersioning", keyedByElement: true).status
    }
}
