import FerryAPIModels
import FerryCore
import FerryTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Generated `Range` / `If-Range` / `If-None-Match` / `If-Match` combinations on files of 0, 1, a
/// block and a few blocks, each answer of `/content` compared with a reference model of RFC 9110
/// sections 13-14 written here independently of Ferry's parser (API.md "Ranges and conditions").
/// Short form (1 500) in every run; `FERRY_RELIABILITY_LONG=1` runs 100 000 (RELIABILITY.md).
@Suite struct RangeModelTests {
    static var count: Int { ProcessInfo.processInfo.environment["FERRY_RELIABILITY_LONG"] == "1" ? 100_000 : 1_500 }

    /// What RFC 9110 says a GET with these fields gets.
    enum Expected: Equatable {
        case full, notModified, preconditionFailed, unsatisfiable
        /// The satisfiable ranges in request order (before any coalescing).
        case partial([ClosedRange<Int>])
    }

    struct Request {
        var range: String?
        var ifRange: String?
        var ifNoneMatch: String?
        var ifMatch: String?
    }

    /// The reference model (RFC 9110 section 13.2.2's order, 14.1-14.2's grammar).
    enum Model {
        static func tags(_ field: String) -> [(weak: Bool, opaque: String)]? {
            var out: [(Bool, String)] = []
            for raw in field.split(separator: ",", omittingEmptySubsequences: false) {
                let item = raw.trimmingCharacters(in: .whitespaces)
                if item.isEmpty { continue }
                let weak = item.hasPrefix("W/")
                let quoted = weak ? String(item.dropFirst(2)) : item
                guard quoted.count >= 2, quoted.hasPrefix("\""), quoted.hasSuffix("\""),
                    !quoted.dropFirst().dropLast().contains("\"")
                else { return nil }
                out.append((weak, String(quoted.dropFirst().dropLast())))
            }
            return out
        }

        static func answer(_ r: Request, size: Int, etag: String, lastModified: String) -> Expected {
            let current = String(etag.dropFirst().dropLast())  // strong: "opaque"
            if let ifMatch = r.ifMatch {
                let matched =
                    ifMatch.trimmingCharacters(in: .whitespaces) == "*"
                    || (tags(ifMatch) ?? []).contains { !$0.weak && $0.opaque == current }
                if !matched { return .preconditionFailed }
            }
            if let ifNoneMatch = r.ifNoneMatch {
                let matched =
                    ifNoneMatch.trimmingCharacters(in: .whitespaces) == "*"
                    || (tags(ifNoneMatch) ?? []).contains { $0.opaque == current }
                if matched { return .notModified }
            }
            guard let range = r.range else { return .full }
            if let ifRange = r.ifRange {
                let matches = ifRange == etag || ifRange == lastModified
                if !matches { return .full }
            }
            guard let specs = parse(range) else { return .full }
            var satisfiable: [ClosedRange<Int>] = []
            for (first, last) in specs {
                if let first {
                    if first < size { satisfiable.append(first...min(last ?? size - 1, size - 1)) }
                } else if let length = last, length > 0, size > 0 {
                    satisfiable.append(max(0, size - length)...(size - 1))
                }
            }
            return satisfiable.isEmpty ? .unsatisfiable : .partial(satisfiable)
        }

        /// `bytes=` range-set: (first, last) with first nil for a suffix; nil when invalid.
        static func parse(_ field: String) -> [(Int?, Int?)]? {
            let text = field.trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
            guard let eq = text.firstIndex(of: "="), text[..<eq].lowercased() == "bytes" else { return nil }
            var specs: [(Int?, Int?)] = []
            for raw in text[text.index(after: eq)...].split(separator: ",", omittingEmptySubsequences: false) {
                let item = raw.trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
                if item.isEmpty { continue }
                let halves = item.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
                guard halves.count == 2 else { return nil }
                func number(_ s: Substring) -> Int?? {
                    if s.isEmpty { return .some(nil) }
                    guard s.allSatisfy(\.isASCII), s.allSatisfy(\.isNumber), s.count <= 15 else { return nil }
                    return .some(Int(s)!)
                }
                guard let first = number(halves[0]), let last = number(halves[1]) else { return nil }
                if first == nil && last == nil { return nil }
                if let f = first, let l = last, l < f { return nil }
                specs.append((first, last))
            }
            return specs.isEmpty || specs.count > ByteRange.maximumRangeCount ? nil : specs
        }
    }

    /// Random requests that stay near the edges where parsers go wrong.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }
        mutating func chance(_ percent: UInt64) -> Bool { next() % 100 < percent }

        mutating func position(_ size: Int) -> Int {
            pick([0, 1, 2, size - 1, size, size + 1, size * 2, 4095, 4096, 4097, Int(next() % UInt64(size + 3))])
                .clamped(0)
        }

        mutating func spec(_ size: Int) -> String {
            switch next() % 9 {
            case 0, 1, 2:
                let a = position(size)
                let b = chance(15) ? max(0, a - 1 - Int(next() % 3)) : a + Int(next() % UInt64(size + 2))
                return "\(a)-\(b)"
            case 3, 4: return "\(position(size))-"
            case 5, 6: return "-\(position(size))"
            case 7: return pick(["", " ", "-", "a-b", "1-2-3", "0x1-2", "+1-2", "1 -2", "99999999999999999999-", "-0"])
            default: return "\(position(size))-\(position(size))"
            }
        }

        mutating func range(_ size: Int) -> String {
            let count = pick([1, 1, 1, 2, 2, 3, 5])
            let specs = (0..<count).map { _ in spec(size) }
            let separator = pick([",", ", ", " ,", ",,"])
            let unit = pick(["bytes=", "bytes=", "bytes=", "Bytes=", "BYTES=", "bytes =", "items=", "bytes", " bytes="])
            return unit + specs.joined(separator: separator)
        }

        mutating func tagList(_ etag: String) -> String {
            let other = "\"\(Identifier.random(bytes: 6))\""
            let items = (0..<pick([1, 1, 2, 3])).map { _ in pick([etag, "W/" + etag, other, "W/" + other]) }
            return chance(10) ? "*" : items.joined(separator: pick([",", ", "]))
        }

        mutating func request(size: Int, etag: String, lastModified: String) -> Request {
            var r = Request()
            if chance(85) { r.range = range(size) }
            if chance(25) {
                r.ifRange = pick([
                    etag, "W/" + etag, "\"other\"", lastModified, "Thu, 01 Jan 1970 00:00:00 GMT", "garbage",
                ])
            }
            if chance(20) { r.ifNoneMatch = tagList(etag) }
            if chance(20) { r.ifMatch = tagList(etag) }
            return r
        }
    }

    @Test func everyAnswerMatchesTheModel() async throws {
        let server = try await TestServer.make()
        let seed =
            UInt64(ProcessInfo.processInfo.environment["FERRY_RANGE_SEED"] ?? "") ?? UInt64.random(in: 1...1 << 40)
        try await server.test { client in
            var files: [(APIFile, [UInt8])] = []
            for (index, size) in [0, 1, 4096, 3 * 4096 + 17].enumerated() {
                let bytes = TestData.bytes(size, seed: UInt64(70 + index))
                files.append((try await client.uploadFile(bytes, token: server.adminToken), bytes))
            }
            var heads: [String: String] = [:]
            for (file, _) in files {
                let head = try await client.get("/v1/files/\(file.id)/content", token: server.adminToken, method: .head)
                heads[file.id] = head.headers[.lastModified]
            }
            var generator = Generator(state: seed)
            var wrong = 0
            for n in 0..<Self.count {
                let (file, bytes) = generator.pick(files)
                let lastModified = heads[file.id] ?? ""
                let request = generator.request(size: bytes.count, etag: file.etag, lastModified: lastModified)
                var headers: HTTPFields = [:]
                if let v = request.range { headers[.range] = v }
                if let v = request.ifRange { headers[.ifRange] = v }
                if let v = request.ifNoneMatch { headers[.ifNoneMatch] = v }
                if let v = request.ifMatch { headers[.ifMatch] = v }
                let response = try await client.get(
                    "/v1/files/\(file.id)/content", token: server.adminToken, headers: headers)
                let expected = Model.answer(request, size: bytes.count, etag: file.etag, lastModified: lastModified)
                if let problem = Self.check(response, expected, bytes) {
                    wrong += 1
                    if wrong <= 5 {
                        Issue.record("seed \(seed) request \(n) \(request) on \(bytes.count) bytes: \(problem)")
                    }
                }
            }
            #expect(wrong == 0, "\(wrong) of \(Self.count) answers differ from RFC 9110's model (seed \(seed))")
        }
    }

    /// Nil when the response is what the model expects, else what differs.
    static func check(_ response: TestResponse, _ expected: Expected, _ bytes: [UInt8]) -> String? {
        let status = Int(response.status.code)
        let body = Array(response.body.readableBytesView)
        switch expected {
        case .preconditionFailed: return status == 412 ? nil : "expected 412, got \(status)"
        case .notModified: return status == 304 && body.isEmpty ? nil : "expected 304, got \(status)"
        case .unsatisfiable:
            guard status == 416 else { return "expected 416, got \(status)" }
            return response.headers[.contentRange] == "bytes */\(bytes.count)" ? nil : "416 without bytes */size"
        case .full:
            guard status == 200 else { return "expected 200, got \(status)" }
            return body == bytes ? nil : "200 with other bytes"
        case .partial(let ranges):
            if status == 200, ranges.count > 1 { return body == bytes ? nil : "200 with other bytes" }
            guard status == 206 else { return "expected 206 for \(ranges), got \(status)" }
            let parts: [(ClosedRange<Int>, [UInt8])]
            if let type = response.headers[.contentType], type.hasPrefix("multipart/byteranges") {
                guard let parsed = multipart(body, type: type, size: bytes.count) else { return "unreadable multipart" }
                parts = parsed
            } else {
                guard let value = response.headers[.contentRange], let range = contentRange(value, size: bytes.count)
                else { return "206 without a Content-Range of this size" }
                parts = [(range, body)]
            }
            // Each part holds its bytes; together they cover every requested byte and stay within
            // the requested span (coalescing may add the gap between two ranges, nothing else).
            for (range, content) in parts where content != Array(bytes[range]) {
                return "part \(range) holds other bytes"
            }
            let served = parts.map(\.0)
            for range in ranges
            where !served.contains(where: { $0.contains(range.lowerBound) && $0.contains(range.upperBound) }) {
                return "requested \(range) not served whole (served \(served))"
            }
            let low = ranges.map(\.lowerBound).min()!
            let high = ranges.map(\.upperBound).max()!
            if served.contains(where: { $0.lowerBound < low || $0.upperBound > high }) {
                return "served \(served) beyond the requested \(low)...\(high)"
            }
            if ranges.count == 1, served != ranges { return "one range \(ranges) served as \(served)" }
            return nil
        }
    }

    static func contentRange(_ value: String, size: Int) -> ClosedRange<Int>? {
        guard value.hasPrefix("bytes "), value.hasSuffix("/\(size)") else { return nil }
        let span = value.dropFirst(6).dropLast("/\(size)".count).split(separator: "-")
        guard span.count == 2, let a = Int(span[0]), let b = Int(span[1]), a <= b, b < size else { return nil }
        return a...b
    }

    /// The parts of a `multipart/byteranges` body (RFC 9110 section 14.6).
    static func multipart(_ body: [UInt8], type: String, size: Int) -> [(ClosedRange<Int>, [UInt8])]? {
        guard
            let boundary = type.components(separatedBy: "boundary=").last?.trimmingCharacters(
                in: .init(charactersIn: "\""))
        else { return nil }
        let delimiter = Array("--\(boundary)".utf8)
        var parts: [(ClosedRange<Int>, [UInt8])] = []
        var i = 0
        func find(_ needle: [UInt8], from start: Int) -> Int? {
            guard needle.count <= body.count else { return nil }
            var j = start
            while j + needle.count <= body.count {
                if body[j] == needle[0], Array(body[j..<(j + needle.count)]) == needle { return j }
                j += 1
            }
            return nil
        }
        guard var at = find(delimiter, from: 0) else { return nil }
        while true {
            i = at + delimiter.count
            if i + 2 <= body.count, body[i] == UInt8(ascii: "-"), body[i + 1] == UInt8(ascii: "-") { return parts }
            guard let headEnd = find(Array("\r\n\r\n".utf8), from: i) else { return nil }
            let head = String(decoding: body[i..<headEnd], as: UTF8.self)
            guard
                let line = head.components(separatedBy: "\r\n").first(where: {
                    $0.lowercased().hasPrefix("content-range:")
                }),
                let range = contentRange(
                    String(line.dropFirst("content-range:".count)).trimmingCharacters(in: .whitespaces), size: size)
            else { return nil }
            let start = headEnd + 4
            let end = start + range.count
            guard end <= body.count else { return nil }
            parts.append((range, Array(body[start..<end])))
            guard let next = find(Array("\r\n".utf8) + delimiter, from: end) else { return nil }
            at = next + 2
        }
    }
}

extension Int {
    fileprivate func clamped(_ low: Int) -> Int { Swift.max(low, self) }
}
