import Foundation
import HummingbirdTesting
import KonnectConfig
import KonnectPlugins
import NIOCore
import Testing

/// Looking up and purging proxy-cache entries through the Admin API (Kong's endpoints).
@Suite("Admin API: proxy-cache")
struct AdminProxyCacheTests {
    @Test func entriesAreFoundAndPurgedByKeyOrPlugin() async throws {
        let dictionary = "admin-\(UUID().uuidString)"
        try await AdminFixture().run { client in
            let created = try await client.call(.post, "/plugins",
                                                json: #"{"name": "proxy-cache", "config": {"memory": {"dictionary_name": "\#(dictionary)"}}}"#)
            #expect(created.status == 201)
            let pluginID = try #require(created.body["id"]?.string)
            let store = ProxyCacheStore.named(dictionary)
            let entry = CachedResponse(status: 200, headers: [.init("Content-Type", "application/json")],
                                       body: ByteBuffer(string: "{}"), storedAt: 1_000, expires: 1_300)
            store.set("k1", entry)
            store.set("k2", entry)

            let found = try await client.call(.get, "/proxy-cache/k1")
            #expect(found.status == 200)
            #expect(found.body["status"] == .number(200))
            #expect(found.body["headers"]?["content-type"] == .string("application/json"))
            #expect(found.body["body_size"] == .number(2))
            // Kong's names for the same: the body, its length, when it was stored and for how long.
            #expect(found.body["body"] == .string("{}"))
            #expect(found.body["body_len"] == .number(2))
            #expect(found.body["timestamp"] == .number(1_000) && found.body["ttl"] == .number(300))
            #expect(try await client.call(.get, "/proxy-cache/\(pluginID)/caches/k1").status == 200)

            #expect(try await client.call(.delete, "/proxy-cache/\(pluginID)/caches/k1").status == 204)
            #expect(try await client.call(.get, "/proxy-cache/k1").status == 404)
            #expect(try await client.call(.delete, "/proxy-cache/k1").status == 404)
            #expect(try await client.call(.get, "/proxy-cache/00000000-0000-4000-8000-000000000000/caches/k2").status == 404)

            #expect(try await client.call(.delete, "/proxy-cache").status == 204)
            #expect(store.get("k2") == nil)
        }
    }
}
