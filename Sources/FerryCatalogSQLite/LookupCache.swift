import FerryCore
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The per-request lookups of this catalog (a link's state for `/t/`, a bearer token's
/// principal, a file read by its owner or an admin), kept between requests and exact under every
/// change.
///
/// Every write of the catalog except audit appends ends by calling `changed()` after its commit,
/// which empties the cache and moves its generation on. A lookup notes the generation before it
/// reads and keeps its answer only if no write committed meanwhile, so an answer read before a
/// revocation (of a link, a token, a grant; a file's deletion, a user disabled, a download taken)
/// is never served after the call that made the change returned. Time is the other input: an
/// answer is kept at most `maxAge` and never past the moment it would change by itself (the expiry
/// of the grant it rests on). The embedded catalog belongs to one `ferry serve` process; `maxAge`
/// also bounds how long a change made behind its back (an `sqlite3` session) can go unseen.
/// Only answers that found something are kept, so unknown keys cannot crowd out known ones.
final class LookupCache: Sendable {
    struct Entry {
        var value: any Sendable
        var readAt: Date
        var until: Date
    }

    struct State {
        var generation: UInt64 = 0
        var entries: [String: Entry] = [:]
    }

    static let maxAge: TimeInterval = 1
    /// Past this many entries the cache starts over (a bound in memory, not an LRU: a burst of
    /// distinct links costs a re-read each, which is what an uncached lookup costs anyway).
    static let capacity = 4096

    let state = Mutex(State())

    /// The kept answer for `key` at `now`, or the generation to hand back to `keep`.
    func lookup<T: Sendable>(_ key: String, as type: T.Type, now: Date) -> (T?, UInt64) {
        state.withLock { state in
            if let entry = state.entries[key], now >= entry.readAt, now < entry.until, let value = entry.value as? T {
                return (value, 0)
            }
            return (nil, state.generation)
        }
    }

    /// Keeps `value` read at `now` (generation `generation`) until `lapse` at the latest.
    func keep(_ key: String, _ value: any Sendable, now: Date, lapse: Date? = nil, generation: UInt64) {
        var until = now.addingTimeInterval(Self.maxAge)
        if let lapse { until = min(until, lapse) }
        guard until > now else { return }
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.entries.count >= Self.capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[key] = Entry(value: value, readAt: now, until: until)
        }
    }

    /// A write committed: nothing read before it may be served again.
    func changed() {
        state.withLock { state in
            state.generation &+= 1
            if !state.entries.isEmpty { state.entries.removeAll(keepingCapacity: true) }
        }
    }
}
