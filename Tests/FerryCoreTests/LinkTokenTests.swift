import FerryCore
import Testing

/// The `/t/` token: what is signed comes back whole, and any change to the text is refused.
@Suite struct LinkTokenTests {
    static let key: [UInt8] = Array(repeating: 7, count: 32)

    static func token(filename: String?, bindIP: String? = nil) -> LinkToken {
        LinkToken(
            linkID: "link-1", fileID: "file-1", fileVersion: 3, expiresAt: 1_900_000_000, keyID: "k1",
            disposition: .inline, bindIP: bindIP, filename: filename)
    }

    @Test func everyFieldRoundTripsWithAnyFilename() throws {
        for name in ["report.pdf", "€ rates.csv", "e\u{301}te\u{301}.txt", "👩‍👩‍👧 family.zip", "a.b.c", nil] {
            let signed = Self.token(filename: name, bindIP: "203.0.113.9").signed(with: Self.key)
            let verified = try #require(LinkToken.verify(signed, keys: ["k1": Self.key]))
            #expect(verified.linkID == "link-1" && verified.fileID == "file-1" && verified.fileVersion == 3)
            #expect(verified.expiresAt == 1_900_000_000 && verified.keyID == "k1" && verified.disposition == .inline)
            #expect(verified.bindIP == "203.0.113.9" && verified.filename == name)
        }
    }

    @Test func anyChangedCharacterIsRefused() {
        let signed = Self.token(filename: "report.pdf").signed(with: Self.key)
        #expect(LinkToken.verify(signed, keys: ["k1": Self.key]) != nil)
        let characters = Array(signed)
        for position in characters.indices {
            var changed = characters
            changed[position] = changed[position] == "A" ? "B" : "A"
            #expect(LinkToken.verify(String(changed), keys: ["k1": Self.key]) == nil, "changed at \(position)")
        }
        #expect(LinkToken.verify(String(signed.dropLast()), keys: ["k1": Self.key]) == nil)
        #expect(LinkToken.verify(signed + ".x", keys: ["k1": Self.key]) == nil)
        #expect(LinkToken.verify("", keys: ["k1": Self.key]) == nil)
        #expect(LinkToken.verify(signed, keys: ["k2": Self.key]) == nil)
    }
}
