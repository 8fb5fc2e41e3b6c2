import FerryCore
import Foundation
import Testing

/// `ZipLayout` without tools: sizes, names, and any range mapped onto header and member bytes
/// equals the same bytes of the whole archive.
@Suite struct ZipLayoutTests {
    static func archive(_ layout: ZipLayout, _ contents: [[UInt8]]) -> [UInt8] {
        layout.pieces(in: 0...(layout.size - 1)).flatMap { piece -> [UInt8] in
            switch piece {
            case .header(let bytes): bytes
            case .member(let index, let range): Array(contents[index][Int(range.lowerBound)...Int(range.upperBound)])
            }
        }
    }

    static func layout(_ contents: [[UInt8]], names: [String]) -> ZipLayout {
        ZipLayout(
            members: zip(names, contents).map { name, bytes in
                ZipLayout.Member(
                    name: name, size: Int64(bytes.count), crc32: CRC32.of(bytes),
                    modified: Date(timeIntervalSince1970: 1_700_000_000))
            })
    }

    @Test func aThousandRandomRangesEqualTheWholeArchivesBytes() {
        var generator = SystemRandomNumberGenerator()
        let contents = (0..<40).map { index in
            (0..<Int.random(in: 0...5000, using: &generator)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) }
        }
        let layout = Self.layout(contents, names: (0..<40).map { "member \($0).bin" })
        let whole = Self.archive(layout, contents)
        #expect(Int64(whole.count) == layout.size)
        for _ in 0..<1000 {
            let a = Int64.random(in: 0..<layout.size, using: &generator)
            let b = Int64.random(in: a..<min(layout.size, a + 20_000), using: &generator)
            let bytes = layout.pieces(in: a...b).flatMap { piece -> [UInt8] in
                switch piece {
                case .header(let bytes): bytes
                case .member(let index, let range):
                    Array(contents[index][Int(range.lowerBound)...Int(range.upperBound)])
                }
            }
            #expect(bytes == Array(whole[Int(a)...Int(b)]), "\(a)-\(b)")
        }
    }

    @Test func theSameMembersMakeTheSameBytes() {
        let contents: [[UInt8]] = [Array("hello".utf8), []]
        let one = Self.archive(Self.layout(contents, names: ["a.txt", "b.txt"]), contents)
        let two = Self.archive(Self.layout(contents, names: ["a.txt", "b.txt"]), contents)
        #expect(one == two)
        // Local header: signature, version 20, UTF-8 flag, stored, CRC and both sizes known.
        #expect(Array(one[0..<4]) == [0x50, 0x4B, 0x03, 0x04])
        #expect(one[6] == 0x00 && one[7] == 0x08 && one[8] == 0 && one[9] == 0)
        let crc = CRC32.of(contents[0])
        #expect(Array(one[14..<18]) == (0..<4).map { UInt8(truncatingIfNeeded: crc >> (8 * $0)) })
    }

    @Test func namesAreMadeSafeAndUnique() {
        let names = ZipLayout.safeNames([
            "report.pdf", "report.pdf", "REPORT.pdf", "../../etc/passwd", "a/b\\c.txt", "tab\there", "", ".hidden",
            "..", "noext", "noext",
        ])
        #expect(
            names == [
                "report.pdf", "report (2).pdf", "REPORT (3).pdf", "____etc_passwd", "a_b_c.txt", "tab_here", "file",
                ".hidden", "_", "noext", "noext (2)",
            ])
        for name in names { #expect(!name.contains("/") && !name.contains("\\") && !name.contains("..")) }
    }
}
