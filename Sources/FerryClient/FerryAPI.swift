import AsyncHTTPClient
import Crypto
@_exported import FerryAPIModels
import FerryCore
import Foundation
import NIOCore
import NIOHTTP1
import _NIOFileSystem

// The wire types are FerryAPIModels', shared with the server and the tests; these names are the
// client library's.

/// A file as the API describes it.
public typealias RemoteFile = APIFile
/// The resume plan (`GET /v1/files/{id}/manifest`).
public typealias Manifest = APIManifest
/// An issued link (its URL is shown once).
public typealias IssuedLink = APIIssuedLink
/// A link as listed (never its URL).
public typealias LinkListing = APILink
/// What a new link should be.
public typealias LinkOptions = APILinkRequest

/// Calls Ferry's HTTP API (API.md) with a bearer token.
public final class FerryAPI: Sendable {
    /// Base URL without a trailing slash, e.g. `https://files.example.com`.
    public let baseURL: String
    let token: String?
    let http: HTTPClient

    /// Creates a client on a shared `HTTPClient` (the caller shuts it down).
    public init(baseURL: String, token: String?, httpClient: HTTPClient) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.token = token
        http = httpClient
    }

    /// An answer: status, headers and (small) body.
    public struct Answer: Sendable {
        /// The exit status.
        public var status: Int
        /// The response headers.
        public var headers: HTTPHeaders
        /// The response body (small).
        public var body: ByteBuffer
    }

    /// Sends a request to an API path and returns the answer; failures of the network are `.network`.
    public func send(
        _ method: HTTPMethod, _ path: String, json: (any Encodable & Sendable)? = nil, headers: [(String, String)] = []
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: "Accept", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(json)))
        }
        do {
            let response = try await http.execute(request, timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 64 * 1024 * 1024)
            return Answer(status: Int(response.status.code), headers: response.headers, body: body)
        } catch {
            throw FerryClientError(.network, "Could not reach \(baseURL): \(NetworkFailure.describe(error))")
        }
    }

    /// Sends and decodes a 2xx answer; anything else becomes the error it describes.
    public func call<T: Decodable>(
        _ type: T.Type, _ method: HTTPMethod, _ path: String, json: (any Encodable & Sendable)? = nil
    ) async throws -> T {
        let answer = try await send(method, path, json: json)
        try Self.check(answer)
        do {
            return try JSONDecoder().decode(T.self, from: Data(answer.body.readableBytesView))
        } catch {
            throw FerryClientError(.unexpected, "The server's answer to \(path) could not be read: \(error)")
        }
    }

    /// Sends a request that answers 204 or another 2xx with nothing to read.
    public func perform(_ method: HTTPMethod, _ path: String, json: (any Encodable & Sendable)? = nil) async throws {
        try Self.check(try await send(method, path, json: json))
    }

    /// Throws the error a non-2xx answer describes.
    static func check(_ answer: Answer) throws {
        guard !(200..<300).contains(answer.status) else { return }
        throw error(status: answer.status, body: answer.body)
    }

    /// The error an answer's body describes (API.md's JSON error shape), by its status.
    public static func error(status: Int, body: ByteBuffer) -> FerryClientError {
        struct Shape: Decodable {
            struct Inner: Decodable {
                var code: String
                var message: String
            }
            var error: Inner
        }
        let shape = try? JSONDecoder().decode(Shape.self, from: Data(body.readableBytesView))
        return FerryClientError.fromAnswer(status: status, code: shape?.error.code, message: shape?.error.message)
    }

    // MARK: Files

    struct FileList: Decodable {
        var files: [RemoteFile]
        var nextCursor: String?
        enum CodingKeys: String, CodingKey {
            case files
            case nextCursor = "next_cursor"
        }
    }

    /// Every file the caller may see, newest first (all pages).
    public func files() async throws -> [RemoteFile] {
        var out: [RemoteFile] = []
        var cursor: String?
        for _ in 0..<10_000 {
            let page = try await call(
                FileList.self, .GET, "/v1/files?limit=200" + (cursor.map { "&cursor=\($0)" } ?? ""))
            out += page.files
            guard let next = page.nextCursor else { break }
            cursor = next
        }
        return out
    }

    /// One file.
    public func file(id: String) async throws -> RemoteFile {
        try await call(RemoteFile.self, .GET, "/v1/files/\(Self.segment(id))")
    }

    /// Deletes a file.
    public func delete(id: String) async throws {
        try await perform(.DELETE, "/v1/files/\(Self.segment(id))")
    }

    /// The resume plan, with a fresh link.
    public func manifest(id: String) async throws -> Manifest {
        try await call(Manifest.self, .GET, "/v1/files/\(Self.segment(id))/manifest")
    }

    /// Uploads a file from disk, streamed, with its SHA-256 so the server refuses a corrupted copy.
    /// `progress` is called with the bytes sent so far.
    public func upload(
        path: String, name: String, contentType: String, progress: (@Sendable (Int64) -> Void)? = nil
    ) async throws -> RemoteFile {
        let digest = try await Self.sha256(ofFile: path)
        let size = try await FileSystem.shared.info(forFileAt: FilePath(path))?.size ?? 0
        var request = uploadRequest(name: name, contentType: contentType)
        request.headers.add(name: "X-Ferry-SHA256", value: digest)
        request.body = .stream(FileChunks(path: path, progress: progress), length: .known(size))
        return try await sendUpload(request)
    }

    /// `POST /v1/files?name=` with the credentials and type, without its body.
    func uploadRequest(name: String, contentType: String) -> HTTPClientRequest {
        let query = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name
        var request = HTTPClientRequest(url: "\(baseURL)/v1/files?name=\(query)")
        request.method = .POST
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: "Content-Type", value: contentType)
        return request
    }

    /// Sends an upload and reads the new file from the answer.
    func sendUpload(_ request: HTTPClientRequest) async throws -> RemoteFile {
        let answer: Answer
        do {
            let response = try await http.execute(request, timeout: .hours(24))
            answer = Answer(
                status: Int(response.status.code), headers: response.headers,
                body: try await response.body.collect(upTo: 1024 * 1024))
        } catch let error as FerryClientError {
            throw error
        } catch {
            throw FerryClientError(.network, "The upload to \(baseURL) failed: \(NetworkFailure.describe(error))")
        }
        try Self.check(answer)
        return try JSONDecoder().decode(RemoteFile.self, from: Data(answer.body.readableBytesView))
    }

    /// Hex SHA-256 of a file, read in 1 MiB chunks.
    public static func sha256(ofFile path: String) async throws -> String {
        var hasher = SHA256()
        try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
            for try await chunk in handle.readChunks(chunkLength: .mebibytes(1)) {
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
            }
        }
        return Hex.encode(hasher.finalize())
    }

    // MARK: Links, grants, accounts, audit

    /// Issues a link; its URL is shown only in this answer.
    public func createLink(fileID: String, options: LinkOptions) async throws -> IssuedLink {
        try await call(IssuedLink.self, .POST, "/v1/files/\(Self.segment(fileID))/links", json: options)
    }

    /// Makes a bundle of files (in order) served as one resumable zip.
    public func createBundle(fileIDs: [String], name: String?) async throws -> APIBundle {
        try await call(APIBundle.self, .POST, "/v1/bundles", json: APIBundleRequest(fileIDs: fileIDs, name: name))
    }

    /// A bundle.
    public func bundle(id: String) async throws -> APIBundle {
        try await call(APIBundle.self, .GET, "/v1/bundles/\(Self.segment(id))")
    }

    /// Issues a link to a bundle.
    public func createBundleLink(bundleID: String, options: LinkOptions) async throws -> IssuedLink {
        try await call(IssuedLink.self, .POST, "/v1/bundles/\(Self.segment(bundleID))/links", json: options)
    }

    /// A bundle's links (as `links(fileID:)`).
    public func links(bundleID: String) async throws -> [LinkListing] {
        try await links(at: "/v1/bundles/\(Self.segment(bundleID))/links")
    }

    /// Deletes a bundle (its creator or an admin); its files stay.
    public func deleteBundle(id: String) async throws {
        try await perform(.DELETE, "/v1/bundles/\(Self.segment(id))")
    }

    /// The absolute URL of a bundle's archive.
    public func bundleContentURL(id: String) -> String {
        baseURL + "/v1/bundles/\(Self.segment(id))/content"
    }

    /// `Authorization` for requests the caller makes itself (a bundle's archive).
    public var authorizationHeader: String? { token.map { "Bearer \($0)" } }

    /// The file's links.
    public func links(fileID: String) async throws -> [LinkListing] {
        try await links(at: "/v1/files/\(Self.segment(fileID))/links")
    }

    /// `{"links": [...]}` at `path`.
    private func links(at path: String) async throws -> [LinkListing] {
        struct Shape: Decodable { var links: [LinkListing] }
        return try await call(Shape.self, .GET, path).links
    }

    /// Revokes a server link.
    public func revokeLink(id: String) async throws {
        try await perform(.DELETE, "/v1/links/\(Self.segment(id))")
    }

    /// Shares a file with a user.
    public func share(fileID: String, username: String) async throws {
        struct Body: Encodable, Sendable { var username: String }
        try await perform(.POST, "/v1/files/\(Self.segment(fileID))/grants", json: Body(username: username))
    }

    /// Sets a user's password (`PATCH /v1/users/{username}`): an admin for anyone, a user for itself.
    public func setPassword(username: String, password: String) async throws {
        struct Body: Encodable, Sendable { var password: String }
        try await perform(.PATCH, "/v1/users/\(Self.segment(username))", json: Body(password: password))
    }

    /// Stops sharing a file with a user.
    public func unshare(fileID: String, username: String) async throws {
        try await perform(.DELETE, "/v1/files/\(Self.segment(fileID))/grants/\(Self.segment(username))")
    }

    /// A list endpoint's raw JSON (users, tokens, audit), for printing.
    public func raw(_ path: String) async throws -> [String: JSONValue] {
        try await call([String: JSONValue].self, .GET, path)
    }

    /// A path segment with everything but unreserved characters escaped.
    public static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~"))) ?? text
    }
}

/// Any JSON value, for commands that print what the server answered.
public enum JSONValue: Codable, Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .number(let n): try c.encode(n)
        case .bool(let b): try c.encode(b)
        case .null: try c.encodeNil()
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// Plain text for tables: strings bare, numbers without a needless `.0`.
    public var description: String {
        switch self {
        case .string(let s): return s
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .bool(let b): return String(b)
        case .null: return "-"
        case .array(let a): return a.map(\.description).joined(separator: ",")
        case .object(let o):
            let data = (try? APIJSON.encode(o)) ?? Data()  // keys sorted, as every --json line
            return String(decoding: data, as: UTF8.self)
        }
    }
}

/// A file (or a range of it) read in 256 KiB chunks as an upload body, reporting progress.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    var range: Range<Int64>? = nil
    var progress: (@Sendable (Int64) -> Void)? = nil
    /// Paces the reads (`--limit-rate`), and with them the upload.
    var limiter: RateLimiter? = nil

    struct AsyncIterator: AsyncIteratorProtocol {
        let path: String
        let end: Int64?
        let progress: (@Sendable (Int64) -> Void)?
        let limiter: RateLimiter?
        var file: OpenFile?
        var offset: Int64
        var finished = false

        mutating func next() async throws -> ByteBuffer? {
            guard !finished else { return nil }
            if file == nil { file = OpenFile(try await FileSystem.shared.openFile(forReadingAt: FilePath(path))) }
            guard let handle = file?.handle else { return nil }
            let length = end.map { Swift.min(Int64(256 << 10), $0 - offset) } ?? Int64(256 << 10)
            let chunk =
                length > 0
                ? try await handle.readChunk(fromAbsoluteOffset: offset, length: .bytes(length)) : ByteBuffer()
            guard chunk.readableBytes > 0 else {
                try await uncancelled { try await handle.close() }
                file = nil
                finished = true
                return nil
            }
            try await limiter?.take(chunk.readableBytes)
            offset += Int64(chunk.readableBytes)
            progress?(offset)
            return chunk
        }
    }

    /// The open file of an upload body. An upload that stops early (a refusal, a lost connection,
    /// a cancelled task) drops its iterator without reaching the end: the file is closed then.
    final class OpenFile: Sendable {
        let handle: ReadFileHandle
        init(_ handle: ReadFileHandle) { self.handle = handle }
        deinit { _ = try? handle.detachUnsafeFileDescriptor().close() }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(
            path: path, end: range?.upperBound, progress: progress, limiter: limiter, offset: range?.lowerBound ?? 0)
    }
}
