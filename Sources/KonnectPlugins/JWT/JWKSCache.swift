import Foundation
import NIOConcurrencyHelpers

/// JWKS documents of identity providers, fetched when first needed and kept for the process
/// (plugins are rebuilt with every configuration; the keys they fetched are not lost with them).
///
/// A document is used for `cacheTTL` seconds, then fetched again. A token whose `kid` is not in
/// it triggers one fetch, at most once per `refreshInterval`, so a provider's key rotation is
/// picked up at once while a stream of tokens with made-up `kid`s cannot make Konnect hammer the
/// provider. When a fetch fails the keys fetched before stay in use.
final class JWKSCache: Sendable {
    static let shared = JWKSCache()
    /// Largest document accepted.
    static let maximumSize = 1 << 20

    /// Where one plugin gets its keys, and how often it may fetch them.
    struct Source: Sendable {
        var url: String
        var refreshInterval: Double
        var cacheTTL: Double
    }

    enum Lookup {
        /// Keys are at hand (they may still not include the token's key).
        case ready(JWKSet)
        /// No keys could be fetched, and it is too soon to try again.
        case unavailable
        /// A fetch is under way: its result comes to `whenFetched`.
        case fetching(Fetch)
    }

    /// A fetch in progress and the requests waiting for it.
    final class Fetch: Sendable {
        private let state = NIOLockedValueBox<(done: Bool, set: JWKSet?, waiters: [@Sendable (JWKSet?) -> Void])>((false, nil, []))

        /// Calls `body` with the keys (nil when there are none) once the fetch is over, on the
        /// fetching thread, or at once when it is over already.
        func whenFetched(_ body: @escaping @Sendable (JWKSet?) -> Void) {
            let result: JWKSet?? = state.withLockedValue { state in
                if state.done { return .some(state.set) }
                state.waiters.append(body)
                return .none
            }
            if case .some(let set) = result { body(set) }
        }

        func finish(_ set: JWKSet?) {
            let waiters = state.withLockedValue { state in
                state.done = true
                state.set = set
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter(set) }
        }
    }

    private struct Entry {
        var set: JWKSet?
        var fetchedAt = Date.distantPast
        var lastAttempt = Date.distantPast
        var inFlight: Fetch?
    }

    private let entries = NIOLockedValueBox<[String: Entry]>([:])
    private let download: @Sendable (String) async -> String?

    init(download: @escaping @Sendable (String) async -> String? = JWKSCache.download) {
        self.download = download
    }

    /// The keys of `source` for a token with this `kid` and `alg`, or the fetch to wait for.
    func keys(for source: Source, keyID: String?, algorithm: String, now: Date = Date()) -> Lookup {
        let decision: (lookup: Lookup, start: Fetch?) = entries.withLockedValue { entries in
            var entry = entries[source.url] ?? Entry()
            if let inFlight = entry.inFlight { return (.fetching(inFlight), nil) }
            let mayFetch = now.timeIntervalSince(entry.lastAttempt) >= source.refreshInterval
            if let set = entry.set {
                let fresh = now.timeIntervalSince(entry.fetchedAt) < source.cacheTTL
                let known = !set.candidates(keyID: keyID, algorithm: algorithm).isEmpty
                if (fresh && known) || !mayFetch { return (.ready(set), nil) }
            } else if !mayFetch {
                return (.unavailable, nil)
            }
            let fetch = Fetch()
            entry.inFlight = fetch
            entry.lastAttempt = now
            entries[source.url] = entry
            return (.fetching(fetch), fetch)
        }
        if let fetch = decision.start {
            let url = source.url
            Task { [self] in
                let text = await download(url)
                let fetched = text.flatMap { try? JWKSet(json: $0) }
                let set = entries.withLockedValue { entries in
                    var entry = entries[url] ?? Entry()
                    if let fetched {
                        entry.set = fetched
                        entry.fetchedAt = Date()
                    }
                    entry.inFlight = nil
                    entries[url] = entry
                    return entry.set
                }
                fetch.finish(set)
            }
        }
        return decision.lookup
    }

    /// The document at `url`, or nil when it cannot be had within 10 seconds or is too large.
    static func download(_ url: String) async -> String? {
        let answer = await PluginHTTP.send(url, headers: [("Accept", "application/json")], timeout: .seconds(10),
                                           limit: maximumSize)
        guard let answer, answer.status == 200 else { return nil }
        return answer.body
    }
}
