import FerryCore
import Foundation
import Testing

/// RFC 9110 section 13.2.2: the order and comparison functions of conditional requests.
@Suite struct PreconditionVectorTests {
    static let etag = EntityTag(opaque: "abc-1")
    static let modified = Date(timeIntervalSince1970: 784_111_777)  // Sun, 06 Nov 1994 08:49:37 GMT
    static let before = "Sat, 05 Nov 1994 08:49:37 GMT"
    static let same = "Sun, 06 Nov 1994 08:49:37 GMT"
    static let after = "Mon, 07 Nov 1994 08:49:37 GMT"

    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var conditions: Preconditions
        var expected: Preconditions.Outcome
        var testDescription: String { name }
    }

    static let vectors: [Vector] = [
        Vector(name: "none", conditions: Preconditions(), expected: .proceed(honorRange: true)),
        Vector(
            name: "If-Match same", conditions: Preconditions(ifMatch: "\"abc-1\""), expected: .proceed(honorRange: true)
        ),
        Vector(
            name: "If-Match list", conditions: Preconditions(ifMatch: "\"x\", \"abc-1\""),
            expected: .proceed(honorRange: true)),
        Vector(name: "If-Match star", conditions: Preconditions(ifMatch: "*"), expected: .proceed(honorRange: true)),
        Vector(name: "If-Match other", conditions: Preconditions(ifMatch: "\"x\""), expected: .failed),
        Vector(
            name: "If-Match weak never matches", conditions: Preconditions(ifMatch: "W/\"abc-1\""), expected: .failed),
        Vector(
            name: "If-Unmodified-Since before", conditions: Preconditions(ifUnmodifiedSince: before), expected: .failed),
        Vector(
            name: "If-Unmodified-Since same", conditions: Preconditions(ifUnmodifiedSince: same),
            expected: .proceed(honorRange: true)),
        Vector(
            name: "If-Unmodified-Since ignored with If-Match",
            conditions: Preconditions(ifMatch: "\"abc-1\"", ifUnmodifiedSince: before),
            expected: .proceed(honorRange: true)),
        Vector(
            name: "If-Unmodified-Since invalid ignored", conditions: Preconditions(ifUnmodifiedSince: "yesterday"),
            expected: .proceed(honorRange: true)),
        Vector(name: "If-None-Match same", conditions: Preconditions(ifNoneMatch: "\"abc-1\""), expected: .notModified),
        Vector(
            name: "If-None-Match weak compare", conditions: Preconditions(ifNoneMatch: "W/\"abc-1\""),
            expected: .notModified),
        Vector(name: "If-None-Match star", conditions: Preconditions(ifNoneMatch: "*"), expected: .notModified),
        Vector(
            name: "If-None-Match other", conditions: Preconditions(ifNoneMatch: "\"x\""),
            expected: .proceed(honorRange: true)),
        Vector(
            name: "If-Modified-Since same", conditions: Preconditions(ifModifiedSince: same), expected: .notModified),
        Vector(
            name: "If-Modified-Since before", conditions: Preconditions(ifModifiedSince: before),
            expected: .proceed(honorRange: true)),
        Vector(
            name: "If-Modified-Since ignored with If-None-Match",
            conditions: Preconditions(ifNoneMatch: "\"x\"", ifModifiedSince: after),
            expected: .proceed(honorRange: true)),
        Vector(
            name: "If-Match beats If-None-Match", conditions: Preconditions(ifMatch: "\"x\"", ifNoneMatch: "\"abc-1\""),
            expected: .failed),
        Vector(
            name: "If-Range same tag", conditions: Preconditions(ifRange: "\"abc-1\""),
            expected: .proceed(honorRange: true)),
        Vector(
            name: "If-Range other tag", conditions: Preconditions(ifRange: "\"x\""),
            expected: .proceed(honorRange: false)),
        Vector(
            name: "If-Range weak tag", conditions: Preconditions(ifRange: "W/\"abc-1\""),
            expected: .proceed(honorRange: false)),
        Vector(
            name: "If-Range same date", conditions: Preconditions(ifRange: same), expected: .proceed(honorRange: true)),
        Vector(
            name: "If-Range other date", conditions: Preconditions(ifRange: before),
            expected: .proceed(honorRange: false)),
        Vector(
            name: "If-Range garbage", conditions: Preconditions(ifRange: "soon"), expected: .proceed(honorRange: false)),
    ]

    @Test(arguments: vectors)
    func evaluatesInRFCOrder(_ vector: Vector) {
        #expect(vector.conditions.evaluate(etag: Self.etag, lastModified: Self.modified) == vector.expected)
    }

    @Test func ifNoneMatchOnUnsafeMethodFails() {
        #expect(
            Preconditions(ifNoneMatch: "*").evaluate(etag: Self.etag, lastModified: Self.modified, isSafeMethod: false)
                == .failed)
    }

    @Test(arguments: [
        ("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777.0), ("Sunday, 06-Nov-94 08:49:37 GMT", 784_111_777.0),
        ("Sun Nov  6 08:49:37 1994", 784_111_777.0),
    ])
    func httpDatesInAllThreeFormats(text: String, seconds: Double) {
        #expect(HTTPDate.parse(text)?.timeIntervalSince1970 == seconds)
        #expect(HTTPDate.format(Date(timeIntervalSince1970: seconds)) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    @Test func rfc3339RoundTripsAndAcceptsOffsets() {
        let date = Date(timeIntervalSince1970: 1_795_370_400)
        #expect(HTTPDate.rfc3339(date) == "2026-11-22T18:00:00Z")
        #expect(HTTPDate.parseRFC3339("2026-11-22T18:00:00Z") == date)
        #expect(HTTPDate.parseRFC3339("2026-11-22T19:00:00+01:00") == date)
        #expect(HTTPDate.parseRFC3339("2026-11-22 18:00") == nil)
    }

    @Test func entityTagLists() {
        #expect(EntityTagList.parse("*") == .any)
        #expect(
            EntityTagList.parse(" \"a\", W/\"b\" ,\"c\"")
                == .tags([.init(opaque: "a"), .init(opaque: "b", isWeak: true), .init(opaque: "c")]))
        #expect(EntityTag.parse("\"abc\"")?.description == "\"abc\"")
        #expect(EntityTag.parse("abc") == nil)
    }
}
