import FerryCore
import FerrySigV4

extension CloudFrontURLSigner {
    /// CDN delivery of links (`FERRY_CLOUDFRONT_*`): the distribution, its key pair and the private
    /// key file (read, and its mode checked, when the store opens).
    public struct Configuration: Sendable, Equatable {
        /// `FERRY_CLOUDFRONT_DOMAIN`, e.g. `d111111abcdef8.cloudfront.net`.
        public var domain: String
        /// `FERRY_CLOUDFRONT_KEY_PAIR_ID`.
        public var keyPairID: String
        /// `FERRY_CLOUDFRONT_PRIVATE_KEY_FILE`: a PEM file readable by its owner only.
        public var privateKeyFile: String
        /// `FERRY_CLOUDFRONT_HASH`: `sha1` (default) or `sha256`.
        public var hashAlgorithm: CloudFrontSigner.HashAlgorithm

        /// Reads the `FERRY_CLOUDFRONT_*` variables; nil when none is set, an error naming the first
        /// missing one when only some are.
        public init?(source: ConfigurationSource) throws(ConfigurationError) {
            let domain = source.string("FERRY_CLOUDFRONT_DOMAIN")
            let keyPairID = source.string("FERRY_CLOUDFRONT_KEY_PAIR_ID")
            let keyFile = source.string("FERRY_CLOUDFRONT_PRIVATE_KEY_FILE")
            guard domain != nil || keyPairID != nil || keyFile != nil else { return nil }
            guard let domain, let keyPairID, let keyFile else {
                let missing = [
                    domain == nil ? "FERRY_CLOUDFRONT_DOMAIN" : nil,
                    keyPairID == nil ? "FERRY_CLOUDFRONT_KEY_PAIR_ID" : nil,
                    keyFile == nil ? "FERRY_CLOUDFRONT_PRIVATE_KEY_FILE" : nil,
                ].compactMap { $0 }
                throw ConfigurationError(
                    variable: missing[0], problem: "CloudFront delivery needs \(missing.joined(separator: ", ")) too")
            }
            guard !domain.contains("/"), !domain.contains(":") else {
                throw ConfigurationError(
                    variable: "FERRY_CLOUDFRONT_DOMAIN",
                    problem: "expected a host name like d111111abcdef8.cloudfront.net"
                )
            }
            let hash = (source.string("FERRY_CLOUDFRONT_HASH") ?? "sha1").lowercased()
            guard let algorithm = CloudFrontSigner.HashAlgorithm(rawValue: hash) else {
                throw ConfigurationError(
                    variable: "FERRY_CLOUDFRONT_HASH", problem: "expected sha1 or sha256, got '\(hash)'")
            }
            self.domain = domain
            self.keyPairID = keyPairID
            privateKeyFile = keyFile
            hashAlgorithm = algorithm
        }
    }
}
