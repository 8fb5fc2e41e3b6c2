import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// Archives from `ZipLayout` read by the tools people use: `unzip -t`, `bsdtar -tf`, `7z t` and
/// Python's `zipfile` (testzip, then every member extracted and compared).
@Suite struct ZipToolTests {
    /// Writes the archive of `layout` to `path`; `content(index, range)` gives member bytes, or nil
    /// for zeros left as a hole (a sparse file, for members of gibibytes).
    static func write(
        _ layout: ZipLayout, to path: String, content: (Int, ClosedRange<Int64>) -> [UInt8]?
    ) throws {
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        var position: Int64 = 0
        for piece in layout.pieces(in: 0...(layout.size - 1)) {
            switch piece {
            case .header(let bytes):
                try handle.seek(toOffset: UInt64(position))
                try handle.write(contentsOf: bytes)
                position += Int64(bytes.count)
            case .member(let index, let range):
                if let bytes = content(index, range) {
                    try handle.seek(toOffset: UInt64(position))
                    try handle.write(contentsOf: bytes)
                }
                position += range.upperBound - range.lowerBound + 1
            }
        }
        try handle.truncate(atOffset: UInt64(position))
    }

    @Test func smallArchivesOfAwkwardNamesPassEveryTool() async throws {
        let scratch = try TemporaryDirectory("ferry-zip")
        defer { scratch.remove() }
        let raw = [
            "تقرير.pdf", "报告.txt", "🚀 launch \"final\".md", "a/b/c.txt", "report.txt", "report.txt", "empty.bin",
        ]
        let names = ZipLayout.safeNames(raw)
        let contents = names.indices.map { i in
            i == names.count - 1 ? [] : TestData.bytes(1000 + i * 777, seed: UInt64(i))
        }
        let layout = ZipLayout(
            members: zip(names, contents).map { name, bytes in
                ZipLayout.Member(
                    name: name, size: Int64(bytes.count), crc32: CRC32.of(bytes),
                    modified: Date(timeIntervalSince1970: 1_764_000_000))
            })
        let path = scratch.appending("names.zip")
        try Self.write(layout, to: path) { index, range in
            Array(contents[index][Int(range.lowerBound)...Int(range.upperBound)])
        }
        var expected: [String: String] = [:]
        for (name, bytes) in zip(names, contents) { expected[name] = TestData.sha256(bytes) }
        try await ZipChecks.check(path, expected: expected)

        // One member, and a thousand small ones.
        let one = ZipLayout(members: [layout.members[0]])
        try Self.write(one, to: scratch.appending("one.zip")) { _, range in
            Array(contents[0][Int(range.lowerBound)...Int(range.upperBound)])
        }
        try await ZipChecks.check(scratch.appending("one.zip"), expected: [names[0]: TestData.sha256(contents[0])])
        let many = (0..<1000).map { TestData.bytes(50 + $0 % 97, seed: UInt64($0)) }
        let manyNames = ZipLayout.safeNames((0..<1000).map { "item-\($0 % 500).dat" })
        let manyLayout = ZipLayout(
            members: zip(manyNames, many).map {
                ZipLayout.Member(name: $0, size: Int64($1.count), crc32: CRC32.of($1), modified: Date())
            })
        try Self.write(manyLayout, to: scratch.appending("many.zip")) { index, range in
            Array(many[index][Int(range.lowerBound)...Int(range.upperBound)])
        }
        var manyExpected: [String: String] = [:]
        for (name, bytes) in zip(manyNames, many) { manyExpected[name] = TestData.sha256(bytes) }
        try await ZipChecks.check(scratch.appending("many.zip"), expected: manyExpected)
    }

    /// A member over 4 GiB (zeros, sparse on disk) after a small one: ZIP64 sizes in its headers,
    /// a ZIP64 offset for the member after it, and the ZIP64 end records.
    @Test func aMemberOverFourGibibytesUsesZip64() async throws {
        let scratch = try TemporaryDirectory("ferry-zip64")
        defer { scratch.remove() }
        let big: Int64 = 4 * 1024 * 1024 * 1024 + 12_345
        // CRC-32 of `big` zeros, by doubling (no 4 GiB buffer).
        var zeros = CRC32.of([UInt8](repeating: 0, count: 1 << 20))
        var length: Int64 = 1 << 20
        while length * 2 <= big {
            zeros = CRC32.combine(zeros, zeros, lengthOfB: length)
            length *= 2
        }
        let restLength = big - length
        var rest = CRC32()
        let mebibyte = [UInt8](repeating: 0, count: 1 << 20)
        var left = restLength
        while left > 0 {
            let take = Int(min(left, 1 << 20))
            rest.update(mebibyte[..<take])
            left -= Int64(take)
        }
        let bigCRC = CRC32.combine(zeros, rest.value, lengthOfB: restLength)
        let small = TestData.bytes(3000, seed: 9)
        let tail = TestData.bytes(500, seed: 10)
        let layout = ZipLayout(members: [
            ZipLayout.Member(name: "small.bin", size: 3000, crc32: CRC32.of(small), modified: Date()),
            ZipLayout.Member(name: "huge.bin", size: big, crc32: bigCRC, modified: Date()),
            ZipLayout.Member(name: "after.bin", size: 500, crc32: CRC32.of(tail), modified: Date()),
        ])
        let path = scratch.appending("big.zip")
        try Self.write(layout, to: path) { index, range in
            switch index {
            case 0: Array(small[Int(range.lowerBound)...Int(range.upperBound)])
            case 2: Array(tail[Int(range.lowerBound)...Int(range.upperBound)])
            default: nil
            }
        }
        // The reference digest (4 GiB through sha256sum): bounded generously, and checked, since on
        // a loaded machine it outlasted a 2-minute bound and left an empty digest to compare with.
        let zerosSHA = try await ExternalTool.run(
            "sh", ["-c", "head -c \(big) /dev/zero | sha256sum | cut -c1-64"], timeout: 600)
        #expect(zerosSHA.status == 0 && zerosSHA.stdout.count >= 64, "sha256sum: \(zerosSHA.stderr)")
        try await ZipChecks.check(
            path,
            expected: [
                "small.bin": TestData.sha256(small),
                "huge.bin": zerosSHA.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                "after.bin": TestData.sha256(tail),
            ], timeout: 300)
    }
}
