#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The conditional-request headers of one request (RFC 9110 section 13.1).
public struct Preconditions: Sendable {
    /// `If-Match`.
    public var ifMatch: String?
    /// `If-None-Match`.
    public var ifNoneMatch: String?
    /// `If-Modified-Since`.
    public var ifModifiedSince: String?
    /// `If-Unmodified-Since`.
    public var ifUnmodifiedSince: String?
    /// `If-Range`.
    public var ifRange: String?

    /// Creates the set from raw header values.
    public init(
        ifMatch: String? = nil, ifNoneMatch: String? = nil, ifModifiedSince: String? = nil,
        ifUnmodifiedSince: String? = nil, ifRange: String? = nil
    ) {
        self.ifMatch = ifMatch
        self.ifNoneMatch = ifNoneMatch
        self.ifModifiedSince = ifModifiedSince
        self.ifUnmodifiedSince = ifUnmodifiedSince
        self.ifRange = ifRange
    }

    /// What the preconditions decide for a representation.
    public enum Outcome: Hashable, Sendable {
        /// Go on; `honorRange` is false when `If-Range` did not match (serve the full body).
        case proceed(honorRange: Bool)
        /// 304 Not Modified.
        case notModified
        /// 412 Precondition Failed.
        case failed
    }

    /// Evaluates the preconditions in the order of RFC 9110 section 13.2.2 for a representation
    /// with a strong `etag` and `lastModified`. `isSafeMethod` is true for GET and HEAD.
    public func evaluate(etag: EntityTag, lastModified: Date, isSafeMethod: Bool = true) -> Outcome {
        let modified = lastModified.timeIntervalSince1970.rounded(.down)
        // Step 1: If-Match, strong comparison.
        if let ifMatch {
            switch EntityTagList.parse(ifMatch) {
            case .any: break
            case .tags(let tags): if !tags.contains(where: { $0.strongMatches(etag) }) { return .failed }
            }
        } else if let ifUnmodifiedSince, let date = HTTPDate.parse(ifUnmodifiedSince) {
            // Step 2: If-Unmodified-Since, only without If-Match.
            if modified > date.timeIntervalSince1970 { return .failed }
        }
        // Step 3: If-None-Match, weak comparison.
        if let ifNoneMatch {
            let matches: Bool
            switch EntityTagList.parse(ifNoneMatch) {
            case .any: matches = true
            case .tags(let tags): matches = tags.contains(where: { $0.weakMatches(etag) })
            }
            if matches { return isSafeMethod ? .notModified : .failed }
        } else if isSafeMethod, let ifModifiedSince, let date = HTTPDate.parse(ifModifiedSince) {
            // Step 4: If-Modified-Since, only without If-None-Match, only for GET/HEAD.
            if modified <= date.timeIntervalSince1970 { return .notModified }
        }
        // Step 5: If-Range (section 13.1.5).
        return .proceed(honorRange: ifRangeMatches(etag: etag, lastModified: modified))
    }

    /// If-Range matches when absent, when it is a strong tag equal to the current one, or when it is
    /// a date equal to Last-Modified. A weak tag or a malformed value never matches.
    func ifRangeMatches(etag: EntityTag, lastModified: Double) -> Bool {
        guard let ifRange else { return true }
        let value = ifRange.trimmingSpaces
        if value.hasPrefix("\"") || value.hasPrefix("W/") {
            guard let tag = EntityTag.parse(value) else { return false }
            return tag.strongMatches(etag)
        }
        guard let date = HTTPDate.parse(value) else { return false }
        return date.timeIntervalSince1970 == lastModified
    }
}
