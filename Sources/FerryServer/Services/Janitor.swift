import FerryCore
import Foundation
import Logging
import ServiceLifecycle

extension FerryServices {
    /// Counts what a housekeeping pass deleted (`ferry_housekeeping_deleted_total{kind}`) and, when
    /// it deleted anything, says so in the log.
    func housekept(_ kind: String, count: Int, _ message: Logger.Message) {
        guard count > 0 else { return }
        logger.info(message, metadata: ["count": "\(count)"])
        metrics.housekeeping(kind, count: count)
    }

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
        housekept("blob", count: deleted, "deleted blobs left behind earlier")
        return deleted
    }
}

extension FerryServices {
    /// How old a blob (or an unfinished upload) without a file must be before `Janitor` deletes
    /// it: an upload writes its file record right after its blob, so a day leaves a wide margin,
    /// also for a store whose clock is not the node's.
    public static let orphanGrace: TimeInterval = 24 * 3600

    /// How long an upload may go on before `Janitor` takes it for dead: a week (the maximum upload
    /// at a slow link can take a day; S3 lifecycle rules commonly use seven days too).
    public static let unfinishedUploadGrace: TimeInterval = 7 * 24 * 3600

    /// At most this many blobs without a file are deleted in one pass; more means something other
    /// than a failed upload (a catalog restored from an older backup, another deployment's blobs
    /// under the same root or prefix), and then nothing is deleted and the operator is told.
    public static let orphanDeleteLimit = 100

    /// Reconciles the store with the catalog: deletes blobs written more than `grace` ago that
    /// no file points at, and discards uploads begun more than `uploadGrace` ago and never finished.
    /// Returns how many blobs and uploads went. Only keys of Ferry's shape are considered; a
    /// catalog that cannot answer deletes nothing, and neither does a pass that finds more than
    /// `limit` such blobs (see `orphanDeleteLimit`).
    public func sweepOrphans(
        grace: TimeInterval = orphanGrace, uploadGrace: TimeInterval = unfinishedUploadGrace,
        limit: Int = orphanDeleteLimit
    ) async -> (blobs: Int, uploads: Int) {
        let cutoff = now().addingTimeInterval(-grace)
        var blobs = 0
        // First the whole list (at most limit + 1 keys are kept), then the deletes.
        var orphans: [String] = []
        do {
            try await store.listBlobs(writtenBefore: cutoff) { keys in
                let referenced = try await catalog.referencedBlobs(among: keys)
                orphans += keys.filter { !referenced.contains($0) }
                if orphans.count > limit { throw TooManyOrphans() }
            }
            for key in orphans {
                try await store.delete(key: key)
                blobs += 1
            }
        } catch is TooManyOrphans {
            logger.error(
                "more blobs without a file than a failed upload leaves; deleted none (was the catalog restored from an older backup, or does another deployment share the blob root or prefix?)",
                metadata: ["found_at_least": "\(orphans.count)", "limit": "\(limit)"])
        } catch {
            // Stopped by shutdown: the next start takes it up; nothing to warn about.
            if !Task.isCancelled {
                logger.warning("could not finish looking for blobs without a file", metadata: ["error": "\(error)"])
            }
        }
        var uploads = 0
        do {
            uploads = try await store.discardUnfinishedUploads(begunBefore: now().addingTimeInterval(-uploadGrace))
        } catch {
            if !Task.isCancelled {
                logger.warning("could not discard unfinished uploads", metadata: ["error": "\(error)"])
            }
        }
        metrics.housekeeping("orphan_blob", count: blobs)
        metrics.housekeeping("unfinished_upload", count: uploads)
        if blobs > 0 || uploads > 0 {
            logger.info(
                "deleted blobs without a file and unfinished uploads",
                metadata: ["blobs": "\(blobs)", "uploads": "\(uploads)"])
        }
        return (blobs, uploads)
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
        housekept("expired_link", count: pruned, "pruned expired links")
        return pruned
    }
}

/// Catalog housekeeping on every node, every `interval` until graceful shutdown: retries the
/// deletion of blobs the store refused when their file was deleted or replaced, prunes links
/// long expired (every `/d/` redirect issues one) and sign-in attempts out of their window; and
/// every `reconcileEvery` (first on its first pass) lists the store for blobs without a file and
/// unfinished uploads (`sweepOrphans`).
public struct Janitor: Service, CustomStringConvertible {
    let services: FerryServices
    let interval: Duration
    let reconcileEvery: Duration

    /// Creates the janitor of a node.
    public init(
        services: FerryServices, interval: Duration = .seconds(60), reconcileEvery: Duration = .seconds(6 * 3600)
    ) {
        self.services = services
        self.interval = interval
        self.reconcileEvery = reconcileEvery
    }

    /// What ServiceLifecycle logs for it (never the services and their secrets).
    public var description: String { "Janitor(every \(interval), store listed every \(reconcileEvery))" }

    public func run() async throws {
        let clock = ContinuousClock()
        var lastReconciled: ContinuousClock.Instant?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return  // shutting down
            }
            if lastReconciled.map({ clock.now - $0 >= reconcileEvery }) ?? true {
                lastReconciled = clock.now
                // A multipart upload younger than the longest a tus upload may live (plus a day) may be
                // a live tus upload: those are discarded with their records (`discardExpiredUploads`).
                _ = await services.sweepOrphans(
                    uploadGrace: max(
                        FerryServices.unfinishedUploadGrace, Double(services.configuration.uploadExpiry) + 86_400))
            }
            _ = await services.sweepBlobs()
            _ = await services.pruneExpiredLinks()
            _ = await services.discardExpiredUploads()
            do {
                try await services.catalog.pruneLoginAttempts(
                    before: services.now().addingTimeInterval(-Authenticator.loginWindow))
            } catch {
                services.logger.warning("could not prune sign-in attempts", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Ends a reconciliation's listing early: too many blobs without a file to delete any.
struct TooManyOrphans: Error {}

extension FerryServices {
    /// Discards tus uploads left unfinished past their `Upload-Expires` (their staged bytes or S3
    /// multipart upload, and their record) and forgets completed ones after a day (their `HEAD`
    /// answered with the file until then). An upload being written holds its lease and is left
    /// for the next pass. Returns how many were discarded.
    public func discardExpiredUploads() async -> Int {
        let now = self.now()
        let expired: [UploadRecord]
        do {
            expired = try await catalog.expiredUploads(
                before: now, completedBefore: now.addingTimeInterval(-UploadsController.completedKept), limit: 100)
        } catch {
            logger.warning("could not list expired uploads", metadata: ["error": "\(error)"])
            return 0
        }
        var discarded = 0
        for upload in expired {
            do {
                let holder = Identifier.make()
                guard
                    case .taken(let current) = try await catalog.leaseUpload(
                        id: upload.id, holder: holder, now: now,
                        until: now.addingTimeInterval(UploadsController.leaseTime))
                else { continue }
                if current.completedFileID == nil {
                    await store.discardResumable(key: current.blobKey, state: current.storeState)
                    discarded += 1
                }
                _ = try await catalog.deleteUpload(id: current.id)
                await uploadHashes.remove(current.id)
            } catch {
                logger.warning("could not discard an expired upload", metadata: ["error": "\(error)"])
            }
        }
        housekept("expired_upload", count: discarded, "discarded expired uploads")
        return discarded
    }
}
