import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// A cached response: what goes back to a client on a hit.
public struct CachedResponse: Sendable {
    public var status: Int
    /// The upstream's header fields, hop-by-hop ones left out.
    public var headers: [AccessResult.Header]
    public var body: ByteBuffer
    /// When it was stored, and until when it is fresh (seconds since 1970).
    public var storedAt: Double
    public var expires: Double

    public init(status: Int, headers: [AccessResult.Header], body: ByteBuffer, storedAt: Double, expires: Double) {
        self.status = status
        self.headers = headers
        self.body = body
        self.storedAt = storedAt
        self.expires = expires
    }

    var cost: Int { body.readableBytes + headers.reduce(256) { $0 + $1.name.utf8.count + $1.value.utf8.count } }
}

/// proxy-cache's in-memory store: one per `memory.dictionary_name`, kept for the process (so a
/// configuration change keeps what was cached), bounded by bytes and evicting the least recently
/// used entries first. Its lock is held only to look up, insert or unlink an entry.
public final class ProxyCacheStore: Sendable {
    private static let stores = NIOLockedValueBox<[String: ProxyCacheStore]>([:])

    /// The store named `name`, bounded by `maxBytes` from now on (a lower bound than before
    /// evicts the least recently used entries down to it).
    public static func named(_ name: String, maxBytes: Int = 64 << 20) -> ProxyCacheStore {
        stores.withLockedValue { stores in
            if let store = stores[name] {
                store.setLimit(maxBytes)
                return store
            }
            let store = ProxyCacheStore(maxBytes: maxBytes)
            stores[name] = store
            return store
        }
    }

    /// The store named `name`, if a plugin has made it.
    public static func existing(_ name: String) -> ProxyCacheStore? {
        stores.withLockedValue { $0[name] }
    }

    private struct State {
        var entries: [String: Node] = [:]
        var bytes = 0
        var maxBytes: Int
        /// Most recently used first.
        var head: Node?
        var tail: Node?
    }

    /// A list node; only touched under the store's lock.
    private final class Node: @unchecked Sendable {
        let key: String
        var response: CachedResponse
        var newer: Node?
        weak var older: Node?

        init(key: String, response: CachedResponse) {
            self.key = key
            self.response = response
        }
    }

    private let state: NIOLockedValueBox<State>
    /// The misses being fetched for this store's keys.
    let misses = MissCollapser()

    init(maxBytes: Int) {
        state = NIOLockedValueBox(State(maxBytes: maxBytes))
    }

    private func setLimit(_ maxBytes: Int) {
        state.withLockedValue { state in
            state.maxBytes = maxBytes
            Self.evict(downTo: maxBytes, &state)
        }
    }

    /// Drops the least recently used entries until at most `bytes` are held.
    private static func evict(downTo bytes: Int, _ state: inout State) {
        while state.bytes > bytes, let oldest = state.tail {
            unlink(oldest, &state)
            state.entries[oldest.key] = nil
            state.bytes -= oldest.response.cost
        }
    }

    /// The entry for `key`, fresh or not; marks it recently used.
    public func get(_ key: String) -> CachedResponse? {
        state.withLockedValue { state in
            guard let node = state.entries[key] else { return nil }
            Self.unlink(node, &state)
            Self.pushFront(node, &state)
            return node.response
        }
    }

    /// Stores `response` under `key`, evicting the least recently used entries to stay within
    /// the bound. A response larger than the whole bound is not stored.
    public func set(_ key: String, _ response: CachedResponse) {
        state.withLockedValue { state in
            if let old = state.entries.removeValue(forKey: key) {
                Self.unlink(old, &state)
                state.bytes -= old.response.cost
            }
            guard response.cost <= state.maxBytes else { return }
            Self.evict(downTo: state.maxBytes - response.cost, &state)
            let node = Node(key: key, response: response)
            state.entries[key] = node
            Self.pushFront(node, &state)
            state.bytes += response.cost
        }
    }

    /// Removes the entry for `key`; false when there was none.
    @discardableResult
    public func remove(_ key: String) -> Bool {
        state.withLockedValue { state in
            guard let node = state.entries.removeValue(forKey: key) else { return false }
            Self.unlink(node, &state)
            state.bytes -= node.response.cost
            return true
        }
    }

    public func removeAll() {
        state.withLockedValue { state in
            state = State(maxBytes: state.maxBytes)
        }
    }

    /// Bytes held and entries, for tests and the Admin API.
    public var usage: (bytes: Int, entries: Int) {
        state.withLockedValue { ($0.bytes, $0.entries.count) }
    }

    private static func unlink(_ node: Node, _ state: inout State) {
        let newer = node.newer, older = node.older
        if let newer { newer.older = older } else if state.head === node { state.head = older }
        if let older { older.newer = newer } else if state.tail === node { state.tail = newer }
        node.newer = nil
        node.older = nil
    }

    private static func pushFront(_ node: Node, _ state: inout State) {
        node.older = state.head
        node.newer = nil
        state.head?.newer = node
        state.head = node
        if state.tail == nil { state.tail = node }
    }
}
