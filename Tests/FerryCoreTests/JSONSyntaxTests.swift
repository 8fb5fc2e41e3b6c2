import FerryCore
import Foundation
import Testing

/// `JSONSyntax`: RFC 8259 strictly, with the offset and reason of the first problem.
@Suite struct JSONSyntaxTests {
    @Test(arguments: [
        "{}", "[]", " { } ", #"{"a": 1}"#, #"{"a": [1, 2.5, -0.5e+3, true, false, null], "b": {"c": "d"}}"#,
        #"[[], {}, [{}], "\u00e9\n\"", 0, -0, 1E9]"#, "\"é\"", "12", "\t[\r\n1 ,2 ]\n",
    ])
    func acceptsJSON(_ text: String) throws {
        try JSONSyntax.validate(Array(text.utf8))
        // What it accepts, Foundation reads.
        _ = try JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)
    }

    @Test(arguments: [
        ("", 0, "ends where a value should be"),
        ("{", 1, "expected a quoted field name"),
        ("[", 1, "ends where a value should be"),
        (#"{"a" 1}"#, 5, "expected ':' after a field name"),
        (#"{a: 1}"#, 1, "expected a quoted field name"),
        (#"{"a": 1,}"#, 8, "a trailing comma is not JSON"),
        ("[1,]", 3, "a trailing comma is not JSON"),
        ("[1 2]", 3, "expected ',' or ']'"),
        (#"{"a": 1 "b": 2}"#, 8, "expected ',' or '}'"),
        ("[1}", 2, "expected ',' or ']'"),
        (#"{"a": 1]"#, 7, "expected ',' or '}'"),
        ("[01]", 2, "leading zero"),
        ("[1.]", 3, "expected a digit after '.'"),
        ("[1e]", 3, "expected a digit in the exponent"),
        ("[tru]", 4, "expected 'true'"),
        ("{} {}", 3, "more text follows the JSON value"),
        ("\"a\u{01}\"", 2, "control character"),
        (#""\x""#, 2, "unknown escape"),
        ("\"abc", 4, "a string is not closed"),
    ])
    func refusesWhatIsNotJSON(text: String, offset: Int, reason: String) {
        #expect {
            try JSONSyntax.validate(Array(text.utf8))
        } throws: { error in
            guard let problem = error as? JSONSyntax.Problem else { return false }
            return problem.offset == offset && problem.reason.contains(reason)
        }
    }

    @Test func refusesInvalidUTF8AndDeepNesting() {
        #expect(throws: JSONSyntax.Problem.self) { try JSONSyntax.validate([0x22, 0xC3, 0x28, 0x22]) }
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONSyntax.Problem.self) { try JSONSyntax.validate(Array(deep.utf8)) }
        let allowed = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSONSyntax.validate(Array(allowed.utf8)) }
    }
}
