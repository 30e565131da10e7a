import Foundation
import KonnectConfig
import KonnectProxy
import Testing

/// Plugins configured for a consumer apply once authentication has identified that consumer.
@Suite("Plugins: consumer scope")
struct ConsumerScopedPluginTests {
    @Test func aConsumersPluginAppliesOnlyToThatConsumer() async throws {
        let alice = Consumer(id: "aaaaaaaa-0000-4000-8000-000000000001", username: "alice")
        let bob = Consumer(id: "bbbbbbbb-0000-4000-8000-000000000002", username: "bob")
        try await withProxy(configure: { ports in
            pluginConfiguration(port: ports[0], plugins: [
                Plugin(id: "p-key", name: "key-auth"),
                Plugin(id: "p-stop-bob", name: "request-termination", config: .object(["status_code": .number(429)]),
                       consumerID: bob.id),
            ], consumers: [alice, bob]) {
                $0.keyAuthCredentials = [
                    KeyAuthCredential(id: "k-a", consumerID: alice.id, key: "alice-key"),
                    KeyAuthCredential(id: "k-b", consumerID: bob.id, key: "bob-key"),
                ]
            }
        }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            #expect(try await client.get("/x", headers: [("apikey", "alice-key")]).status == 200)
            #expect(try await client.get("/x", headers: [("apikey", "bob-key")]).status == 429)
            #expect(try await client.get("/x").status == 401)
        }
    }

    /// The plugins a consumer takes in are worked out once per route and consumer, then reused:
    /// requests that alternate between consumers each get their own, and so does a request in
    /// which a second plugin identifies a consumer after the first one set the anonymous one.
    @Test func eachConsumerKeepsItsOwnPluginsAcrossRequests() async throws {
        let alice = Consumer(id: "aaaaaaaa-0000-4000-8000-000000000001", username: "alice")
        let bob = Consumer(id: "bbbbbbbb-0000-4000-8000-000000000002", username: "bob")
        let guest = Consumer(id: "cccccccc-0000-4000-8000-000000000003", username: "guest")
        let carol = Consumer(id: "dddddddd-0000-4000-8000-000000000004", username: "carol")
        let stop = { (status: Int) -> JSONValue in .object(["status_code": .number(Double(status))]) }
        try await withProxy(configure: { ports in
            pluginConfiguration(port: ports[0], plugins: [
                Plugin(id: "p-key", name: "key-auth", config: .object(["anonymous": "guest"])),
                Plugin(id: "p-basic", name: "basic-auth", config: .object(["anonymous": "guest"])),
                Plugin(id: "p-stop-bob", name: "request-termination", config: stop(429), consumerID: bob.id),
                Plugin(id: "p-stop-guest", name: "request-termination", config: stop(418), consumerID: guest.id),
            ], consumers: [alice, bob, guest, carol]) {
                $0.keyAuthCredentials = [
                    KeyAuthCredential(id: "k-a", consumerID: alice.id, key: "alice-key"),
                    KeyAuthCredential(id: "k-b", consumerID: bob.id, key: "bob-key"),
                ]
                $0.basicAuthCredentials = [
                    BasicAuthCredential(id: "b-bob", consumerID: bob.id, username: "bob", passwordHash: BasicAuthPluginTests.hash),
                    BasicAuthCredential(id: "b-carol", consumerID: carol.id, username: "carol", passwordHash: BasicAuthPluginTests.hash),
                ]
            }
        }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let basic = { (who: String) in [("Authorization", BasicAuthPluginTests.basic(who, "open sesame"))] }
            var statuses: [Int] = []
            for _ in 0..<2 {
                for headers in [[("apikey", "alice-key")], [("apikey", "bob-key")], [], basic("bob"), basic("carol")] {
                    statuses.append(try await client.get("/x", headers: headers).status)
                }
            }
            // alice: no plugin of her own; bob (by key, or by password after key-auth set the
            // guest): his 429; nobody: the guest's 418; carol, by password after the guest: none
            // of the guest's plugins, and none of her own.
            #expect(statuses == [200, 429, 418, 429, 200, 200, 429, 418, 429, 200])
        }
    }
}
