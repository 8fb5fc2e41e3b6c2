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

    /// `GetBucketCors`: the bucket's CORS rules; empty when it has none.
    public func getBucketCors() async throws -> [CORSRule] {
        let response = try await send("GetBucketCors", method: .GET, key: nil, query: [("cors", "")])
        if response.status == .notFound {
            let body = try await Self.collect(response, limit: 64 * 1024)
            let error = S3Error.from(operation: "GetBucketCors", status: 404, body: body, requestID: nil)
            if error.code == "NoSuchCORSConfiguration" { return [] }
            throw error
        }
        let body = try await expect(response, [200], "GetBucketCors")
        struct Configuration: Decodable {
            var rules: [CORSRule]?
            enum CodingKeys: String, CodingKey { case rules = "CORSRule" }
        }
        return try decode(Configuration.self, body, "GetBucketCors").rules ?? []
    }
}
