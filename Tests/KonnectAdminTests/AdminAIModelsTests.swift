import KonnectConfig
import Testing

/// `/ai-models`: the AI gateway's models over the Admin API.
@Suite("Admin API: AI models")
struct AdminAIModelsTests {
    static let model = #"""
        {"name": "chat-default", "routing": "fallback", "deployments": [
            {"provider": "anthropic", "model": "claude-sonnet-4-5", "auth": {"header_value": "{env://ANTHROPIC_API_KEY}"}},
            {"provider": "openai", "model": "gpt-4o-mini"}
        ]}
        """#

    static func items(_ value: JSONValue?) -> [JSONValue] {
        if case .array(let items)? = value { return items }
        return []
    }

    @Test func createFetchByNamePatchAndDelete() async throws {
        try await AdminFixture().run { client in
            let created = try await client.call(.post, "/ai-models", json: Self.model)
            #expect(created.status == 201, "\(created.body)")
            #expect(created.body["cooldown"] == .number(30))  // defaults filled in
            #expect(Self.items(created.body["deployments"]).map { $0["weight"] } == [.number(1), .number(1)])
            #expect(Self.items(created.body["deployments"]).first?["base_url"] == .null)  // unset fields present, as null
            #expect(created.body["tags"] == .null)
            let id = try #require(created.body["id"]?.string)

            let fetched = try await client.call(.get, "/ai-models/chat-default")
            #expect(fetched.status == 200)
            #expect(fetched.body["id"] == .string(id))
            #expect(try await client.call(.get, "/ai-models/\(id)").body["name"] == .string("chat-default"))
            #expect(Self.items(try await client.call(.get, "/ai-models").body["data"]).count == 1)

            // A PATCH gives the whole list of deployments, here with the second one's weight changed.
            var deployments = Self.items(fetched.body["deployments"])
            if case .object(var second) = deployments[1] {
                second["weight"] = .number(4)
                deployments[1] = .object(second)
            }
            let patched = try await client.call(.patch, "/ai-models/chat-default",
                                                json: JSONValue.object(["deployments": .array(deployments)]).jsonText)
            #expect(patched.status == 200, "\(patched.body)")
            #expect(Self.items(patched.body["deployments"]).map { $0["weight"] } == [.number(1), .number(4)])
            #expect(patched.body["routing"] == .string("fallback"))
            let again = try await client.call(.get, "/ai-models/chat-default")
            #expect(Self.items(again.body["deployments"]).last?["weight"] == .number(4))

            #expect(try await client.call(.delete, "/ai-models/chat-default").status == 204)
            #expect(try await client.call(.get, "/ai-models/chat-default").status == 404)
            #expect(try await client.call(.delete, "/ai-models/chat-default").status == 204)  // already gone
        }
    }

    @Test func badFieldsAre400AndATakenNameIs409() async throws {
        try await AdminFixture().run { client in
            let unknown = try await client.call(.post, "/ai-models", json: #"""
                {"name": "m", "deployments": [{"provider": "nobody", "model": "x"}]}
                """#)
            #expect(unknown.status == 400)
            #expect(unknown.body["name"] == .string("schema violation"))
            let message = Self.items(unknown.body["fields"]?["deployments"]).first?["provider"]?.string
            #expect(message?.contains("one of \"openai\"") == true, "\(unknown.body)")
            #expect(unknown.body["message"]?.string?.contains("deployments[0].provider") == true)

            let several = try await client.call(.post, "/ai-models", json: #"""
                {"routing": "random", "deployments": [{"provider": "openai", "model": "x"}, {"model": "y", "weight": -1}], "colour": 1}
                """#)
            #expect(several.status == 400)
            let fields = several.body["fields"]
            #expect(fields?["name"] != nil && fields?["routing"] != nil && fields?["colour"] != nil, "\(several.body)")
            let second = Self.items(fields?["deployments"]).dropFirst().first
            #expect(second?["provider"] != nil && second?["weight"] != nil, "\(several.body)")

            #expect(try await client.call(.post, "/ai-models", json: Self.model).status == 201)
            let taken = try await client.call(.post, "/ai-models", json: Self.model)
            #expect(taken.status == 409)
            #expect(taken.body["fields"]?["name"] == .string("chat-default"))
            #expect(Self.items(try await client.call(.get, "/ai-models").body["data"]).count == 1)
        }
    }

    @Test func putByNameCreatesThenReplaces() async throws {
        try await AdminFixture().run { client in
            let body = #"{"deployments": [{"provider": "openai", "model": "gpt-4o-mini"}]}"#
            let created = try await client.call(.put, "/ai-models/chat-fast", json: body)
            #expect(created.status == 200)
            #expect(created.body["name"] == .string("chat-fast"))
            let replaced = try await client.call(.put, "/ai-models/chat-fast", json: #"{"cooldown": 5, "deployments": [{"provider": "mistral", "model": "m"}]}"#)
            #expect(replaced.body["id"] == created.body["id"])
            #expect(replaced.body["cooldown"] == .number(5))
            #expect(Self.items(replaced.body["deployments"]).first?["provider"] == .string("mistral"))
        }
    }

    @Test func theSchemaShowsTheModelsFieldsWithTheirDefaults() async throws {
        try await AdminFixture().run { client in
            let schema = try await client.call(.get, "/schemas/ai_models")
            #expect(schema.status == 200)
            let byName = Dictionary(uniqueKeysWithValues: Self.items(schema.body["fields"]).compactMap { field -> (String, JSONValue)? in
                guard case .object(let entry) = field, let (name, value) = entry.first else { return nil }
                return (name, value)
            })
            #expect(Set(byName.keys) == ["id", "created_at", "updated_at", "tags", "name", "routing", "cooldown", "deployments"])
            #expect(byName["cooldown"]?["default"] == .number(30))
            #expect(byName["deployments"]?["elements"]?["fields"] != nil)
            let valid = try await client.call(.post, "/schemas/ai_models/validate", json: Self.model)
            #expect(valid.status == 200)
            #expect(Self.items(try await client.call(.get, "/ai-models").body["data"]).isEmpty)
        }
    }

    @Test func aDeclarativeNodeTakesModelsWithTheWholeConfiguration() async throws {
        try await AdminFixture(declarative: true).run { client in
            let document = #"{"_format_version": "3.0", "ai_models": [\#(Self.model)]}"#
            let applied = try await client.call(.post, "/config", json: document)
            #expect(applied.status == 201, "\(applied.body)")
            #expect(applied.body["ai_models"] == .number(1))
            #expect(try await client.call(.get, "/ai-models/chat-default").status == 200)
            #expect(try await client.call(.post, "/ai-models", json: Self.model).status == 405)
            let exported = try await client.call(.get, "/config")
            #expect(exported.body["config"]?.string?.contains("ai_models:") == true)
        }
    }
}
