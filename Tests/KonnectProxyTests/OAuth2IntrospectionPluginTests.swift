import Foundation
import KonnectConfig
import KonnectProxy
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
}
