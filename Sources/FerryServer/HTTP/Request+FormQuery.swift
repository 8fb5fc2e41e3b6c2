import Foundation
import Hummingbird

/// A query string read as browsers, HTML forms, curl `--data-urlencode` and Python's `requests`
/// write it (WHATWG `application/x-www-form-urlencoded`): `+` is a space, `%2B` a plus.
/// Hummingbird's `uri.queryParameters` percent-decodes but keeps `+`, which stored
/// `Q3 report.pdf` sent by `requests` as `Q3+report.pdf`. Hand-written: no listed package
/// decodes form-encoded queries on the server side.
struct FormQuery: Sendable {
    /// The decoded pairs in request order.
    let pairs: [(name: String, value: String)]

    /// Parses a raw query (without the `?`).
    init(_ raw: String?) {
        guard let raw, !raw.isEmpty else {
            pairs = []
            return
        }
        pairs = raw.split(separator: "&", omittingEmptySubsequences: true).map { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (Self.decode(parts[0]), parts.count > 1 ? Self.decode(parts[1]) : "")
        }
    }

    /// The first value of `name`, nil when absent.
    func get(_ name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    /// `+` to space, then percent-decoding; text whose escapes are broken stays as it came.
    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}

extension Request {
    /// The query parameters, form-decoded (`+` is a space).
    var formQuery: FormQuery { FormQuery(uri.query) }
}
