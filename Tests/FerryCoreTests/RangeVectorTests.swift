import FerryCore
import PropertyBased
import Testing

/// RFC 9110 section 14 ranges, from the RFC's own examples and the corners around them.
@Suite struct RangeVectorTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        var header: String
        var size: Int64
        var expected: RangeResolution
        var testDescription: String { "\(header) of \(size)" }
    }

    /// RFC 9110 section 14.1.2 examples on a 10000-byte representation, plus clipping and suffixes.
    static let vectors: [Vector] = [
        Vector(header: "bytes=0-499", size: 10000, expected: .partial([0...499])),
        Vector(header: "bytes=500-999", size: 10000, expected: .partial([500...999])),
        Vector(header: "bytes=-500", size: 10000, expected: .partial([9500...9999])),
        Vector(header: "bytes=9500-", size: 10000, expected: .partial([9500...9999])),
        Vector(header: "bytes=0-0,-1", size: 10000, expected: .partial([0...0, 9999...9999])),
        Vector(
            header: "bytes= 0-999, 4500-5499, -1000", size: 10000,
            expected: .partial([0...999, 4500...5499, 9000...9999])),
        Vector(header: "bytes=500-600,601-999", size: 10000, expected: .partial([500...600, 601...999])),
        Vector(header: "BYTES=0-1", size: 10000, expected: .partial([0...1])),
        Vector(header: "bytes=9990-20000", size: 10000, expected: .partial([9990...9999])),
        Vector(header: "bytes=-20000", size: 10000, expected: .partial([0...9999])),
        Vector(header: "bytes=10000-", size: 10000, expected: .unsatisfiable),
        Vector(header: "bytes=10000-10005,20000-", size: 10000, expected: .unsatisfiable),
        Vector(header: "bytes=-0", size: 10000, expected: .unsatisfiable),
        Vector(header: "bytes=0-", size: 0, expected: .unsatisfiable),
        Vector(header: "bytes=-5", size: 0, expected: .unsatisfiable),
        Vector(header: "bytes=10000-,0-0", size: 10000, expected: .partial([0...0])),
        // Syntactically invalid or another unit: ignored, the full representation is sent.
        Vector(header: "bytes=5-1", size: 10000, expected: .full),
        Vector(header: "items=0-1", size: 10000, expected: .full),
        Vector(header: "bytes=abc", size: 10000, expected: .full),
        Vector(header: "bytes=", size: 10000, expected: .full),
        Vector(header: "bytes 0-1", size: 10000, expected: .full),
        Vector(header: "bytes=+1-2", size: 10000, expected: .full),
        Vector(header: "bytes=--1", size: 10000, expected: .full),
        Vector(header: "bytes=99999999999999999999-", size: 10000, expected: .full),
        Vector(header: "bytes=1-2-3", size: 10000, expected: .full),
    ]

    @Test(arguments: vectors)
    func resolvesAsRFC9110Says(_ vector: Vector) {
        #expect(ByteRange.resolve(header: vector.header, size: vector.size) == vector.expected)
    }

    @Test func suffixRangeReturnsLastBytes() {
        #expect(ByteRange.resolve(header: "bytes=-1", size: 5) == .partial([4...4]))
    }

    @Test func offsetsPastFourGibibytes() {
        let size: Int64 = 5 << 30
        #expect(ByteRange.resolve(header: "bytes=-10", size: size) == .partial([(size - 10)...(size - 1)]))
        #expect(
            ByteRange.resolve(header: "bytes=4294967296-4294967300", size: size)
                == .partial([4_294_967_296...4_294_967_300]))
        #expect(
            ByteRange.contentRange((size - 10)...(size - 1), size: size) == "bytes 5368709110-5368709119/5368709120")
    }

    @Test func tooManyRangesAreIgnored() {
        let header = "bytes=" + (0..<200).map { "\($0 * 2)-\($0 * 2)" }.joined(separator: ",")
        #expect(ByteRange.resolve(header: header, size: 10000) == .full)
    }

    @Test func coalescingMergesOverlapsAndNeighbours() {
        #expect(ByteRange.coalesce([0...99, 50...149]) == [0...149])
        #expect(ByteRange.coalesce([200...299, 0...9], gap: 0) == [0...9, 200...299])
        #expect(ByteRange.coalesce([0...9, 10...19], gap: 0) == [0...19])
    }

    @Test func contentRangeParses() {
        #expect(ByteRange.parseContentRange("bytes 0-9/100")?.range == 0...9)
        #expect(ByteRange.parseContentRange("bytes 0-9/100")?.size == 100)
        #expect(ByteRange.parseContentRange("bytes 0-9/*")?.size == nil)
        #expect(ByteRange.parseContentRange("bytes 9-0/100") == nil)
        #expect(ByteRange.parseContentRange("bytes 0-100/100") == nil)
    }

    @Test func everyPartialRangeLiesInsideTheFile() async {
        await propertyCheck(
            count: 500, input: Gen.int64(in: 0...(6 << 30)), Gen.int64(in: 0...(7 << 30)), Gen.int64(in: 0...(7 << 30))
        ) { size, a, b in
            for header in ["bytes=\(min(a, b))-\(max(a, b))", "bytes=\(a)-", "bytes=-\(b)", "bytes=\(a)-,-\(b)"] {
                switch ByteRange.resolve(header: header, size: size) {
                case .partial(let ranges):
                    #expect(
                        ranges.allSatisfy {
                            $0.lowerBound >= 0 && $0.upperBound < size && $0.lowerBound <= $0.upperBound
                        })
                    let merged = ByteRange.coalesce(ranges)
                    #expect(zip(merged, merged.dropFirst()).allSatisfy { $0.upperBound < $1.lowerBound })
                case .unsatisfiable:
                    #expect(size == 0 || a >= size || b == 0)
                case .full:
                    Issue.record("a valid header resolved to .full: \(header)")
                }
            }
        }
    }

    @Test func contentRangeRoundTrips() async {
        await propertyCheck(count: 300, input: Gen.int64(in: 1...(1 << 40)), Gen.int64(in: 0...(1 << 40))) {
            size, start in
            let first = start % size
            let range = first...(size - 1)
            let parsed = ByteRange.parseContentRange(ByteRange.contentRange(range, size: size))
            #expect(parsed?.range == range && parsed?.size == size)
        }
    }
}
