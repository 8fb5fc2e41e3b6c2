import FerryCore
import PropertyBased
import Testing

/// RFC 6266 / RFC 8187 Content-Disposition that no filename can break.
@Suite struct ContentDispositionTests {
    @Test(arguments: [
        ("report.pdf", "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"),
        ("€ rates.pdf", "attachment; filename=\"_ rates.pdf\"; filename*=UTF-8''%E2%82%AC%20rates.pdf"),
        (
            "a \"quoted\"; b.txt",
            "attachment; filename=\"a _quoted_; b.txt\"; filename*=UTF-8''a%20%22quoted%22%3B%20b.txt"
        ),
        ("back\\slash/..%2e", "attachment; filename=\"back_slash_.._2e\"; filename*=UTF-8''back%5Cslash%2F..%252e"),
        ("отчёт.pdf", "attachment; filename=\"_____.pdf\"; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf"),
        ("", "attachment; filename=\"download\"; filename*=UTF-8''"),
        // Accents and compatibility forms fold to plain letters for curl -OJ and wget.
        (
            "Café Ｑ3 ﬁnal.pdf",
            "attachment; filename=\"Cafe Q3 final.pdf\"; filename*=UTF-8''Caf%C3%A9%20%EF%BC%B13%20%EF%AC%81nal.pdf"
        ),
        // Any other character is one `_`, whatever its scalars (Hangul syllables, an emoji sequence).
        (
            "보고서 👨\u{200D}👩\u{200D}👧.pdf",
            "attachment; filename=\"___ _.pdf\"; filename*=UTF-8''%EB%B3%B4%EA%B3%A0%EC%84%9C%20%F0%9F%91%A8%E2%80%8D%F0%9F%91%A9%E2%80%8D%F0%9F%91%A7.pdf"
        ),
    ])
    func headerValues(name: String, expected: String) {
        #expect(ContentDisposition(kind: .attachment, filename: name).headerValue == expected)
    }

    @Test func rfc8187ExampleParses() {
        // RFC 8187 section 3.2.2 / RFC 6266 section 5 example.
        let parsed = ContentDisposition.parse("attachment; filename=\"EURO rates\"; filename*=utf-8''%e2%82%ac%20rates")
        #expect(parsed == ContentDisposition(kind: .attachment, filename: "€ rates"))
        #expect(
            ContentDisposition.parse("inline; filename=\"a\\\"b.txt\"")
                == ContentDisposition(kind: .inline, filename: "a\"b.txt"))
    }

    /// Any Unicode scalar (surrogate code points, which are not scalars, become U+FFFD).
    static let anyName = Gen.uint32(in: 0...0x10FFFF).map { Character(UnicodeScalar($0) ?? "\u{FFFD}") }
        .string(of: 0...40)

    @Test func headerIsAlwaysOneLineOfPrintableASCII() async {
        await propertyCheck(count: 1000, input: Self.anyName) { name in
            let value = ContentDisposition(kind: .attachment, filename: name).headerValue
            #expect(value.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F })
        }
    }

    @Test func formatThenParseRoundTrips() async {
        await propertyCheck(count: 1000, input: Self.anyName) { name in
            let parsed = ContentDisposition.parse(ContentDisposition(kind: .inline, filename: name).headerValue)
            #expect(parsed?.filename == name)
            #expect(parsed?.kind == .inline)
        }
    }

    @Test(arguments: ["emoji 🚢⚓️.zip", "中文文件.docx", "ملف.txt", "tab\tname", "line\r\nbreak"])
    func nastyNamesSurvive(name: String) {
        let value = ContentDisposition(kind: .attachment, filename: name).headerValue
        #expect(!value.contains("\r") && !value.contains("\n"))
        #expect(ContentDisposition.parse(value)?.filename == name)
    }
}
