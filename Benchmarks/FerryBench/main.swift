// In-process measures for scripts/bench (not a test): link signing per second and SHA-256
// throughput, each over a bounded number of iterations and time, printed as one JSON object.
//
//   ferry-bench            {"link_signatures_per_second": ..., "sha256_bytes_per_second": ...}
//   ferry-bench nio-ceiling PORT   a bare SwiftNIO server for comparison (NIOCeiling.swift)
//   ferry-bench hummingbird-minimal PORT   a one-route Hummingbird app (HummingbirdMinimal.swift)
import Crypto
import FerryCore
import Foundation

if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "nio-ceiling", let port = Int(CommandLine.arguments[2])
{
    try NIOCeiling.serve(port: port)
}
if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "hummingbird-minimal",
    let port = Int(CommandLine.arguments[2])
{
    try await HummingbirdMinimal.serve(port: port)
    exit(0)
}

if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "audit-insert" {
    try await AuditInsert.run(directory: CommandLine.arguments[2])
    exit(0)
}

func measure(seconds: Double, maxIterations: Int, _ body: () -> Int) -> (count: Int, elapsed: Double) {
    let start = DispatchTime.now().uptimeNanoseconds
    var count = 0
    var elapsed = 0.0
    while count < maxIterations {
        count += body()
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if elapsed >= seconds { break }
    }
    return (count, elapsed)
}

// Link signing exactly as POST /links and the manifest do it: payload, HMAC-SHA256, base64url.
let secret = (0..<32).map { UInt8($0) }
var sink = 0
let signing = measure(seconds: 2, maxIterations: 20_000_000) {
    for i in 0..<1000 {
        let token = LinkToken(
            linkID: Identifier.make(), fileID: "Hq3kZ0p4sS1oq9rTzXw8aA", fileVersion: 3,
            expiresAt: 1_900_000_000 + Int64(i), keyID: "k1", disposition: .attachment, bindIP: nil, filename: nil)
        sink &+= token.signed(with: secret).utf8.count
    }
    return 1000
}

// SHA-256 over 8 MiB blocks, as uploads and downloads hash them.
let block = [UInt8](repeating: 0x5A, count: 8 * 1024 * 1024)
let hashing = measure(seconds: 2, maxIterations: 100_000) {
    var hasher = SHA256()
    hasher.update(data: block)
    sink &+= Int(hasher.finalize().withUnsafeBytes { $0[0] })
    return block.count
}

let result: [String: Double] = [
    "link_signatures_per_second": Double(signing.count) / signing.elapsed,
    "sha256_bytes_per_second": Double(hashing.count) / hashing.elapsed,
    "sink": Double(sink % 2),
]
let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
print(String(decoding: data, as: UTF8.self))
