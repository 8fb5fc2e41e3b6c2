import RawStructuredFieldValues

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// RFC 9530 digest fields (`Content-Digest` on uploads, `Repr-Digest` on downloads): structured
/// field dictionaries (RFC 9651) of byte sequences, parsed with swift-http-structured-headers.
public enum DigestField {
    /// The field value of a SHA-256: `sha-256=:<base64>:`.
    public static func value(sha256 bytes: some Sequence<UInt8>) -> String {
        "sha-256=:" + Data(bytes).base64EncodedString() + ":"
    }

    /// The SHA-256 in a digest field value, nil when it names none (another algorithm only).
    /// Throws `Malformed` when the value is no structured dictionary or its sha-256 member is no
    /// byte sequence of 32 bytes.
    public static func sha256(_ value: String) throws -> [UInt8]? {
        var parser = StructuredFieldValueParser(Array(value.utf8))
        let members: OrderedMap<String, ItemOrInnerList>
        do {
            members = try parser.parseDictionaryFieldValue()
        } catch {
            throw Malformed()
        }
        guard let member = members["sha-256"] else { return nil }
        guard case .item(let item) = member, case .undecodedByteSequence(let encoded) = item.rfc9651BareItem,
            let bytes = Data(base64Encoded: encoded), bytes.count == 32
        else { throw Malformed() }
        return Array(bytes)
    }

    /// The field is not a digest field Ferry can read.
    public struct Malformed: Error {}
}
