import AsyncHTTPClient
import FerryCore
import Foundation
import NIOCore
import NIOHTTP1

/// What `ferry get` downloads: a file id, a `/d/{id}` URL, a `/t/{token}` link, or any http(s) URL.
public enum DownloadSource: Sendable, Hashable, CustomStringConvertible {
    /// A file on the configured server, planned through its manifest (refreshable).
    case file(id: String)
    /// A broker URL `<base>/d/{id}`: planned through the manifest of that server (refreshable).
    case broker(base: String, id: String)
    /// Any other URL (a `/t/` link too): a generic segmented download, without refresh.
    case url(String)

    /// Classifies what the user typed.
    public init(parsing text: String) throws {
        guard text.contains("://") else {
            guard Identifier.isWellFormed(text) else {
                throw FerryClientError(.usage, "'\(text)' is neither a file id nor an http(s) URL.")
            }
            self = .file(id: text)
            return
        }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host
        else {
            throw FerryClientError(.usage, "'\(text)' is not an http(s) URL.")
        }
        let parts = url.path.split(separator: "/")
        if parts.count >= 2, parts[parts.count - 2] == "d", Identifier.isWellFormed(parts[parts.count - 1]) {
            var base = "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
            let prefix = parts.dropLast(2).joined(separator: "/")
            if !prefix.isEmpty { base += "/" + prefix }
            self = .broker(base: base, id: String(parts[parts.count - 1]))
            return
        }
        self = .url(text)
    }

    public var description: String {
        switch self {
        case .file(let id): id
        case .broker(let base, let id): "\(base)/d/\(id)"
        case .url(let url): url
        }
    }
}

/// Everything a segmented download needs to know: where the bytes are, how many, which version,
/// how to cut them and how to check them.
public struct DownloadPlan: Sendable {
    /// The URL.
    public var url: String
    /// Size in bytes.
    public var size: Int64
    /// The version's strong entity tag: a resumed download or a refreshed link must show the same.
    public var etag: String?
    /// What ranged requests to `url` send in `If-Range`: the version's entity tag when `url` is
    /// Ferry's own (`/t/`) or a plain URL; nil for a storage or CDN link, whose store compares
    /// If-Range with its own ETag (S3 honors it: a Ferry tag there would get the whole object on
    /// every request). Such a link names one object written once (one key per version), so it can
    /// only ever serve that version.
    public var rangeValidator: String?
    /// Expected SHA-256 of the whole content (from the manifest).
    public var sha256: String?
    /// Bytes per part of a segmented download.
    public var partSize: Int64
    /// Bytes per verified block (8 MiB).
    public var blockSize: Int64
    /// Expected SHA-256 of each block (from the manifest); empty when unknown.
    public var blockSHA256: [String]
    /// Whether every block matching `blockSHA256` proves the whole file: both come from the
    /// server's manifest with `sha256`, so no second pass over the file is needed (issue 25). A
    /// SHA-256 the user gives instead is checked by hashing the whole file.
    public var blocksProveWholeFile = false
    /// The name the server gives the file (never used as a path; see `Downloader.safeName`).
    public var name: String
    /// Whether the server answers ranges (206).
    public var acceptsRanges: Bool
    /// Whether a fresh link can be fetched (file ids and `/d/` URLs).
    public var refreshable: Bool
    /// `Authorization` sent with every request of a plain URL: HTTP Basic for a password link.
    public var authorization: String?

    var partCount: Int { size == 0 ? 0 : Int((size + partSize - 1) / partSize) }

    func range(ofPart index: Int) -> ClosedRange<Int64> {
        let start = Int64(index) * partSize
        return start...(min(size, start + partSize) - 1)
    }

    func range(ofBlock index: Int) -> ClosedRange<Int64> {
        let start = Int64(index) * blockSize
        return start...(min(size, start + blockSize) - 1)
    }

    /// Parts whose bytes make up a block.
    func parts(ofBlock index: Int) -> ClosedRange<Int> {
        let range = range(ofBlock: index)
        return Int(range.lowerBound / partSize)...Int(range.upperBound / partSize)
    }

    /// Blocks touched by a part.
    func blocks(ofPart index: Int) -> ClosedRange<Int> {
        let range = range(ofPart: index)
        return Int(range.lowerBound / blockSize)...Int(range.upperBound / blockSize)
    }

    /// The plan of a manifest.
    init(manifest: Manifest) {
        url = manifest.link.url
        size = manifest.file.size
        etag = manifest.file.etag
        rangeValidator = manifest.link.strategy == "server" ? manifest.file.etag : nil
        sha256 = manifest.file.sha256
        partSize = max(manifest.partSize, 1)
        blockSize = max(manifest.blockSize, 1)
        blockSHA256 = manifest.blockSHA256
        blocksProveWholeFile = !manifest.blockSHA256.isEmpty
        name = manifest.file.name
        acceptsRanges = true
        refreshable = true
    }

    init(
        url: String, size: Int64, etag: String?, partSize: Int64, name: String, acceptsRanges: Bool
    ) {
        self.url = url
        self.size = size
        self.etag = etag
        self.rangeValidator = etag
        sha256 = nil
        self.partSize = acceptsRanges ? max(partSize, 1) : max(size, 1)
        blockSize = 8 * 1024 * 1024
        blockSHA256 = []
        self.name = name
        self.acceptsRanges = acceptsRanges
        refreshable = false
    }
}

extension DownloadPlan {
    /// Learns size, validator and name of a plain URL with a one-byte ranged GET.
    static func probe(
        url: String, http: HTTPClient, userAgent: String, partSize: Int64, authorization: String? = nil
    ) async throws -> DownloadPlan {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Range", value: "bytes=0-0")
        request.headers.add(name: "User-Agent", value: userAgent)
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await http.execute(request, timeout: .seconds(60))
            body = try await response.body.collect(upTo: 1024 * 1024)
        } catch {
            throw FerryClientError(
                .network, "Could not reach \(Downloader.redacted(url)): \(NetworkFailure.describe(error))")
        }
        let status = Int(response.status.code)
        let name =
            response.headers.first(name: "content-disposition").flatMap(ContentDisposition.parse)?.filename
            ?? URL(string: url)?.lastPathComponent ?? ""
        let etag = response.headers.first(name: "etag").flatMap { $0.hasPrefix("W/") ? nil : $0 }
        var plan: DownloadPlan
        switch status {
        case 206:
            guard
                let total = response.headers.first(name: "content-range")?.split(separator: "/").last.flatMap({
                    Int64($0)
                })
            else {
                throw FerryClientError(.unexpected, "The server answered a range without its total size.")
            }
            plan = DownloadPlan(url: url, size: total, etag: etag, partSize: partSize, name: name, acceptsRanges: true)
        case 200:
            let size = response.headers.first(name: "content-length").flatMap { Int64($0) } ?? Int64(body.readableBytes)
            plan = DownloadPlan(url: url, size: size, etag: etag, partSize: partSize, name: name, acceptsRanges: false)
        case 416:
            plan = DownloadPlan(url: url, size: 0, etag: etag, partSize: partSize, name: name, acceptsRanges: true)
        default:
            let error = FerryAPI.error(status: status, body: body)
            if status == 403, error.code == "link_expired" || Downloader.looksExpired(body) {
                throw FerryClientError(
                    .expired, "The link has expired and a plain URL cannot be refreshed; ask for a new link.",
                    code: "link_expired", status: 403)
            }
            throw error
        }
        plan.sha256 = sha256(fromDigestHeaders: response.headers)
        return plan
    }

    /// The SHA-256 of the whole representation a server announces: RFC 9530 `Repr-Digest`
    /// (Ferry's `/t/` links send it), or the older RFC 3230 `Digest` (`SHA-256=<base64>`); hex, or nil.
    public static func sha256(fromDigestHeaders headers: HTTPHeaders) -> String? {
        for value in headers["repr-digest"] {
            if let bytes = try? DigestField.sha256(value) { return Hex.encode(bytes) }
        }
        for value in headers["digest"] {
            for member in value.split(separator: ",") {
                let pair = member.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "sha-256",
                    let bytes = Data(base64Encoded: pair[1].trimmingCharacters(in: .whitespaces)), bytes.count == 32
                else { continue }
                return Hex.encode(bytes)
            }
        }
        return nil
    }
}
