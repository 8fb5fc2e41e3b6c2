import AsyncHTTPClient
import Crypto
import FerryCore
import Foundation
import NIOCore
import NIOHTTP1
import _NIOFileSystem

/// What a resumable upload reports as it goes.
public enum UploadEvent: Sendable, Equatable {
    /// The upload begins (or continues: `alreadySent` bytes are on the server).
    case started(name: String, total: Int64, alreadySent: Int64)
    /// Bytes the server has acknowledged.
    case progress(bytes: Int64, total: Int64)
    /// A request failed and is tried again.
    case retry(message: String)
    /// The earlier upload cannot be continued; a new one starts.
    case restart(reason: String)
}

/// How to upload a file through tus (`POST`/`PATCH /v1/uploads`, API.md "Resumable uploads").
public struct ResumableUploadOptions: Sendable {
    /// The local file to upload.
    public var path: String
    /// The name on the server.
    public var name: String
    /// The media type; nil: the server's choice from the name.
    public var contentType: String?
    /// The file whose content this replaces.
    public var replace: String?
    /// Where the state of unfinished uploads is kept (the same command resumes from it).
    public var stateDirectory: String
    /// Bytes per PATCH: a kill re-sends at most the part of one chunk the server did not keep.
    public var chunkSize: Int64
    /// Attempts per chunk on network failures before giving up (then run again to resume).
    public var maxAttempts: Int
    /// At most this many bytes a second (`--limit-rate`); nil: no limit.
    public var maxBytesPerSecond: Int64?

    /// Creates options.
    public init(
        path: String, name: String, contentType: String? = nil, replace: String? = nil, stateDirectory: String,
        chunkSize: Int64 = 16 << 20, maxAttempts: Int = 5
    ) {
        self.path = path
        self.name = name
        self.contentType = contentType
        self.replace = replace
        self.stateDirectory = stateDirectory
        self.chunkSize = max(1 << 20, chunkSize)
        self.maxAttempts = max(1, maxAttempts)
    }
}

/// What is kept of an unfinished upload, so that the same command continues it: where it is,
/// which version of the local file it is of, and the SHA-256 of what was sent.
struct UploadState: Codable, Equatable {
    var url: String
    var size: Int64
    var modified: Double
    var sha256: String
    var sent: Int64
    var sentSHA256: String

    enum CodingKeys: String, CodingKey {
        case url, size, modified, sha256, sent
        case sentSHA256 = "sent_sha256"
    }
}

extension FerryAPI {
    /// Uploads a file through tus, continuing an earlier run's upload of the same file when the
    /// file has not changed since (size, modification time and the SHA-256 of what was sent); a
    /// changed file starts a new upload and discards the old one. Network failures are retried
    /// from the offset the server says; the server checks the whole file's SHA-256 at the end.
    public func resumableUpload(
        _ options: ResumableUploadOptions, events: @escaping @Sendable (UploadEvent) -> Void
    ) async throws -> RemoteFile {
        guard let info = try await FileSystem.shared.info(forFileAt: FilePath(options.path)) else {
            throw FerryClientError(.usage, "Cannot read \(options.path).")
        }
        let size = info.size
        let modified =
            Double(info.lastDataModificationTime.seconds) + Double(info.lastDataModificationTime.nanoseconds) / 1e9
        let statePath = try stateFile(options)
        var state = try? JSONDecoder().decode(UploadState.self, from: Data(contentsOf: URL(fileURLWithPath: statePath)))
        var offset: Int64 = 0
        var hasher = SHA256()
        if let saved = state {
            switch try await resumePoint(saved, size: size, modified: modified, path: options.path) {
            case .resume(let at, let prefix):
                offset = at
                hasher = prefix
            case .completed(let fileID):
                try? FileManager.default.removeItem(atPath: statePath)
                PrivateFile.removeLeftovers(of: statePath)
                return try await file(id: fileID)
            case .restart(let reason):
                events(.restart(reason: reason))
                _ = try? await tus(.DELETE, saved.url)
                state = nil
            }
        }
        if state == nil {
            let digest = try await Self.sha256(ofFile: options.path)
            let url = try await createUpload(options, size: size, sha256: digest)
            state = UploadState(
                url: url, size: size, modified: modified, sha256: digest, sent: 0,
                sentSHA256: Hex.encode(SHA256().finalize()))
            try save(state!, to: statePath)
        }
        guard var state else { throw FerryClientError(.unexpected, "No upload to continue.") }
        events(.started(name: options.name, total: size, alreadySent: offset))
        let limiter = options.maxBytesPerSecond.map { RateLimiter(bytesPerSecond: $0) }
        var attempts = 0
        var lockedWaits = 0
        while true {
            let length = min(options.chunkSize, size - offset)
            let answer: Answer
            do {
                answer = try await patch(
                    state.url, path: options.path, offset: offset, length: length, limiter: limiter)
            } catch let error as FerryClientError where error.kind == .network {
                attempts += 1
                guard attempts < options.maxAttempts else {
                    throw FerryClientError(
                        .network,
                        "The network failed \(attempts) times in a row (\(error.message)). Run the same command again to resume."
                    )
                }
                events(.retry(message: "\(error.message); asking the server where the upload stands"))
                try await RetryDelay.sleep(after: attempts)
                (offset, hasher) = try await realign(state, path: options.path, from: offset, hasher: hasher)
                continue
            }
            switch answer.status {
            case 204:
                attempts = 0
                guard let next = answer.headers.first(name: "Upload-Offset").flatMap(Int64.init), next >= offset else {
                    throw FerryClientError(.unexpected, "The server's answer has no Upload-Offset.")
                }
                try await Self.feed(path: options.path, range: offset..<next, into: &hasher)
                offset = next
                if let fileID = answer.headers.first(name: "Ferry-File-Id") {
                    events(.progress(bytes: offset, total: size))
                    try? FileManager.default.removeItem(atPath: statePath)
                    PrivateFile.removeLeftovers(of: statePath)
                    return try await file(id: fileID)
                }
                state.sent = offset
                state.sentSHA256 = Hex.encode(hasher.finalize())
                try save(state, to: statePath)
                events(.progress(bytes: offset, total: size))
            case 423:
                // Another writer holds the upload, most often a request that broke off when a node
                // died: its lease runs out within half a minute. Waiting for it is not a failure.
                lockedWaits += 1
                guard lockedWaits <= 30 else {
                    try Self.check(answer)
                    throw FerryClientError(.network, "The upload stayed locked; run the command again.")
                }
                let wait = answer.headers.first(name: "Retry-After").flatMap(Int.init) ?? 2
                try await Task.sleep(for: .seconds(min(max(wait, 1), 10)))
                (offset, hasher) = try await realign(state, path: options.path, from: offset, hasher: hasher)
            case 409, 460, 503:
                attempts += 1
                guard attempts < options.maxAttempts else {
                    try Self.check(answer)
                    throw FerryClientError(.network, "The server kept refusing the upload; run the command again.")
                }
                events(.retry(message: "the server answered \(answer.status); continuing from where it stands"))
                try await RetryDelay.sleep(after: attempts)
                (offset, hasher) = try await realign(state, path: options.path, from: offset, hasher: hasher)
            case 404, 410:
                try? FileManager.default.removeItem(atPath: statePath)
                PrivateFile.removeLeftovers(of: statePath)
                throw FerryClientError(
                    .notFound,
                    "The upload is gone from the server (expired or deleted); run the command again to start over.")
            default:
                try Self.check(answer)
                throw FerryClientError(.unexpected, "The server answered \(answer.status) to a PATCH.")
            }
        }
    }

    enum ResumePoint {
        case resume(Int64, SHA256)
        case completed(String)
        case restart(String)
    }

    /// Where a saved upload stands: continued when the local file is the one it began with.
    func resumePoint(_ saved: UploadState, size: Int64, modified: Double, path: String) async throws -> ResumePoint {
        guard saved.size == size, abs(saved.modified - modified) < 0.001 else {
            return .restart("The local file changed since the first attempt; starting a new upload.")
        }
        let head = try await tus(.HEAD, saved.url)
        if let fileID = head.headers.first(name: "Ferry-File-Id") { return .completed(fileID) }
        guard head.status == 200, let at = head.headers.first(name: "Upload-Offset").flatMap(Int64.init),
            at >= saved.sent
        else {
            return .restart("The earlier upload is gone from the server; starting a new one.")
        }
        var hasher = SHA256()
        try await Self.feed(path: path, range: 0..<saved.sent, into: &hasher)
        guard Hex.encode(hasher.finalize()) == saved.sentSHA256 else {
            return .restart("The start of the local file changed since it was sent; starting a new upload.")
        }
        try await Self.feed(path: path, range: saved.sent..<at, into: &hasher)
        return .resume(at, hasher)
    }

    /// The server's offset after a failure, and the hash of what it holds.
    func realign(
        _ state: UploadState, path: String, from offset: Int64, hasher: SHA256
    ) async throws -> (Int64, SHA256) {
        let head = try await tus(.HEAD, state.url)
        try Self.check(head)
        guard let at = head.headers.first(name: "Upload-Offset").flatMap(Int64.init), at >= offset else {
            throw FerryClientError(
                .unexpected, "The server lost part of the upload; run the command again to start over.")
        }
        var hasher = hasher
        try await Self.feed(path: path, range: offset..<at, into: &hasher)
        return (at, hasher)
    }

    /// `POST /v1/uploads`; returns the upload's URL.
    func createUpload(_ options: ResumableUploadOptions, size: Int64, sha256: String) async throws -> String {
        var metadata = [("filename", options.name), ("sha256", sha256)]
        if let type = options.contentType { metadata.append(("filetype", type)) }
        if let replace = options.replace { metadata.append(("file_id", replace)) }
        let answer = try await tus(
            .POST, "\(baseURL)/v1/uploads",
            headers: [
                ("Upload-Length", String(size)),
                (
                    "Upload-Metadata",
                    metadata.map { "\($0.0) \(Data($0.1.utf8).base64EncodedString())" }.joined(separator: ",")
                ),
            ])
        try Self.check(answer)
        guard let location = answer.headers.first(name: "Location") else {
            throw FerryClientError(.unexpected, "The server created the upload without saying where.")
        }
        return location.hasPrefix("/") ? baseURL + location : location
    }

    /// One chunk, streamed from the file.
    func patch(
        _ url: String, path: String, offset: Int64, length: Int64, limiter: RateLimiter?
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = .PATCH
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: "Tus-Resumable", value: "1.0.0")
        request.headers.add(name: "Upload-Offset", value: String(offset))
        request.headers.add(name: "Content-Type", value: "application/offset+octet-stream")
        request.body = .stream(
            FileChunks(path: path, range: offset..<(offset + length), limiter: limiter), length: .known(length))
        return try await send(request, timeout: .hours(1))
    }

    /// A tus request without a body.
    func tus(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = []) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: "Tus-Resumable", value: "1.0.0")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return try await send(request, timeout: .seconds(60))
    }

    func send(_ request: HTTPClientRequest, timeout: TimeAmount) async throws -> Answer {
        do {
            let response = try await http.execute(request, timeout: timeout)
            return Answer(
                status: Int(response.status.code), headers: response.headers,
                body: try await response.body.collect(upTo: 1024 * 1024))
        } catch {
            throw FerryClientError(.network, NetworkFailure.describe(error))
        }
    }

    /// The state file of an upload of this file, to this server, under this name.
    func stateFile(_ options: ResumableUploadOptions) throws -> String {
        let absolute = URL(fileURLWithPath: options.path).standardizedFileURL.path
        let key = [baseURL, absolute, options.name, options.replace ?? ""].joined(separator: "\n")
        try FileManager.default.createDirectory(
            atPath: options.stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return options.stateDirectory + "/" + Hex.encode(SHA256.hash(data: Array(key.utf8)).prefix(16)) + ".json"
    }

    func save(_ state: UploadState, to path: String) throws {
        do {
            try PrivateFile.replace(path, with: try JSONEncoder().encode(state))
        } catch {
            throw FerryClientError(.unexpected, "Cannot write \(path): \(error).")
        }
    }

    /// Hashes `range` of a file into `hasher`.
    static func feed(path: String, range: Range<Int64>, into hasher: inout SHA256) async throws {
        guard !range.isEmpty else { return }
        for try await chunk in FileChunks(path: path, range: range) {
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        }
    }
}
