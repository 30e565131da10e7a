import KonnectConfig
import KonnectPlugins
import KonnectProxy
import NIOCore
import Testing

/// The response-body phase, through plugins an embedding program adds (`ProxySettings.customPlugins`).
@Suite("Plugin phases: response body")
struct PluginPhasesTests {
    /// Upper-cases the body and ends it with "!", so its length changes.
    final class Shout: ProxyPlugin {
        let name = "shout"
        var phases: PluginPhases { [.responseHeaders, .responseBody] }

        func responseHeaders(_ context: PluginContext, status: Int) {
            context.rewriteResponseBody()
        }

        func responseBody(_ context: PluginContext, _ part: ByteBuffer, last: Bool) -> ByteBuffer {
            var out = ByteBuffer(string: String(buffer: part).uppercased())
            if last { out.writeString("!") }
            return out
        }
    }

    /// Answers every request itself.
    final class Teapot: ProxyPlugin {
        let name = "teapot"
        var phases: PluginPhases { .access }

        func access(_ context: PluginContext) -> AccessResult {
            .respondRaw(status: 418, contentType: "text/plain", body: "short and stout")
        }
    }

    static func run(plugins names: [String], _ body: (ProxyFixture) async throws -> Void) async throws {
        try await withProxy(settings: { settings in
            settings.customPlugins = { plugin in
                switch plugin.name {
                case "shout": Shout()
                case "teapot": Teapot()
                default: nil
                }
            }
        }, configure: { ports in
            pluginConfiguration(port: ports[0], plugins: names.map { Plugin(id: "p-\($0)", name: $0, config: .object([:])) })
        }, body)
    }

    @Test func aPluginRewritesTheUpstreamBodyWhateverItsFraming() async throws {
        try await Self.run(plugins: ["shout"]) { fx in
            let client = try await fx.client()
            defer { client.close() }
            // The origin states a length; the rewritten body is sent chunked instead.
            let sized = try await client.get("/echo")
            #expect(sized.status == 200)
            #expect(sized.header("content-length") == nil)
            #expect(sized.header("transfer-encoding") == "chunked")
            #expect(sized.text.hasPrefix("GET /ECHO HTTP/1.1"))
            #expect(sized.text.hasSuffix("!"))

            let chunked = try await client.get("/c?chunks=3&size=4")
            #expect(chunked.text == "CCCCCCCCCCCC!")

            // A HEAD response has no body to rewrite.
            try await client.send("HEAD /echo HTTP/1.1\r\nHost: a\r\n\r\n")
            let head = try await client.readResponse(headOnly: true)
            #expect(head.status == 200)

            // An HTTP/1.0 client cannot take chunks: the body ends with the connection.
            let old = try await fx.client()
            defer { old.close() }
            try await old.send("GET /echo HTTP/1.0\r\nHost: a\r\n\r\n")
            let response = try await old.readResponse()
            #expect(response.header("content-length") == nil)
            #expect(response.text.hasPrefix("GET /ECHO HTTP/1.1"))
            #expect(response.text.hasSuffix("!"))
        }
    }

    @Test func theGatewaysOwnAnswersPassThroughThePhaseToo() async throws {
        try await Self.run(plugins: ["shout", "teapot"]) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.get("/x")
            #expect(response.status == 418)
            #expect(response.text == "SHORT AND STOUT!")
            #expect(response.header("content-length") == "16")
            #expect(fx.origin.requests == 0)
        }
    }
}
