import Foundation
import KonnectConfig
import KonnectProxy
import KonnectTestSupport
import Testing

/// oauth2-introspection against an RFC 7662 endpoint run in the test.
@Suite("Plugins: oauth2-introspection")
struct OAuth2IntrospectionPluginTests {
    @Test func activeTokensPassAndAreCachedInactiveOnesDoNot() async throws {
        let exp = Int(Date().timeIntervalSince1970) + 600
        try await withStubServer(answer: { request in
            guard request.headers.contains(where: { $0.0.lowercased() == "authorization" && $0.1 == "Basic Z3c6c2VjcmV0" }) else {
                return (401, #"{"error":"invalid_client"}"#)
            }
            if request.body.contains("token=good-token") {
                return (200, #"{"active":true,"username":"alice","client_id":"app-1","scope":"read write","exp":\#(exp)}"#)
            }
            return (200, #"{"active":false}"#)
        }) { endpoint in
            let alice = Consumer(id: "aaaaaaaa-0000-4000-8000-000000000001", username: "alice")
            let config: JSONValue = .object([
                "introspection_url": .string("http://127.0.0.1:\(endpoint.port)/introspect"),
                "authorization_value": .string("Basic Z3c6c2VjcmV0"), "hide_credentials": .bool(true),
            ])
            try await withProxy(configure: {
                pluginConfiguration(port: $0[0], plugins: [Plugin(id: "p-intro", name: "oauth2-introspection", config: config)],
                                    consumers: [alice])
            }) { fx in
                let client = try await fx.client()
                defer { client.close() }
                for _ in 0..<2 {
                    let response = try await client.get("/x", headers: [("Authorization", "Bearer good-token"), ("X-Credential-Scope", "admin")])
                    #expect(response.status == 200)
                    let echoed = response.text.lowercased()
                    #expect(echoed.contains("x-consumer-username: alice"))
                    #expect(echoed.contains("x-credential-scope: read write"))
                    #expect(!echoed.contains("admin"))        // a client's own credential headers are dropped
                    #expect(!echoed.contains("good-token"))   // hide_credentials
                }
                #expect(endpoint.requests.count == 1)  // the second request used the cached answer
                #expect(endpoint.requests.first?.body.contains("token=good-token") == true)

                let inactive = try await client.get("/x", headers: [("Authorization", "Bearer revoked")])
                #expect(inactive.status == 401)
                #expect(inactive.header("www-authenticate")?.contains("invalid_token") == true)
                #expect(try await client.get("/x").status == 401)
            }
        }
    }

    /// The endpoint's numbers are relayed as JSON writes them, whatever their size: an `exp`
    /// past what an integer holds once stopped the gateway.
    @Test func anExpOfAnySizeIsRelayed() async throws {
        try await withStubServer(answer: { _ in (200, #"{"active":true,"username":"alice","exp":1e300}"#) }) { endpoint in
            let config: JSONValue = .object([
                "introspection_url": .string("http://127.0.0.1:\(endpoint.port)/introspect"),
                "authorization_value": .string("Basic Z3c6c2VjcmV0"),
            ])
            try await withProxy(configure: {
                pluginConfiguration(port: $0[0], plugins: [Plugin(id: "p-intro", name: "oauth2-introspection", config: config)])
            }) { fx in
                let client = try await fx.client()
                defer { client.close() }
                let response = try await client.get("/x", headers: [("Authorization", "Bearer big-token")])
                #expect(response.status == 200)
                #expect(response.text.lowercased().contains("x-credential-exp: 1e+300"))
            }
        }
    }

    /// An endpoint that refuses connections is a 502 at once, not after the plugin's timeout
    /// (a minute here): nothing keeps trying to connect until then.
    @Test func aRefusingEndpointFailsAtOnce() async throws {
        let port = try RedisServer.freePort()  // nothing listens there
        let config: JSONValue = .object([
            "introspection_url": .string("http://127.0.0.1:\(port)/introspect"),
            "authorization_value": .string("Basic Z3c6c2VjcmV0"), "timeout": 60_000,
        ])
        try await withProxy(configure: {
            pluginConfiguration(port: $0[0], plugins: [Plugin(id: "p-intro", name: "oauth2-introspection", config: config)])
        }) { fx in
            // Used by the one task that sends on it.
            nonisolated(unsafe) let client = try await fx.client()
            defer { client.close() }
            let status = try await withThrowingTaskGroup(of: Int?.self) { group in
                group.addTask { try await client.get("/x", headers: [("Authorization", "Bearer some-token")]).status }
                // Far short of the timeout, far longer than a refused connection takes.
                group.addTask { try await Task.sleep(for: .seconds(20)); return nil }
                defer { group.cancelAll() }
                return try await group.next() ?? nil
            }
            #expect(status == 502, "no answer within 20 s of a 60 s timeout")
        }
    }
}
