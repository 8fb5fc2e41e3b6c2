import AsyncHTTPClient
import FerryCatalogPostgres
import FerryCore
import FerrySigV4
import FerryStorageS3
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// The checks of an S3-compatible store: its clock, credentials, CORS and bucket rules.
extension Doctor {
    /// The store's clock against this host's, from the `Date` of any answer (SigV4 refuses
    /// requests more than 15 minutes off, and presigned links die early or late).
    func clockSkewCheck(_ settings: S3BlobStore.Configuration) async -> Check {
        let client = Self.httpClient()
        defer { _ = client.shutdown() }
        do {
            let response = try await client.execute(
                HTTPClientRequest(url: settings.endpoint.description + "/"), timeout: timeout)
            guard let text = response.headers.first(name: "date"), let date = HTTPDate.parse(text) else {
                return Check("storage.clock", .skip, "the store sent no Date header")
            }
            let skew = Int(now().timeIntervalSince(date).rounded())
            if abs(skew) >= 900 {
                return Check(
                    "storage.clock", .fail,
                    "this host's clock is \(skew) s off the store's: S3 refuses signatures past 15 minutes",
                    fix: "Synchronise the clock (chrony, systemd-timesyncd) on this host.")
            }
            if abs(skew) > 60 {
                return Check(
                    "storage.clock", .warn, "this host's clock is \(skew) s off the store's",
                    fix: "Synchronise the clock; links expire by the store's clock.")
            }
            return Check("storage.clock", .ok, "clock within \(abs(skew)) s of the store's")
        } catch {
            return Check(
                "storage.clock", .fail, "the store at \(settings.endpoint) does not answer: \(Self.describe(error))",
                fix: "Check FERRY_S3_ENDPOINT and that the store is reachable from this host.")
        }
    }

    /// The bucket's CORS rules let every origin that fetches storage links from a browser (Ferry's
    /// own web app, and `FERRY_CORS_ORIGINS`) make ranged GET and HEAD requests and read the
    /// headers a download manager needs.
    func corsCheck(_ settings: S3BlobStore.Configuration) async -> Check {
        let client = S3Client(configuration: settings, logger: logger)
        let rules: [S3Client.CORSRule]
        do {
            rules = try await bounded { try await client.getBucketCors() }
            await client.shutdown()
        } catch {
            await client.shutdown()
            return Check("storage.cors", .skip, "cannot read the bucket's CORS rules: \(Self.describe(error))")
        }
        let origins =
            [configuration.publicOrigin] + configuration.corsOrigins.filter { $0 != configuration.publicOrigin }
        let needed = ["etag", "content-range", "content-length"]
        var problems: [String] = []
        for origin in origins {
            for method in ["GET", "HEAD"] {
                let matching = rules.filter { $0.allows(origin: origin, method: method) }
                guard !matching.isEmpty else {
                    problems.append("\(method) from \(origin) is not allowed")
                    continue
                }
                if method == "GET",
                    !matching.contains(where: { $0.allowedHeaders.contains { $0 == "*" || $0.lowercased() == "range" } }
                    )
                {
                    problems.append("the Range header from \(origin) is not allowed")
                }
                if method == "GET",
                    !matching.contains(where: { rule in
                        let exposed = Set(rule.exposeHeaders.map { $0.lowercased() })
                        return needed.allSatisfy(exposed.contains)
                    })
                {
                    problems.append("ETag, Content-Range and Content-Length are not all exposed to \(origin)")
                }
            }
        }
        if problems.isEmpty {
            // The rules read right; now what a browser gets: a real preflight on the public endpoint.
            let refused = await preflightRefusals(settings, origins: origins)
            guard refused.isEmpty else {
                return Check(
                    "storage.cors", .fail,
                    "the bucket's rules allow ranged GETs, but the store's preflight refuses: "
                        + refused.prefix(4).joined(separator: "; "),
                    fix:
                        "Check that FERRY_S3_PUBLIC_ENDPOINT reaches the bucket itself (a proxy in front may answer OPTIONS) and that the store applies the bucket's CORS rules."
                )
            }
            return Check(
                "storage.cors", .ok,
                "the bucket's CORS rules and its preflight answer let \(origins.joined(separator: ", ")) fetch ranges")
        }
        return Check(
            "storage.cors", .fail,
            "browsers cannot download storage links: " + problems.prefix(4).joined(separator: "; "),
            fix:
                "Add a CORS rule to the bucket (aws s3api put-bucket-cors): AllowedOrigins \(origins.joined(separator: ", ")), AllowedMethods GET and HEAD, AllowedHeaders Range (or *), ExposeHeaders ETag, Content-Range, Content-Length."
        )
    }

    /// `OPTIONS` as a browser sends it before a ranged GET from each origin, on the public
    /// endpoint; what each refusal was.
    func preflightRefusals(_ settings: S3BlobStore.Configuration, origins: [String]) async -> [String] {
        let client = Self.httpClient()
        defer { _ = client.shutdown() }
        var refused: [String] = []
        for origin in origins {
            var request = HTTPClientRequest(url: settings.unsignedURL(of: "doctor-probe/preflight"))
            request.method = .OPTIONS
            request.headers.add(name: "Origin", value: origin)
            request.headers.add(name: "Access-Control-Request-Method", value: "GET")
            request.headers.add(name: "Access-Control-Request-Headers", value: "range")
            do {
                let response = try await client.execute(request, timeout: timeout)
                _ = try? await response.body.collect(upTo: 64 << 10)
                let allowed = response.headers.first(name: "access-control-allow-origin")
                let headers = (response.headers.first(name: "access-control-allow-headers") ?? "").lowercased()
                if !(200..<300).contains(Int(response.status.code)) || (allowed != origin && allowed != "*") {
                    refused.append(
                        "\(origin): \(response.status.code), Access-Control-Allow-Origin \(allowed ?? "absent")")
                } else if !headers.contains("range") && headers != "*" {
                    refused.append("\(origin): the Range header is not allowed")
                }
            } catch {
                refused.append("\(origin): no answer (\(Self.describe(error)))")
            }
        }
        return refused
    }

    /// Lifecycle rules that would abort a tus upload's multipart upload (or delete blobs) before
    /// `FERRY_UPLOAD_EXPIRY`, the lack of any abort rule (abandoned parts are billed), and
    /// versioning (deleted blobs would live on as noncurrent versions).
    func bucketRulesChecks(_ settings: S3BlobStore.Configuration) async -> [Check] {
        let client = S3Client(configuration: settings, logger: logger)
        var checks: [Check] = []
        let expiryDays = Double(configuration.uploadExpiry) / 86_400
        do {
            let rules = try await bounded { try await client.getBucketLifecycle() }.filter { $0.status == "Enabled" }
            let aborts = rules.compactMap(\.abortIncompleteAfterDays)
            let expirations = rules.compactMap(\.expirationDays)
            if let soonest = aborts.min(), Double(soonest) < expiryDays {
                checks.append(
                    Check(
                        "storage.lifecycle", .fail,
                        "a lifecycle rule aborts multipart uploads after \(soonest) day(s), sooner than FERRY_UPLOAD_EXPIRY (\(configuration.uploadExpiry) s): a resumable upload would lose its parts",
                        fix:
                            "Set DaysAfterInitiation to at least \(Int(expiryDays.rounded(.up))) (plus a day), or lower FERRY_UPLOAD_EXPIRY."
                    ))
            } else if let soonest = expirations.min() {
                checks.append(
                    Check(
                        "storage.lifecycle", .fail,
                        "a lifecycle rule deletes objects after \(soonest) day(s): files would lose their bytes",
                        fix:
                            "Remove the Expiration rule from the bucket (or its prefix); Ferry deletes what it no longer needs."
                    ))
            } else if aborts.isEmpty {
                checks.append(
                    Check(
                        "storage.lifecycle", .warn, "no rule aborts incomplete multipart uploads",
                        fix:
                            "Add AbortIncompleteMultipartUpload with DaysAfterInitiation \(Int(expiryDays.rounded(.up)) + 1): parts a crash leaves are billed until aborted (Ferry's janitor aborts those it knows)."
                    ))
            } else {
                checks.append(
                    Check(
                        "storage.lifecycle", .ok,
                        "unfinished multipart uploads are aborted after \(aborts.min() ?? 0) days"))
            }
        } catch {
            checks.append(Check("storage.lifecycle", .skip, "cannot read the lifecycle rules: \(Self.describe(error))"))
        }
        do {
            let versioning = try await bounded { try await client.getBucketVersioning() }
            checks.append(
                versioning == "Enabled"
                    ? Check(
                        "storage.versioning", .warn,
                        "versioning is on: blobs Ferry deletes stay as noncurrent versions (billed, and readable by whoever can read versions)",
                        fix: "Suspend versioning, or add a NoncurrentVersionExpiration rule.")
                    : Check("storage.versioning", .ok, "versioning is off"))
        } catch {
            checks.append(Check("storage.versioning", .skip, "cannot read versioning: \(Self.describe(error))"))
        }
        await client.shutdown()
        return checks
    }

    func temporaryCredentialsCheck(_ settings: S3BlobStore.Configuration) -> Check {
        guard settings.credentials.sessionToken != nil else {
            return Check("storage.credentials", .ok, "long-lived credentials (no AWS_SESSION_TOKEN)")
        }
        if configuration.linkTTLMax > 3600 {
            return Check(
                "storage.credentials", .warn,
                "temporary credentials (AWS_SESSION_TOKEN) with FERRY_LINK_TTL_MAX \(configuration.linkTTLMax) s: a presigned link dies with the credentials that signed it, often within an hour",
                fix: "Use long-lived credentials for signing, or keep FERRY_LINK_TTL_MAX within the credentials' life.")
        }
        return Check("storage.credentials", .ok, "temporary credentials, links at most \(configuration.linkTTLMax) s")
    }
}
