import KonnectConfig
import KonnectProxy
import Testing

/// response-transformer: headers of the upstream's response, and fields of its JSON body, as
/// argument tables.
@Suite("Plugins: response-transformer")
struct ResponseTransformerPluginTests {
    static func plugin(_ config: String) throws -> Plugin {
        Plugin(id: "p-rt", name: "response-transformer", config: try JSONValue.parse(config))
    }

    @Test(arguments: [
        (#"{"remove": {"headers": ["x-upstream"]}, "add": {"headers": ["x-added:yes"]}}"#, [("x-added", "yes")], ["x-upstream"]),
        (#"{"rename": {"headers": ["x-upstream:x-origin"]}}"#, [("x-origin", "mock")], ["x-upstream"]),
        (#"{"replace": {"headers": ["x-upstream:replaced", "x-absent:never"]}}"#, [("x-upstream", "replaced")], ["x-absent"]),
        (#"{"add": {"headers": ["x-upstream:ignored"]}, "append": {"headers": ["x-extra:1"]}}"#, [("x-upstream", "mock"), ("x-extra", "1")], []),
    ])
    func responseHeadersAreTransformed(config: String, present: [(String, String)], absent: [String]) async throws {
        try await withProxy(configure: { pluginConfiguration(port: $0[0], plugins: [try! Self.plugin(config)]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.get("/x")
            #expect(response.status == 200)
            for (name, value) in present { #expect(response.headerValues(name) == [value], "\(name)") }
            for name in absent { #expect(response.header(name) == nil, "\(name)") }
            // Headers only: the body streams with its own length.
            #expect(response.header("content-length") != nil)
        }
    }

    static let document = #"{"a":1,"user":{"name":"Ann","secret":"s"},"list":[1]}"#

    @Test(arguments: [
        (#"{"remove": {"json": ["user.secret"]}, "rename": {"json": ["a:b"]}, "replace": {"json": ["user.name:Bob", "absent:x"]}}"#,
         document, #"{"b":1,"user":{"name":"Bob"},"list":[1]}"#),
        (#"{"add": {"json": ["count:3", "flag:true", "a:ignored", "meta.by:gw"], "json_types": ["number", "boolean"]}}"#,
         document, #"{"a":1,"user":{"name":"Ann","secret":"s"},"list":[1],"count":3,"flag":true,"meta":{"by":"gw"}}"#),
        (#"{"append": {"json": ["list:2", "a:x"], "json_types": ["number"]}}"#,
         document, #"{"a":[1,"x"],"user":{"name":"Ann","secret":"s"},"list":[1,2]}"#),
        (#"{"allow": {"json": ["user.name", "list"]}}"#, document, #"{"user":{"name":"Ann"},"list":[1]}"#),
        // Not an object, or too large: untouched.
        (#"{"remove": {"json": ["a"]}}"#, "[1,2]", "[1,2]"),
        (#"{"remove": {"json": ["a"]}, "max_body_size": 10}"#, document, document),
    ])
    func jsonBodiesAreTransformed(config: String, body: String, expected: String) async throws {
        try await withStubServer(answer: { _ in (200, body) }) { origin in
            try await withProxy(configure: { _ in pluginConfiguration(port: origin.port, plugins: [try! Self.plugin(config)]) }) { fx in
                let client = try await fx.client()
                defer { client.close() }
                let response = try await client.get("/x")
                #expect(response.status == 200)
                #expect(try JSONValue.parse(response.text) == JSONValue.parse(expected), "\(response.text)")
                // Every JSON body is taken in and may change length, so the response goes chunked.
                #expect(response.header("content-length") == nil)
                #expect(response.header("transfer-encoding") == "chunked")
            }
        }
    }
}
