import FerryCore
import Foundation
import PropertyBased
import Testing

@Suite struct DomainTests {
    @Test(arguments: ["", "a\u{0}b", "x\ny", "del\u{7F}", String(repeating: "é", count: 600)])
    func badFileNamesAreRefused(_ name: String) {
        #expect(throws: FerryError.self) { try FileName.validate(name) }
    }

    @Test(arguments: ["report.pdf", "../../etc/passwd", "a\\b", "quote\"; x", "🚢"])
    func anyOtherUnicodeIsAValidName(_ name: String) throws {
        #expect(try FileName.validate(name) == name)
    }

    @Test func mediaTypes() {
        #expect(MediaType.essence("Text/Plain; charset=UTF-8") == "text/plain")
        #expect(MediaType.essence("nonsense") == nil)
        #expect(MediaType.isAllowed("image/png", by: ["image/*"]))
        #expect(!MediaType.isAllowed("text/html", by: ["image/*", "application/pdf"]))
        #expect(MediaType.isAllowed("text/html", by: nil))
        #expect(MediaType.isInlineSafe("video/mp4") && MediaType.isInlineSafe("application/pdf"))
        #expect(
            !MediaType.isInlineSafe("text/html") && !MediaType.isInlineSafe("image/svg+xml")
                && !MediaType.isInlineSafe("text/xml"))
    }

    @Test func idsAreUnguessableAndURLSafe() {
        let ids = (0..<5000).map { _ in Identifier.make() }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.count == 22 && Identifier.isWellFormed($0) })
        // Typed as a command-line argument, an id is never taken for an option.
        #expect(!ids.contains { $0.hasPrefix("-") })
        #expect(!(0..<2000).map { _ in Identifier.secret() }.contains { $0.hasPrefix("-") })
        #expect(Identifier.secret().count == 43)
    }

    /// The janitor deletes unreferenced blobs of exactly this shape, nothing else.
    @Test func blobKeysHaveOneShape() {
        let (a, b) = (Identifier.make(), Identifier.make())
        #expect(Identifier.isBlobKey("\(a)/\(b)"))
        for other in [
            a, "\(a)/\(b)/\(a)", "\(a)/", "/\(a)", "\(a)/\(b).bin", "\(a)/.tmp-aB3dE9", "\(a)/abcdefgh", "notes/readme",
            "\(a)/\(b.dropLast())", "\(a)/\(b)x", "\(a)//\(b)",
        ] {
            #expect(!Identifier.isBlobKey(other), "\(other)")
        }
    }

    /// JSON strings written by hand (audit details, log lines) read back as what was written,
    /// whatever the characters: quotes, backslashes, control characters, any plane.
    @Test func jsonTextRoundTrips() async {
        await propertyCheck(
            count: 300, input: Gen.character(in: Character(UnicodeScalar(0))...Character("\u{D7FF}")).string(of: 0...40)
        ) { text in
            var out = ""
            JSONText.appendString(text, to: &out)
            var bytes: [UInt8] = []
            JSONText.appendString(text, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == out)
            let parsed = try? JSONSerialization.jsonObject(with: Data(("[" + out + "]").utf8)) as? [String]
            #expect(parsed == [text], "\(out)")
        }
        var fixed = ""
        JSONText.appendString("a\"b\\c\nd\u{1}é🚢", to: &fixed)
        #expect(fixed == #""a\"b\\c\nd\u0001é🚢""#)
    }

    /// RFC 9530 digest fields, parsed as RFC 9651 dictionaries.
    @Test func digestFieldsCarryTheirSHA256() throws {
        let bytes = (0..<32).map { UInt8($0) }
        let value = DigestField.value(sha256: bytes)
        #expect(value == "sha-256=:" + Data(bytes).base64EncodedString() + ":")
        #expect(try DigestField.sha256(value) == bytes)
        #expect(try DigestField.sha256("sha-512=:\(Data(count: 64).base64EncodedString()):, \(value)") == bytes)
        #expect(try DigestField.sha256("sha-512=:\(Data(count: 64).base64EncodedString()):") == nil)
        for malformed in ["sha-256=abc", "sha-256=:AAAA:", "sha-256=:not base64:", "=:x:", "sha-256=\"x\""] {
            #expect(throws: DigestField.Malformed.self, "\(malformed)") { try DigestField.sha256(malformed) }
        }
    }

    @Test func base64URLAndHexRoundTrip() async {
        await propertyCheck(count: 300, input: Gen.uint8().array(of: 0...64)) { bytes in
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
            // The same text as Foundation's base64, made URL-safe and unpadded (RFC 4648 section 5).
            let reference = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == reference)
            #expect(Hex.decode(Hex.encode(bytes)) == bytes)
            #expect(Hex.encode(bytes) == bytes.map { String(format: "%02x", $0) }.joined())
        }
        #expect(Base64URL.decode("a") == nil)
        // One encoding per byte string: unused trailing bits must be zero.
        #expect(Base64URL.decode("AA") == [0])
        #expect(Base64URL.decode("AB") == nil)
        #expect(Base64URL.decode("AAA") == [0, 0])
        #expect(Base64URL.decode("AAB") == nil)
        #expect(Base64URL.decode("ab+/") == nil)
    }

    @Test func networks() throws {
        let v4 = try #require(CIDR("10.0.0.0/8"))
        #expect(v4.contains("10.200.1.1") && !v4.contains("11.0.0.1"))
        #expect(v4.contains("::ffff:10.1.2.3"))
        let v6 = try #require(CIDR("fd00::/8"))
        #expect(v6.contains("fd12:3456::1") && !v6.contains("fe80::1"))
        #expect(CIDR("0.0.0.0/0")?.contains("8.8.8.8") == true)
        #expect(CIDR("127.0.0.1")?.contains("127.0.0.1") == true)
        #expect(CIDR("::1/128")?.contains("::1") == true)
        for bad in ["10.0.0.0/33", "300.1.1.1", "1.2.3", "::1::2", "abc", "fd00::/129"] {
            #expect(CIDR(bad) == nil, "\(bad)")
        }
        #expect(IPAddress.parse("::") == [UInt8](repeating: 0, count: 16))
    }

    @Test func auditDetailIsJSONThatDecodesToTheSameValues() throws {
        let detail: [String: AuditValue] = [
            "quote": "say \"hi\"", "backslash": "C:\\dir\\", "controls": "a\nb\rc\td\u{01}\u{1f}",
            "unicode": "Grüße 📦 \u{2028}", "slash": "a/b", "negative": .int(-42), "big": .int(Int64.max),
            "nothing": .null, "": "empty key",
        ]
        let event = AuditEvent(at: Date(), event: "x", actor: nil, fileID: nil, clientIP: nil, detail: detail)
        let json = event.detailJSON
        let decoded = try JSONDecoder().decode([String: AuditValue].self, from: Data(json.utf8))
        #expect(decoded == detail)
        // Keys sorted, compact, control characters escaped as RFC 8259 asks.
        #expect(json.hasPrefix(#"{"":"empty key","backslash":"C:\\dir\\","big":9223372036854775807,"#))
        #expect(json.contains(#""controls":"a\nb\rc\td\u0001\u001f""#))
        #expect(AuditEvent(at: Date(), event: "x", actor: nil, fileID: nil, clientIP: nil).detailJSON == "{}")
    }
}
