import Testing

@testable import FerryServer

/// `Authorization: Bearer <token>` as RFC 9110 section 11 reads it: the scheme in any case, the
/// credential without the blanks around it; anything else is no bearer credential.
@Suite struct BearerCredentialTests {
    @Test func theSchemeInAnyCaseAndTheCredentialWithoutBlanks() {
        #expect(Authenticator.bearerCredential("Bearer abc.DEF-123_") == "abc.DEF-123_")
        #expect(Authenticator.bearerCredential("bearer abc") == "abc")
        #expect(Authenticator.bearerCredential("BEARER abc") == "abc")
        #expect(Authenticator.bearerCredential("Bearer   abc \t") == "abc")
        #expect(Authenticator.bearerCredential("Bearer\tabc") == nil)
        #expect(Authenticator.bearerCredential("Bearer") == nil)
        #expect(Authenticator.bearerCredential("Bearer ") == nil)
        #expect(Authenticator.bearerCredential("Bearer  \t ") == nil)
        #expect(Authenticator.bearerCredential("Basic YWxpY2U6cHc=") == nil)
        #expect(Authenticator.bearerCredential("Bearerx abc") == nil)
        #expect(Authenticator.bearerCredential("Béarer abc") == nil)
        #expect(Authenticator.bearerCredential("Bearer 🔑 key") == "🔑 key")
    }
}
