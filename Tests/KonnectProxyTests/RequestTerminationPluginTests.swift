import KonnectConfig
import KonnectProxy
import Testing

/// request-termination: the gateway answers instead of the origin.
@Suite("Plugins: request-termination")
struct RequestTerminationPluginTests {
    static func run(_ config: JSONValue, path: String = "/x", headers: [(String, String)] = [],
                    check: (TestClient.Response, ProxyFixture) -> Void) async throws {
        try await withProxy(configure: {
            pluginConfiguration(port: $0[0], plugins: [Plugin(id: "p-term", name: "request-termination", config: config)])
        }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            check(try await client.get(path, headers: headers), fx)
        }
    }

    @Test func theDefaultIsA503WithTheReasonPhrase() async throws {
        try await Self.run(.object([:])) { response, fx in
            #expect(response.status == 503)
            #expect(response.text.contains("Service Unavailable"))
            #expect(fx.origin.requests == 0)
        }
    }

    @Test func aRawBodyGoesOutAsItIs() async throws {
        let config: JSONValue = .object(["status_code": .number(418), "body": .string("<p>maintenance</p>"), "content_type": .string("text/html")])
        try await Self.run(config) { response, _ in
            #expect(response.status == 418)
            #expect(response.header("content-type") == "text/html")
            #expect(response.text == "<p>maintenance</p>")
        }
    }

    @Test func aTriggerLimitsItToRequestsThatCarryIt() async throws {
        let config: JSONValue = .object(["trigger": .string("X-Stop"), "status_code": .number(410)])
        try await Self.run(config) { response, _ in #expect(response.status == 200) }
        try await Self.run(config, headers: [("X-Stop", "1")]) { response, _ in #expect(response.status == 410) }
        try await Self.run(config, path: "/x?X-Stop") { response, _ in #expect(response.status == 410) }
    }

    @Test func echoDescribesTheRequest() async throws {
        try await Self.run(.object(["echo": .bool(true), "status_code": .number(200)]), headers: [("X-Probe", "42")]) { response, _ in
            #expect(response.status == 200)
            #expect(response.text.contains(#""x-probe":"42""#))
            #expect(response.text.contains(#""method":"GET""#))
        }
    }
}
