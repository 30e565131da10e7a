import KonnectPlugins
import NIOCore
import Testing

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
}
