import KonnectConfig
import NIOCore
import Testing

@testable import KonnectPlugins

/// proxy-cache's store: bounded by bytes, the least recently used entry leaves first.
@Suite("Proxy cache store")
struct ProxyCacheStoreTests {
    static func response(_ bytes: Int) -> CachedResponse {
        CachedResponse(status: 200, headers: [], body: ByteBuffer(repeating: 0x61, count: bytes), storedAt: 0, expires: 1)
    }

    @Test func theLeastRecentlyUsedEntriesLeaveFirst() {
        // Each entry costs its body plus 256 bytes of bookkeeping: three fit in 4000 bytes, four do not.
        let store = ProxyCacheStore.named("lru-\(UInt64.random(in: 0...UInt64.max))", maxBytes: 4000)
        for key in ["a", "b", "c"] { store.set(key, Self.response(1000)) }
        #expect(store.usage.entries == 3)
        _ = store.get("a")  // a is now the most recently used
        store.set("d", Self.response(1000))
        #expect(store.get("b") == nil)
        #expect(store.get("a") != nil && store.get("c") != nil && store.get("d") != nil)
        #expect(store.usage.bytes <= 4000)

        // Replacing an entry does not count it twice; one larger than the store is not kept.
        store.set("a", Self.response(1000))
        #expect(store.usage.entries == 3)
        store.set("huge", Self.response(10_000))
        #expect(store.get("huge") == nil)
        #expect(store.remove("c"))
        #expect(!store.remove("c"))
        store.removeAll()
        #expect(store.usage.entries == 0 && store.usage.bytes == 0)
    }

    /// A store's bound follows the configuration: the largest max_bytes of the proxy-cache
    /// plugins that share it, lower or higher than before; a lower one evicts at once.
    @Test func theBoundFollowsTheConfiguration() {
        let name = "bound-\(UInt64.random(in: 0...UInt64.max))"
        func plugin(_ id: String, maxBytes: Int) -> Plugin {
            Plugin(id: id, name: "proxy-cache", config: .object([
                "memory": .object(["dictionary_name": .string(name), "max_bytes": .number(Double(maxBytes))]),
            ]))
        }
        let wide = Configuration(plugins: [plugin("a", maxBytes: 2000), plugin("b", maxBytes: 8000)])
        let cache = ProxyCachePlugin(config: wide.plugins[0].config, configuration: wide)
        for key in ["a", "b", "c", "d", "e"] { cache.store.set(key, Self.response(1000)) }
        #expect(cache.store.usage.entries == 5)  // 8000 bytes: the larger of the two

        let narrow = Configuration(plugins: [plugin("a", maxBytes: 2000)])
        _ = ProxyCachePlugin(config: narrow.plugins[0].config, configuration: narrow)
        #expect(cache.store.usage.bytes <= 2000)
        #expect(cache.store.get("e") != nil && cache.store.get("a") == nil)  // the most recent stays
    }
}
