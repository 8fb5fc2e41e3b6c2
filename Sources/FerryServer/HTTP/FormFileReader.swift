import Crypto
import FerryCore
import Foundation
import Hummingbird
import MultipartKit
import NIOCore

/// A file sent the way HTML forms, Python requests' `files=` and curl `-F` send one:
/// `multipart/form-data` (RFC 7578). MultipartKit parses the form; this reads the one part that
/// carries a file (a `filename` in its `Content-Disposition`), streams its bytes, and passes over
/// the other fields. Without it such a form was stored whole, boundaries and headers included, as
/// a file of type `multipart/form-data`.
///
/// `next()` returns nil only once the whole form is read and holds: the file's closing boundary
/// came, no second file followed, the body did not end inside a part. So an upload that commits
/// at nil never keeps a cut or doubtful form.
struct FormFileReader {
    /// What the file's part says of it.
    struct FilePart: Sendable, Equatable {
        /// The part's `filename`, without any directory a client put in it (RFC 7578 section 4.2).
        var fileName: String?
        /// The part's `Content-Type`, if it sent one.
        var contentType: String?
    }

    /// Bytes a form may carry besides its file: field values, part headers, preamble.
    static let otherBytesLimit = 1 << 20

    private enum Event {
        case header(String, String)
        case body(ByteBuffer)
        case end
    }

    /// Where the form stands.
    private enum Phase {
        case beforeFile
        case inFile
        case afterFile
    }

    /// The parser's callbacks are synchronous; they queue here and are taken in order.
    private final class Events {
        var list: [Event] = []
        /// Body bytes not yet queued: MultipartKit hands them over in pieces split at every CR.
        var body: ByteBuffer?

        func append(_ event: Event) {
            flush()
            list.append(event)
        }

        func flush() {
            if let body {
                list.append(.body(body))
                self.body = nil
            }
        }
    }

    private var body: RequestBody.AsyncIterator
    private let parser: MultipartParser
    private let events = Events()
    private var queue: [Event] = []
    private var head = 0
    private var phase = Phase.beforeFile
    private var headers: [(String, String)] = []
    private var partOpen = false
    private var otherBytes = 0
    /// Every byte of the request body, as received.
    private(set) var bodyBytes: Int64 = 0
    /// The file's bytes handed out by `next()`.
    private var fileBytes: Int64 = 0
    /// The whole body's SHA-256 as it passes, only when a `Content-Digest` asks for it (set
    /// `hashesBody` before `filePart()`): otherwise no upload pays for a second hash.
    private var bodyHasher: SHA256?
    var hashesBody: Bool {
        get { bodyHasher != nil }
        set { bodyHasher = newValue ? SHA256() : nil }
    }

    /// A reader of `body`, or nil when `contentType` is not `multipart/form-data`.
    /// Throws when it is, but names no usable boundary.
    init?(contentType: String?, body: RequestBody) throws(FerryError) {
        guard let contentType, MediaType.essence(contentType) == "multipart/form-data" else { return nil }
        guard let boundary = Self.boundary(of: contentType) else {
            throw FerryError(
                .badRequest,
                "A multipart/form-data body needs a boundary of 1 to 70 characters in its Content-Type (RFC 2046).")
        }
        self.body = body.makeAsyncIterator()
        parser = MultipartParser(boundary: boundary)
        parser.onHeader = { [events] name, value in events.append(.header(name, value)) }
        parser.onBody = { [events] bytes in
            if events.body == nil {
                events.body = bytes
            } else {
                events.body!.writeBuffer(&bytes)
            }
        }
        parser.onPartComplete = { [events] in events.append(.end) }
    }

    /// The `boundary` parameter of a `multipart/*` media type, unquoted; nil if absent or not 1-70 characters.
    static func boundary(of contentType: String) -> String? {
        for parameter in ContentDisposition.splitParameters(contentType).dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else {
                continue
            }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            return (1...70).contains(value.utf8.count) ? value : nil
        }
        return nil
    }

    /// The SHA-256 of the whole body read so far (all of it, once `next()` returned nil).
    var bodySHA256: [UInt8]? { bodyHasher.map { Array($0.finalize()) } }

    /// Reads up to the file's part and returns what its headers say; its bytes follow from `next()`.
    mutating func filePart() async throws -> FilePart {
        while true {
            while let event = take() {
                switch event {
                case .header(let name, let value):
                    try header(name, value)
                case .body(let bytes):
                    partOpen = true
                    if let part = Self.file(headers) {
                        phase = .inFile
                        putBack()
                        return part
                    }
                    try countOther(bytes.readableBytes)
                case .end:
                    if let part = Self.file(headers) {  // an empty file
                        phase = .inFile
                        putBack()
                        return part
                    }
                    endPart()
                }
            }
            guard try await pull() else {
                throw FerryError(
                    .badRequest,
                    "The form holds no file: send it in a part with a filename (curl -F file=@PATH; Python requests: files={'file': open(PATH, 'rb')}), or send the file's bytes as the body."
                )
            }
        }
    }

    /// The file's next bytes; nil once the file and the rest of the form are read and hold.
    mutating func next() async throws -> ByteBuffer? {
        precondition(phase != .beforeFile, "filePart() first")
        while true {
            while let event = take() {
                switch (phase, event) {
                case (.inFile, .body(let bytes)):
                    fileBytes += Int64(bytes.readableBytes)
                    return bytes
                case (.inFile, .end):
                    phase = .afterFile
                    endPart()
                case (_, .header(let name, let value)):
                    try header(name, value)
                case (_, .body(let bytes)):
                    partOpen = true
                    if Self.file(headers) != nil { throw Self.secondFile }
                    try countOther(bytes.readableBytes)
                case (_, .end):
                    if Self.file(headers) != nil { throw Self.secondFile }
                    endPart()
                }
            }
            guard try await pull() else {
                if phase == .inFile || partOpen {
                    throw FerryError(
                        .badRequest, "The form ended before its closing boundary; nothing was stored. Send it again.")
                }
                return nil
            }
        }
    }

    /// Feeds the parser the body's next chunk; false at the body's end.
    private mutating func pull() async throws -> Bool {
        // Every event taken: what is not the file is preamble, delimiters, fields and epilogue,
        // which the parser passes over without a word (a body of junk would be read to its end).
        if bodyBytes - fileBytes > 2 * Int64(Self.otherBytesLimit) { throw Self.tooMuchBesides }
        guard let chunk = try await body.next() else { return false }
        bodyBytes += Int64(chunk.readableBytes)
        if bodyHasher != nil { chunk.withUnsafeReadableBytes { bodyHasher!.update(bufferPointer: $0) } }
        do {
            try parser.execute(chunk)
        } catch {
            throw FerryError(
                .badRequest,
                "The body is not valid multipart/form-data (RFC 7578); nothing was stored. Send the file's bytes as the body, or a form as browsers, curl -F and requests' files= write it."
            )
        }
        events.flush()
        queue.removeFirst(head)
        head = 0
        queue.append(contentsOf: events.list)
        events.list.removeAll(keepingCapacity: true)
        return true
    }

    private mutating func take() -> Event? {
        guard head < queue.count else { return nil }
        head += 1
        return queue[head - 1]
    }

    /// Puts back the event just taken.
    private mutating func putBack() {
        head -= 1
    }

    private mutating func header(_ name: String, _ value: String) throws {
        partOpen = true
        headers.append((name.lowercased(), value))
        try countOther(name.utf8.count + value.utf8.count)
    }

    private mutating func endPart() {
        headers.removeAll()
        partOpen = false
    }

    private mutating func countOther(_ count: Int) throws {
        otherBytes += count
        if otherBytes > Self.otherBytesLimit { throw Self.tooMuchBesides }
    }

    private static let tooMuchBesides = FerryError(
        .tooLarge, "The form carries more than \(otherBytesLimit) bytes besides its file; send the file alone.")

    private static let secondFile = FerryError(
        .badRequest, "The form holds more than one file; send each file in its own request. Nothing was stored.")

    /// The file a part's headers announce, or nil for a plain field (or a file input left empty:
    /// browsers send it with `filename=""`).
    static func file(_ headers: [(String, String)]) -> FilePart? {
        guard let disposition = headers.last(where: { $0.0 == "content-disposition" })?.1,
            ContentDisposition.splitParameters(disposition).dropFirst().contains(where: {
                $0.trimmingCharacters(in: .whitespaces).lowercased().hasPrefix("filename")
            }),
            let sent = ContentDisposition.parse(disposition)?.filename
        else { return nil }
        // Browsers write `"`, CR and LF in a filename as %22, %0D, %0A (HTML's form encoding).
        let decoded =
            sent
            .replacingOccurrences(of: "%22", with: "\"")
            .replacingOccurrences(of: "%0D", with: "\r")
            .replacingOccurrences(of: "%0A", with: "\n")
        let base = decoded.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init)
        guard let base, !base.isEmpty else { return nil }
        return FilePart(fileName: base, contentType: headers.last(where: { $0.0 == "content-type" })?.1)
    }
}
