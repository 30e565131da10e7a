import Synchronization

/// This node's rate-limiting counters (the `local` policy, and the fallback when Redis is down).
///
/// Process-wide, so counts survive configuration changes. Split into shards, each behind its own
/// lock, so that event loops counting different clients rarely wait for each other; a check and
/// its increments happen under one lock, so concurrent requests cannot both take the last slot.
final class LocalRateCounters: Sendable {
    static let shared = LocalRateCounters()

    /// Counters kept per shard before the stalest are dropped.
    static let maximumEntriesPerShard = 65_536

    private let shards: [ShardBox]

    init(shardCount: Int = 16) {
        shards = (0..<shardCount).map { _ in ShardBox() }
    }

    /// Counts one request against `limits` for `key`, unless a window is already full; then
    /// nothing is counted (a refused request uses up no window's quota).
    func take(_ key: RateKey, limits: [RateLimit], now: Double, sliding: Bool) -> RateUsage {
        // Written in place: neither the usage nor the entry is copied on the way.
        var usage = RateUsage()
        shard(key).mutex.withLock { shard in
            shard.sweepIfDue(now: now)
            shard.entries[key, default: Entry()].take(limits, now: now, sliding: sliding, into: &usage)
        }
        return usage
    }

    /// Takes one of `limit` in-flight slots for `key`; false when all are taken.
    func enter(_ key: RateKey, limit: Int) -> Bool {
        shard(key).mutex.withLock { shard in
            let inFlight = shard.inFlight[key, default: 0]
            guard inFlight < limit else { return false }
            shard.inFlight[key] = inFlight + 1
            return true
        }
    }

    /// Gives back a slot `enter` took.
    func leave(_ key: RateKey) {
        shard(key).mutex.withLock { shard in
            guard let inFlight = shard.inFlight[key] else { return }
            shard.inFlight[key] = inFlight > 1 ? inFlight - 1 : nil
        }
    }

    private func shard(_ key: RateKey) -> ShardBox {
        shards[Int(UInt(bitPattern: key.hash) % UInt(shards.count))]
    }

    /// A shard behind its own lock (the standard library's `Mutex`).
    private final class ShardBox: Sendable {
        let mutex = Mutex(Shard())
    }

    private struct Shard {
        var entries: [RateKey: Entry] = [:]
        var inFlight: [RateKey: Int] = [:]
        var nextSweep: Double = 0

        /// Drops counters whose windows have all ended, once a second at most; and the stalest
        /// half when a shard holds too many (a flood of client addresses).
        mutating func sweepIfDue(now: Double) {
            if entries.count >= LocalRateCounters.maximumEntriesPerShard {
                let cut = entries.values.map(\.expires).sorted()[entries.count / 2]
                entries = entries.filter { $0.value.expires > cut }
            }
            guard now >= nextSweep else { return }
            nextSweep = now + 1
            let seconds = Int64(now)
            if entries.values.contains(where: { $0.expires <= seconds }) {
                entries = entries.filter { $0.value.expires > seconds }
            }
        }
    }

    private struct Entry {
        /// One per window kind, by `RateWindow.rawValue`.
        var counts = InlineArray<6, Count>(repeating: Count())
        /// When every window this entry counts in has ended (seconds since 1970).
        var expires: Int64 = 0

        mutating func take(_ limits: [RateLimit], now: Double, sliding: Bool, into usage: inout RateUsage) {
            for limit in limits {
                let period = limit.window.period(containing: now)
                counts[limit.window.rawValue].advance(to: period)
                let used = counts[limit.window.rawValue].used(now: now, period: period, sliding: sliding)
                usage.windows.append(.init(limit: limit, used: used, reset: period.end))
                if used + 1 > limit.count, usage.refusedBy == nil { usage.refusedBy = usage.windows.count - 1 }
                // A sliding window looks back one period: its count is kept that much longer.
                expires = max(expires, sliding ? 2 * period.end - period.start : period.end)
            }
            if usage.refusedBy == nil {
                for limit in limits { counts[limit.window.rawValue].current += 1 }
            }
        }
    }

    /// One window's count, and the previous period's (for sliding windows).
    private struct Count {
        var start: Int64 = 0
        var end: Int64 = 0
        var current = 0
        var previous = 0

        mutating func advance(to period: (start: Int64, end: Int64)) {
            guard period.start != start else { return }
            previous = period.start == end ? current : 0
            current = 0
            start = period.start
            end = period.end
        }

        /// Requests counted against the window: this period's, plus (sliding) the previous
        /// period's weighted by how much of it the sliding window still covers.
        func used(now: Double, period: (start: Int64, end: Int64), sliding: Bool) -> Double {
            guard sliding, previous > 0 else { return Double(current) }
            let elapsed = (now - Double(period.start)) / Double(period.end - period.start)
            return Double(current) + Double(previous) * max(0, 1 - elapsed)
        }
    }
}

/// What one set of counters belongs to: a client (consumer, address …) on a route of a service.
/// Hashed once when made: the shard and the shard's dictionary both use that hash. The route
/// and service part is the plugin chain's `scope`, made and hashed once per route. An object,
/// so that the key a connection keeps for its next request is handed on as one reference.
final class RateKey: Hashable, Sendable {
    /// `route:service`.
    let scope: String
    let identifier: String
    let hash: Int

    convenience init(route: String?, service: String?, identifier: String) {
        let scope = PluginChain.scope(route: route, service: service)
        self.init(scope: scope, scopeHash: scope.hashValue, identifier: identifier)
    }

    /// `identifier` on the route of `chain` (nil: before any route).
    convenience init(_ chain: PluginChain?, identifier: String) {
        if let chain {
            self.init(scope: chain.scope, scopeHash: chain.scopeHash, identifier: identifier)
        } else {
            self.init(route: nil, service: nil, identifier: identifier)
        }
    }

    private init(scope: String, scopeHash: Int, identifier: String) {
        self.scope = scope
        self.identifier = identifier
        var hasher = Hasher()
        hasher.combine(scopeHash)
        hasher.combine(identifier)
        hash = hasher.finalize()
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }

    /// What Dictionary asks for instead of `hash(into:)` when a type answers it: `hash` is
    /// already a seeded hash of the whole key, so hashing it again would only cost time.
    func _rawHashValue(seed: Int) -> Int {
        hash ^ seed
    }

    static func == (a: RateKey, b: RateKey) -> Bool {
        a === b || (a.hash == b.hash && a.identifier == b.identifier && a.scope == b.scope)
    }
}

/// One configured limit: at most `count` requests per `window`.
struct RateLimit: Sendable {
    var window: RateWindow
    var count: Double
}

/// What counting a request found, window by window.
struct RateUsage: Sendable {
    struct Window: Sendable {
        var limit: RateLimit
        /// Requests counted before this one.
        var used: Double
        /// When the window's period ends (seconds since 1970).
        var reset: Int64

        /// Requests left: once this one is counted, when it is (as many as an `Int` holds at
        /// most: the schema puts no upper bound on a limit, as Kong's does not).
        func remaining(counted: Bool) -> Int {
            let left = (limit.count - used - (counted ? 1 : 0)).rounded(.down)
            guard left >= 0 else { return 0 }
            return left < 9.2e18 ? Int(left) : .max
        }
    }

    var windows = Windows()
    /// The index in `windows` of the first full window, when the request is refused.
    var refusedBy: Int?

    /// Requests left in window `index`, as Kong shows them: once this request is counted; for a
    /// refused request, which is not counted, as many as before it (a full window shows 0
    /// either way, the others what is really left).
    func remaining(_ index: Int) -> Int {
        windows[index].remaining(counted: refusedBy == nil)
    }

    /// The windows in the order of the limits, at most one of each kind: kept inline, so that
    /// counting a request allocates nothing.
    struct Windows: RandomAccessCollection, Sendable {
        private var storage = InlineArray<6, Window>(
            repeating: Window(limit: RateLimit(window: .second, count: 0), used: 0, reset: 0))
        private(set) var endIndex = 0
        var startIndex: Int { 0 }

        subscript(index: Int) -> Window { storage[index] }

        mutating func append(_ window: Window) {
            storage[endIndex] = window
            endIndex += 1
        }
    }
}
