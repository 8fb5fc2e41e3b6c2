import AsyncHTTPClient
import Crypto
import FerryCore
import Foundation
import NIOCore
import NIOHTTP1
import _NIOFileSystem

#if canImport(Glibc)
    import Glibc
#endif

/// What a download reports as it goes.
public enum DownloadEvent: Sendable, Equatable {
    /// The plan is known; `alreadyHave` bytes come from an earlier run.
    case started(name: String, path: String, total: Int64, alreadyHave: Int64, connections: Int)
    /// Bytes on disk so far.
    case progress(bytes: Int64, total: Int64, connections: Int)
    /// A link expired and a fresh one was fetched.
    case refresh(message: String)
    /// The download starts over (the file changed on the server, or the partial data is unusable).
    case restart(reason: String)
    /// A request failed and is tried again.
    case retry(message: String)
    /// The result is in place and verified.
    case done(path: String, sha256: String, bytes: Int64, resentBytes: Int64)
}

/// How to download.
public struct DownloadOptions: Sendable {
    /// What to download.
    public var source: DownloadSource
    /// Destination path; nil = the server's name for the file, made safe, in `directory`.
    public var destination: String?
    /// Where a download without `-o` lands.
    public var directory: String
    /// Parallel ranged requests.
    public var connections: Int
    /// Part size for plain URLs (the manifest chooses for Ferry files).
    public var partSize: Int64?
    /// Attempts per request on network failures before giving up (resumable).
    public var maxAttempts: Int
    /// Restarts from zero (file changed) before giving up.
    public var maxRestarts: Int
    /// Called after each part has landed (and its blocks checked), with the part's index: for
    /// progress displays that count parts, and for tests that act at a precise point.
    public var afterPart: (@Sendable (Int) async throws -> Void)?
    /// The SHA-256 (hex) the whole file must have, as `aria2c --checksum`: checked at the end
    /// like the server's own, and against what the server publishes before anything is fetched.
    public var expectedSHA256: String?
    /// At most this many bytes a second over all connections together (`--limit-rate`); nil: no limit.
    public var maxBytesPerSecond: Int64?
    /// The password of a password link (API.md "Password-protected links"), sent as HTTP Basic
    /// with every request of a plain URL; never sent to Ferry's API or to a store.
    public var linkPassword: String?
    /// `Authorization` for every request of a plain URL (a bundle's archive: the bearer token);
    /// wins over `linkPassword`.
    public var authorization: String?

    /// Creates options.
    public init(
        source: DownloadSource, destination: String? = nil, directory: String = ".", connections: Int = 4,
        partSize: Int64? = nil, maxAttempts: Int = 5, maxRestarts: Int = 3
    ) {
        self.source = source
        self.destination = destination
        self.directory = directory
        self.connections = max(1, min(connections, 32))
        self.partSize = partSize
        self.maxAttempts = max(1, maxAttempts)
        self.maxRestarts = max(0, maxRestarts)
    }
}

/// What a finished download did.
public struct DownloadResult: Sendable {
    /// Where the file is.
    public var path: String
    /// SHA-256 of the content, lowercase hex.
    public var sha256: String
    /// Its size in bytes.
    public var bytes: Int64
    /// Bytes fetched more than once (parts in flight when an earlier run stopped, bad blocks).
    public var resentBytes: Int64
    /// Bytes this run fetched (less than `bytes` when it resumed).
    public var fetchedBytes: Int64
    /// Links refreshed on the way.
    public var refreshes: Int
    /// Times the download started over (the file changed).
    public var restarts: Int
    /// Blocks that arrived corrupted and were fetched again.
    public var badBlocks: Int
}

/// Segmented, parallel, resumable downloads that survive link expiry, never stitch two versions of a
/// file together, and verify every block and the whole result (CLI.md "Downloads").
///
/// Parts are fetched with ranged GETs carrying `If-Range` with the version's strong ETag (on
/// Ferry's links and plain URLs; storage links name an object written once), written at
/// their offsets into `<destination>.ferry-part.data`, and recorded in the control file
/// `<destination>.ferry-part`; the destination appears, by rename, only when complete and verified.
public final class Downloader: Sendable {
    let http: HTTPClient
    /// The API of a server base URL (nil base = the configured server), for manifests.
    let api: @Sendable (String?) -> FerryAPI?
    let userAgent: String

    /// Creates a downloader. `api` returns the API client for a base URL (or the configured one for nil).
    public init(http: HTTPClient, userAgent: String = "ferry", api: @escaping @Sendable (String?) -> FerryAPI?) {
        self.http = http
        self.api = api
        self.userAgent = userAgent
    }

    /// Downloads, resuming from a control file when one matches, and returns what happened.
    public func download(
        _ options: DownloadOptions, events: @escaping @Sendable (DownloadEvent) -> Void
    ) async throws -> DownloadResult {
        var restarts = 0
        var refreshes = 0
        var badBlocks = 0
        var resent: Int64 = 0
        var fetched: Int64 = 0
        // One budget for every connection and every restart of this download.
        let limiter = options.maxBytesPerSecond.map { RateLimiter(bytesPerSecond: $0) }
        while true {
            var plan = try await makePlan(options)
            if let expected = options.expectedSHA256?.lowercased() {
                if let published = plan.sha256, published != expected {
                    throw FerryClientError(
                        .checksum,
                        "The server publishes SHA-256 \(published) for this file, not the \(expected) you expected; nothing was downloaded."
                    )
                }
                if plan.sha256 == nil { plan.blocksProveWholeFile = false }  // the user's hash: read it all
                plan.sha256 = expected
            }
            let destination = try destinationPath(options, plan: plan)
            let transfer = try await Transfer.open(
                plan: plan, source: options.source.description, destination: destination,
                maxAttempts: options.maxAttempts, events: events)
            let reason: String
            do {
                switch try await run(transfer, options: options, limiter: limiter, events: events) {
                case .finished(let result):
                    return DownloadResult(
                        path: result.path, sha256: result.sha256, bytes: result.bytes,
                        resentBytes: resent + result.resentBytes, fetchedBytes: fetched + result.fetchedBytes,
                        refreshes: refreshes + result.refreshes, restarts: restarts,
                        badBlocks: badBlocks + result.badBlocks)
                case .restart(let why):
                    reason = why
                }
            } catch {
                try? await transfer.close()
                throw error
            }
            let counts = await transfer.counts()
            refreshes += counts.refreshes
            badBlocks += counts.badBlocks
            resent += counts.fetched
            fetched += counts.fetched
            await transfer.discard()
            restarts += 1
            guard restarts <= options.maxRestarts else {
                throw FerryClientError(
                    .unexpected, "\(reason) The download restarted \(options.maxRestarts) times; giving up.")
            }
            events(.restart(reason: "\(reason) Starting over from zero."))
        }
    }

    /// The plan: the manifest for Ferry files, a probe for plain URLs.
    func makePlan(_ options: DownloadOptions) async throws -> DownloadPlan {
        if let manifest = try await manifest(for: options.source) { return DownloadPlan(manifest: manifest) }
        guard case .url(let url) = options.source else { preconditionFailure("a Ferry source has a manifest") }
        let authorization =
            options.authorization ?? options.linkPassword.map { "Basic " + Data(":\($0)".utf8).base64EncodedString() }
        var plan = try await DownloadPlan.probe(
            url: url, http: http, userAgent: userAgent, partSize: options.partSize ?? 8 * 1024 * 1024,
            authorization: authorization)
        plan.authorization = authorization
        return plan
    }

    /// The resume plan of a Ferry file (a file id or a `/d/` URL) from its server; nil for a plain URL.
    public func manifest(for source: DownloadSource) async throws -> Manifest? {
        switch source {
        case .file(let id):
            guard let api = api(nil) else {
                throw FerryClientError(
                    .usage, "No server configured: run `ferry login` or set FERRY_URL and FERRY_TOKEN.")
            }
            return try await api.manifest(id: id)
        case .broker(let base, let id):
            guard let api = api(base) else {
                throw FerryClientError(.usage, "No token for \(base): run `ferry login` or set FERRY_TOKEN.")
            }
            return try await api.manifest(id: id)
        case .url:
            return nil
        }
    }

    func refreshPlan(_ source: DownloadSource) async throws -> DownloadPlan {
        try await makePlan(DownloadOptions(source: source))
    }

    /// A URL for messages, without its secrets: a signed URL's query, a Ferry link's token
    /// (`/t/…`).
    public static func redacted(_ url: String) -> String {
        var shown = url.firstIndex(of: "?").map { String(url[..<$0]) + "?…" } ?? url
        if let token = shown.range(of: "/t/") { shown = String(shown[..<token.upperBound]) + "…" }
        return shown
    }

    /// Whether a 403 body from a store or CDN says the signed URL expired.
    static func looksExpired(_ body: ByteBuffer) -> Bool {
        let text = String(buffer: body).lowercased()
        return text.contains("request has expired") || text.contains("expired")
    }

    // MARK: Running a transfer

    struct Outcome {
        var path: String
        var sha256: String
        var bytes: Int64
        var resentBytes: Int64
        var fetchedBytes: Int64
        var refreshes: Int
        var badBlocks: Int
    }

    /// How a run of a transfer ended: the file in place, or a new version to start over for.
    enum RunOutcome {
        case finished(Outcome)
        case restart(String)
    }

    func run(
        _ transfer: Transfer, options: DownloadOptions, limiter: RateLimiter? = nil,
        events: @escaping @Sendable (DownloadEvent) -> Void
    ) async throws -> RunOutcome {
        let connections = await transfer.plan.acceptsRanges ? options.connections : 1
        let (have, size) = await transfer.progress()
        events(
            .started(
                name: await transfer.plan.name, path: transfer.destination, total: size, alreadyHave: have,
                connections: connections))
        for _ in 0..<100 {
            let remaining = await transfer.remainingParts()
            guard !remaining.isEmpty else { break }
            let restart = try await withThrowingTaskGroup(of: String?.self) { group -> String? in
                group.addTask {
                    // Progress while the parts are on their way.
                    while !Task.isCancelled {
                        try await Task.sleep(for: .milliseconds(250))
                        let (bytes, total) = await transfer.progress()
                        events(.progress(bytes: bytes, total: total, connections: connections))
                    }
                    return nil
                }
                let workers = min(connections, remaining.count)
                for _ in 0..<workers {
                    group.addTask {
                        while let part = await transfer.nextPart() {
                            if let reason = try await self.fetch(
                                part: part, transfer: transfer, options: options, limiter: limiter, events: events)
                            {
                                return reason
                            }
                        }
                        return nil
                    }
                }
                // The workers end when no part is left (or one found a new version); then the
                // ticker and the others are cancelled.
                var finishedWorkers = 0
                while finishedWorkers < workers, let result = try await group.next() {
                    if let reason = result {
                        group.cancelAll()
                        return reason
                    }
                    finishedWorkers += 1
                }
                group.cancelAll()
                return nil
            }
            if let restart { return .restart(restart) }
        }
        let (bytes, total) = await transfer.progress()
        events(.progress(bytes: bytes, total: total, connections: connections))
        return .finished(try await transfer.finish())
    }

    /// Fetches one part, doing what the transfer's state decides on each failure: retry after a
    /// backoff, refresh the link, or stop. Returns why the download must start over, if it must.
    func fetch(
        part: Int, transfer: Transfer, options: DownloadOptions, limiter: RateLimiter? = nil,
        events: @escaping @Sendable (DownloadEvent) -> Void
    ) async throws -> String? {
        while true {
            let (plan, generation) = await transfer.current()
            switch try await get(part: part, plan: plan, transfer: transfer, limiter: limiter) {
            case .landed(let digests):
                try await transfer.completed(part: part, digests: digests)
                try await transfer.advanceWholeHash()
                try await options.afterPart?(part)
                return nil
            case .failed(let failure):
                switch await transfer.failed(part: part, failure, generation: generation) {
                case .retry(let attempt, let message):
                    events(.retry(message: message))
                    try await RetryDelay.sleep(after: attempt)
                case .refresh(let seen):
                    if let reason = try await transfer.refresh(
                        seen: seen, using: { try await self.refreshPlan(options.source) })
                    {
                        return reason
                    }
                case .restart(let reason):
                    return reason
                case .stop(let kind, let message, let code):
                    throw FerryClientError(kind, message, code: code, status: kind == .expired ? 403 : nil)
                }
            }
        }
    }

    /// How one request of a part ended.
    enum Fetched {
        /// All its bytes are written; the digests of its blocks when they streamed in whole.
        case landed([Int: String]?)
        /// It failed in a way the transfer's state decides about.
        case failed(TransferState.Failure)
    }

    /// Bytes gathered before each write to the file.
    static let writeBatch = 256 << 10

    /// One ranged GET of a part, streamed to its offset. When parts are whole blocks, each block's
    /// SHA-256 is computed as the bytes stream in and returned (no read-back from disk).
    func get(
        part: Int, plan: DownloadPlan, transfer: Transfer, limiter: RateLimiter? = nil
    ) async throws -> Fetched {
        let whole = plan.range(ofPart: part)
        // A part taken up again continues after its verified blocks (ranges only).
        let skip = await transfer.beginFetch(part: part, ranged: plan.acceptsRanges)
        let range = (whole.lowerBound + skip)...whole.upperBound
        var request = HTTPClientRequest(url: plan.url)
        request.headers.add(name: "User-Agent", value: userAgent)
        if let authorization = plan.authorization { request.headers.add(name: "Authorization", value: authorization) }
        if plan.acceptsRanges {
            request.headers.add(name: "Range", value: "bytes=\(range.lowerBound)-\(range.upperBound)")
            if let validator = plan.rangeValidator { request.headers.add(name: "If-Range", value: validator) }
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(60))
        } catch {
            // A sibling part failed for good and the group was cancelled: not a network failure.
            if Task.isCancelled { throw CancellationError() }
            return .failed(.network(NetworkFailure.describe(error)))
        }
        let status = Int(response.status.code)
        switch status {
        case 206 where plan.acceptsRanges:
            let first = response.headers.first(name: "content-range")?.dropFirst("bytes ".count).split(separator: "-")
                .first.flatMap { Int64($0) }
            guard first == range.lowerBound else {
                return .failed(.replaced("The server answered another range than the one asked for."))
            }
        case 200 where !plan.acceptsRanges:
            break
        case 200:
            // If-Range did not match: the server sends the whole, newer file.
            return .failed(.replaced("The file changed on the server while it was downloading."))
        default:
            let body = (try? await response.body.collect(upTo: 64 * 1024)) ?? ByteBuffer()
            return .failed(try Self.refusal(status: status, body: body, plan: plan))
        }
        var offset = range.lowerBound
        var blocks = Transfer.streamsBlocks(plan) ? BlockHasher(plan: plan, start: range.lowerBound) : nil
        // The network hands over chunks of up to 64 KiB; they are gathered into 256 KiB writes (a
        // quarter of the trips to the file thread; 1 MiB was no faster and cost 10 MiB of RSS).
        var batch = ByteBuffer()
        batch.reserveCapacity(Self.writeBatch)
        // The end of the blocks written and matched so far, recorded for a later take-up.
        var recorded = range.lowerBound
        do {
            for try await chunk in response.body {
                // Reading no faster than the budget slows the sender through TCP's window.
                try await limiter?.take(chunk.readableBytes)
                blocks?.update(chunk)
                offset += Int64(chunk.readableBytes)
                if batch.readableBytes == 0 && chunk.readableBytes >= Self.writeBatch {
                    try await transfer.write(chunk, at: offset - Int64(chunk.readableBytes), part: part)
                } else {
                    var chunk = chunk
                    batch.writeBuffer(&chunk)
                    guard batch.readableBytes >= Self.writeBatch else { continue }
                    try await transfer.write(batch, at: offset - Int64(batch.readableBytes), part: part)
                    batch.clear()
                }
                if let blocks, let end = blocks.matchedEnd(from: recorded, writtenTo: offset, plan: plan) {
                    recorded = end
                    try await transfer.verified(part: part, bytes: end - whole.lowerBound)
                }
            }
            if batch.readableBytes > 0 {
                try await transfer.write(batch, at: offset - Int64(batch.readableBytes), part: part)
            }
        } catch let error as FerryClientError {
            throw error
        } catch {
            if Task.isCancelled { throw CancellationError() }
            return .failed(
                .network(
                    "the connection broke after \(offset - range.lowerBound) bytes: \(NetworkFailure.describe(error))"))
        }
        guard offset == range.upperBound + 1 else {
            return .failed(.network("the answer ended after \(offset - range.lowerBound) of \(range.count) bytes"))
        }
        return .landed(blocks?.finish())
    }

    /// What a refusal means for the transfer (expired, replaced, a network failure), or the error
    /// that stops the download with the reason.
    static func refusal(status: Int, body: ByteBuffer, plan: DownloadPlan) throws -> TransferState.Failure {
        let error = FerryAPI.error(status: status, body: body)
        switch (status, error.code) {
        case (403, "link_expired"):
            return .expired("The secure link expired.")
        case (403, nil) where looksExpired(body) || plan.refreshable:
            // A store or CDN refusing its signed URL: most often expiry; a fresh link tells.
            return .expired("The storage refused the signed link (HTTP 403).")
        case (410, "file_changed"), (412, _):
            return .replaced("The file was replaced on the server.")
        case (429, _), (500..., _), (408, _):
            return .network("HTTP \(status)")
        case (403, "link_revoked"):
            throw FerryClientError(.forbidden, "The link was revoked: \(error.message)", code: error.code, status: 403)
        case (403, "forbidden"):
            throw FerryClientError(
                .forbidden, "Access was removed: \(error.message)", code: error.code, status: status)
        case (410, "file_gone"), (404, _):
            throw FerryClientError(.notFound, "The file is gone: \(error.message)", code: error.code, status: status)
        default:
            throw error
        }
    }
}
