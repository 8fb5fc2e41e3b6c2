import FerrySigV4
import Foundation
import Testing

/// The worked examples of AWS's documentation, reproduced exactly
/// ("Signature Calculations for the Authorization Header" and "Query String Authentication" of the
/// S3 API reference: bucket `examplebucket`, 2013-05-24, AKIAIOSFODNN7EXAMPLE).
@Suite struct AWSExampleTests {
    static let credentials = AWSCredentials(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    static let date = Date(timeIntervalSince1970: 1_369_353_600)  // 20130524T000000Z
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    let signer = SigV4Signer(credentials: credentials, region: "us-east-1")

    @Test func amzDate() {
        #expect(SigV4.amzDate(Self.date) == "20130524T000000Z")
        #expect(SigV4.amzDate(Date(timeIntervalSince1970: 951_827_696)) == "20000229T123456Z")
    }

    @Test func getObjectWithRange() {
        let request = SigV4Request(
            method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt",
            headers: [("Range", "bytes=0-9")])
        let headers = signer.authorizationHeaders(for: request, payloadHash: Self.emptyHash, date: Self.date)
        let authorization = headers.first { $0.name == "Authorization" }?.value
        #expect(
            authorization
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        var signed = request
        signed.headers += [("x-amz-date", "20130524T000000Z"), ("x-amz-content-sha256", Self.emptyHash)]
        #expect(
            signer.canonicalRequest(signed, payloadHash: Self.emptyHash).text
                == """
                GET
                /test.txt

                host:examplebucket.s3.amazonaws.com
                range:bytes=0-9
                x-amz-content-sha256:\(Self.emptyHash)
                x-amz-date:20130524T000000Z

                host;range;x-amz-content-sha256;x-amz-date
                \(Self.emptyHash)
                """)
    }

    @Test func putObject() {
        let body = "Welcome to Amazon S3."
        let hash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        let request = SigV4Request(
            method: "PUT", host: "examplebucket.s3.amazonaws.com", path: "/test$file.text",
            headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")])
        #expect(body.utf8.count == 21)
        let authorization = signer.authorizationHeaders(for: request, payloadHash: hash, date: Self.date)
            .first { $0.name == "Authorization" }?.value
        #expect(
            authorization?.hasSuffix(
                "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
                    + "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd") == true)
    }

    @Test func getBucketLifecycle() {
        let request = SigV4Request(
            method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/", query: [("lifecycle", "")])
        let authorization = signer.authorizationHeaders(for: request, payloadHash: Self.emptyHash, date: Self.date)
            .first { $0.name == "Authorization" }?.value
        #expect(
            authorization?.hasSuffix("Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
                == true)
    }

    @Test func listObjects() {
        let request = SigV4Request(
            method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/",
            query: [("max-keys", "2"), ("prefix", "J")])
        let authorization = signer.authorizationHeaders(for: request, payloadHash: Self.emptyHash, date: Self.date)
            .first { $0.name == "Authorization" }?.value
        #expect(
            authorization?.hasSuffix("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
                == true)
    }

    @Test func presignedGet() {
        let request = SigV4Request(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt")
        let url = signer.presignedURL(for: request, expires: 86_400, date: Self.date)
        #expect(
            url
                == "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                + "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    }

    /// The signer keeps the last day's derived key: one signer used across days, and after its
    /// secret or region changes, signs exactly as a fresh one does.
    @Test func theCachedSigningKeyFollowsTheDayAndTheCredentials() {
        let request = SigV4Request(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt")
        var reused = signer
        for offset in [0, 3_600, 86_400, 86_400 * 40, 0] {
            let date = Self.date.addingTimeInterval(TimeInterval(offset))
            let fresh = SigV4Signer(credentials: signer.credentials, region: signer.region)
            #expect(
                reused.presignedURL(for: request, expires: 60, date: date)
                    == fresh.presignedURL(for: request, expires: 60, date: date))
        }
        reused.credentials = AWSCredentials(accessKeyID: "AKIDOTHER", secretAccessKey: "another-secret")
        reused.region = "eu-west-1"
        let fresh = SigV4Signer(credentials: reused.credentials, region: "eu-west-1")
        #expect(
            reused.presignedURL(for: request, expires: 60, date: Self.date)
                == fresh.presignedURL(for: request, expires: 60, date: Self.date))
    }

    @Test func expiryIsCappedAtSevenDays() {
        let request = SigV4Request(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt")
        #expect(
            signer.presignedURL(for: request, expires: 10_000_000, date: Self.date).contains("X-Amz-Expires=604800&"))
    }

    @Test func pathsAreEncodedOnceAndNeverNormalized() {
        #expect(SigV4.encodePath("/a b/c+d/~e%f/ü/./..//x") == "/a%20b/c%2Bd/~e%25f/%C3%BC/./..//x")
        #expect(SigV4.encode("a/b=c&d") == "a%2Fb%3Dc%26d")
        #expect(SigV4.canonicalQuery([("b", "2"), ("a", "z"), ("a", "y")]) == "a=y&a=z&b=2")
    }

    @Test func descriptionHidesSecrets() {
        let c = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "s3cr3t", sessionToken: "tok3n")
        #expect(!"\(c)".contains("s3cr3t"))
        #expect(!"\(c)".contains("tok3n"))
    }
}
