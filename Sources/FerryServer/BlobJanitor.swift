import FerryCore
import Logging
import ServiceLifecycle

extension FerryServices {
    /// Deletes the blob of a deleted file or a replaced version, and forgets it once it is gone.
    /// When the store refuses now, the catalog keeps the key (the catalog wrote it with the delete
    /// or replacement) and `BlobJanitor` tries again later.
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

/// Retries the deletion of blobs that the store refused to delete when their file was deleted or
/// replaced, every `interval`, until graceful shutdown.
public struct BlobJanitor: Service, CustomStringConvertible {
    let services: FerryServices
    let interval: Duration

    public init(services: FerryServices, interval: Duration = .seconds(60)) {
        self.services = services
        self.interval = interval
    }

    /// What ServiceLifecycle logs for it (never the services and their secrets).
    public var description: String { "BlobJanitor(every \(interval))" }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return  // shutting down
            }
            _ = await services.sweepBlobs()
        }
    }
}
