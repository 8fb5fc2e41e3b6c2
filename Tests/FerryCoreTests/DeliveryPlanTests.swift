import FerryCore
import Foundation
import NIOCore
import Testing

/// `DeliveryPlan`: the answer to a GET of a representation, decided once from its conditions and
/// its range (RFC 9110 sections 13-14), without a server.
@Suite struct DeliveryPlanTests {
    static let etag = EntityTag(opaque: "abc")
    static let modified = Date(timeIntervalSince1970: 1_700_000_000)

    static func plan(size: Int64 = 1000, range: String? = nil, _ conditions: Preconditions = .init()) -> DeliveryPlan {
        DeliveryPlan.make(
            size: size, etag: etag, lastModified: modified, contentType: "text/plain", conditions: conditions,
            range: range, boundary: { "BOUNDARY" })
    }

    @Test(
        arguments: [
            (nil, 200, "0-999", nil),
            ("bytes=0-99", 206, "0-99", "bytes 0-99/1000"),
            ("bytes=-10", 206, "990-999", "bytes 990-999/1000"),
            ("bytes=900-", 206, "900-999", "bytes 900-999/1000"),
            ("bytes=990-5000", 206, "990-999", "bytes 990-999/1000"),
            ("items=0-9", 200, "0-999", nil),
            ("bytes=9-0", 200, "0-999", nil),
        ] as [(String?, Int, String, String?)])
    func aSingleRangeOrTheWhole(range: String?, status: Int, served: String, contentRange: String?) throws {
        guard case .send(let body) = Self.plan(range: range) else {
            Issue.record("\(range ?? "none") was not sent")
            return
        }
        #expect(body.status == status)
        #expect(body.contentRange == contentRange)
        #expect(body.contentType == "text/plain")
        let bounds = served.split(separator: "-").compactMap { Int64($0) }
        #expect(body.parts == [.bytes(bounds[0]...bounds[1])])
        #expect(body.length == bounds[1] - bounds[0] + 1)
    }

    @Test func severalRangesAreAMultipartBodyWhoseLengthIsItsParts() throws {
        guard case .send(let body) = Self.plan(range: "bytes=0-9,500-509") else {
            Issue.record("not sent")
            return
        }
        #expect(body.status == 206)
        #expect(body.contentType == "multipart/byteranges; boundary=BOUNDARY")
        #expect(body.rangeText == "0-9,500-509")
        #expect(body.firstRange == 0...9)
        let framing = body.parts.compactMap { part -> String? in
            if case .literal(let buffer) = part { return String(buffer: buffer) }
            return nil
        }
        #expect(framing.first == "--BOUNDARY\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-9/1000\r\n\r\n")
        #expect(framing.last == "\r\n--BOUNDARY--\r\n")
        #expect(body.length == 20 + Int64(framing.reduce(0) { $0 + $1.utf8.count }))
    }

    @Test func conditionsComeBeforeTheRange() {
        #expect(Self.plan(range: "bytes=5000-", .init(ifNoneMatch: Self.etag.description)) == .notModified)
        #expect(Self.plan(range: "bytes=0-1", .init(ifMatch: "\"other\"")) == .preconditionFailed)
        #expect(Self.plan(range: "bytes=5000-") == .rangeNotSatisfiable)
        #expect(Self.plan(size: 0, range: "bytes=0-0") == .rangeNotSatisfiable)
        // If-Range that does not match: the whole body, the range ignored.
        guard case .send(let body) = Self.plan(range: "bytes=0-1", .init(ifRange: "\"other\"")) else {
            Issue.record("not sent")
            return
        }
        #expect(body.status == 200 && body.length == 1000)
    }

    @Test func anEmptyRepresentationIsAnEmptyBody() {
        #expect(
            Self.plan(size: 0)
                == .send(.init(status: 200, contentType: "text/plain", contentRange: nil, parts: [], rangeText: nil)))
    }
}
