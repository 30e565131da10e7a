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
}
