import KonnectConfig
import KonnectProxy
import Testing

/// correlation-id: an id for every request, kept when the client sent one, echoed when asked.
@Suite("Plugins: correlation-id")
struct CorrelationIDPluginTests {
    @Test(arguments: ["uuid", "uuid#counter", "tracker"])
    func eachRequestGetsAnIdUpstreamAndBack(generator: String) async throws {
        let config: JSONValue = .object(["generator": .string(generator), "echo_downstream": .bool(true), "header_name": .string("X-Trace")])
        try await withProxy(configure: {
            pluginConfiguration(port: $0[0], plugins: [Plugin(id: "p-cid", name: "correlation-id", config: config)])
        }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let first = try await client.get("/x"), second = try await client.get("/x")
            let id = try #require(first.header("x-trace"))
            #expect(!id.isEmpty)
            #expect(first.text.contains("x-trace: \(id)"))  // the origin saw the same id
            #expect(second.header("x-trace") != id)
            let given = try await client.get("/x", headers: [("X-Trace", "client-chosen")])
            #expect(given.header("x-trace") == "client-chosen")
            #expect(given.text.components(separatedBy: "client-chosen").count == 2)  // not added twice upstream
        }
    }
}
