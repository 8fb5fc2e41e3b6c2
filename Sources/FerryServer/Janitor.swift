import FerryCore
import Foundation
import Logging
import ServiceLifecycle

extension FerryServices {
    /// Deletes the blob of a deleted file or a replaced version, and forgets it once it is gone.
    /// When the store refuses now, the catalog keeps the key (the catalog wrote it with the delete
    /// or replacement) and `Janitor` tries again later.
    func discardBlob(_ key: String, fileID: String) async {
        do {
            try await store.delete(key: key)
            try await catalog.blobDeleted(key: key)
        } catch {
            logger.warning(
                "blob not deleted yet; it will be retried",
                metadata: ["file_id": "\(fileID)", "error": "\(error)"])
        }
    }

    /// One pass over the blobs still to delete, at most `limit`; returns how many are now gone.
    /// Every node may run it: deleting a blob twice is not an error.
    public func sweepBlobs(limit: Int = 500) async -> Int {
        let keys: [String]
        do {
            keys = try await catalog.blobsToDelete(limit: limit)
        } catch {
            logger.warning("could not list blobs to delete", metadata: ["error": "\(error)"])
            return 0
        }
        var deleted = 0
        for key in keys {
            do {
                try await store.delete(key: key)
                try await catalog.blobDeleted(key: key)
                deleted += 1
            } catch {
                // The store is still down: the rest wait for the next pass.
                logger.warning("blob still not deleted; next pass later", metadata: ["error": "\(error)"])
                break
            }
        }
        if deleted > 0 { logger.info("deleted blobs left behind earlier", metadata: ["count": "\(deleted)"]) }
        return deleted
    }
}

extension FerryServices {
    /// How long an expired link stays in the catalog (listed for a day, then only kept for
    /// support questions) before `Janitor` deletes it.
    public static let expiredLinkRetention: TimeInterval = 7 * 24 * 3600

    /// Deletes links that expired more than `expiredLinkRetention` ago, in batches of `batch`, at
    /// most `limit` in one call; returns how many.
    public func pruneExpiredLinks(batch: Int = 1000, limit: Int = 50_000) async -> Int {
        let before = now().addingTimeInterval(-Self.expiredLinkRetention)
        var pruned = 0
        while pruned < limit {
            do {
                let deleted = try await catalog.pruneLinks(expiredBefore: before, limit: batch)
                pruned += deleted
                if deleted < batch { break }
            } catch {
                logger.warning("could not prune expired links", metadata: ["error": "\(error)"])
                break
            }
        }
        if pruned > 0 { logger.info("pruned expired links", metadata: ["count": "\(pruned)"]) }
        return pruned
    }
}

/// Catalog housekeeping on every node, every `interval` until graceful shutdown: retries the
/// deletion of blobs the store refused when their file was deleted or replaced, prunes links
/// long expired (every `/d/` redirect issues one) and sign-in attempts out of their window.
public struct Janitor: Service, CustomStringConvertible {
    let services: FerryServices
    let interval: Duration

    public init(services: FerryServices, interval: Duration = .seconds(60)) {
        self.services = services
        self.interval = interval
    }

    /// What ServiceLifecycle logs for it (never the services and their secrets).
    public var description: String { "Janitor(every \(interval))" }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return  // shutting down
            }
            _ = await services.sweepBlobs()
            _ = await services.pruneExpiredLinks()
            do {
                try await services.catalog.pruneLoginAttempts(
                    before: services.now().addingTimeInterval(-Authenticator.loginWindow))
            } catch {
                services.logger.warning("could not prune sign-in attempts", metadata: ["error": "\(error)"])
            }
        }
    }
}
