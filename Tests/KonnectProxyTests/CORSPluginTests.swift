import KonnectConfig
import KonnectProxy
import Testing

/// cors: preflight answered by the gateway, headers on responses for allowed origins only.
@Suite("Plugins: cors")
struct CORSPluginTests {
    static let config = try! JSONValue.parse(#"""
        {"origins":["https://app.example.com","https://.*\\.example\\.org"],"methods":["GET","POST"],
         "exposed_headers":["X-Total"],"max_age":600,"credentials":true}
        """#)

    static func configuration(port: Int) -> Configuration {
        pluginConfiguration(port: port, plugins: [
            Plugin(id: "p-cors", name: "cors", config: config),
            Plugin(id: "p-key", name: "key-auth", config: .object(["run_on_preflight": .bool(false)])),
        ])
    }

    @Test func aPreflightIsAnsweredByTheGateway() async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("OPTIONS /x HTTP/1.1\r\nHost: a\r\nOrigin: https://shop.example.org\r\n"
                + "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("access-control-allow-origin") == "https://shop.example.org")
            #expect(response.header("access-control-allow-methods") == "GET,POST")
            #expect(response.header("access-control-allow-headers") == "content-type")
            #expect(response.header("access-control-max-age") == "600")
            #expect(response.header("access-control-allow-credentials") == "true")
            #expect(fx.origin.requests == 0)
        }
    }

    /// max_age has no upper bound (as in Kong): one past what an integer holds is sent as the
    /// most a 32-bit field holds, where it once stopped the gateway as the plugin was made.
    @Test func aMaxAgeOfAnySizeIsSentCapped() async throws {
        try await withProxy(configure: {
            pluginConfiguration(port: $0[0], plugins: [Plugin(id: "p-cors", name: "cors", config: .object(["max_age": .number(1e300)]))])
        }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            try await client.send("OPTIONS /x HTTP/1.1\r\nHost: a\r\nOrigin: https://a.example\r\nAccess-Control-Request-Method: GET\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.status == 200)
            #expect(response.header("access-control-max-age") == "2147483647")
        }
    }

    @Test func responsesCarryTheHeadersForAllowedOriginsOnly() async throws {
        try await withProxy(configure: { Self.configuration(port: $0[0]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            // Also on the gateway's own answers (here key-auth's 401), so a browser can read them.
            let refused = try await client.get("/x", headers: [("Origin", "https://app.example.com")])
            #expect(refused.status == 401)
            #expect(refused.header("access-control-allow-origin") == "https://app.example.com")
            #expect(refused.header("access-control-expose-headers") == "X-Total")
            #expect(refused.header("vary") == "Origin")

            let other = try await client.get("/x", headers: [("Origin", "https://evil.example.com")])
            #expect(other.header("access-control-allow-origin") == nil)
            // The regex must match the whole origin.
            let suffix = try await client.get("/x", headers: [("Origin", "https://a.example.org.evil.com")])
            #expect(suffix.header("access-control-allow-origin") == nil)
        }
    }
}
