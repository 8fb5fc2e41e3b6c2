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

extension Doctor {
    // MARK: Links

    func signingKeysCheck() -> Check {
        if let keys = configuration.signingKeys {
            guard keys.allSatisfy({ $0.secret.count >= 32 }) else {
                return Check(
                    "links.signing_keys", .fail, "a key of FERRY_SIGNING_KEYS is shorter than 256 bits",
                    fix: "Use 32 random bytes per key: head -c 32 /dev/urandom | base64")
            }
            return Check("links.signing_keys", .ok, "\(keys.count) key(s) from FERRY_SIGNING_KEYS, 256 bits or more")
        }
        let path = configuration.dataDirectory + "/signing-keys"
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            return Check(
                "links.signing_keys", .ok, "no key yet: `ferry serve` generates \(path) (mode 0600) at first start")
        }
        let mode = ((attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0) & 0o777
        if mode & 0o077 != 0 {
            return Check(
                "links.signing_keys", .fail,
                "\(path) has mode \(String(mode, radix: 8)): others can read the key that signs every link",
                fix: "chmod 600 \(path), and rotate the key if others may have read it.")
        }
        let owner = (attributes[.ownerAccountID] as? NSNumber)?.uint32Value
        if let owner, owner != getuid() {
            return Check(
                "links.signing_keys", .warn, "\(path) belongs to uid \(owner), not this user (\(getuid()))",
                fix: "Run ferry as the key's owner, or chown the file to it.")
        }
        return Check("links.signing_keys", .ok, "\(path): mode 600, this user's")
    }
}
