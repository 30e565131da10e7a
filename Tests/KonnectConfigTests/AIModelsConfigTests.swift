import Testing

@testable import KonnectConfig

/// AI models (`ai_models`) in declarative files: read with the schema of ai-gateway's
/// `config.models` elements, so the defaults and errors are the same in both places.
@Suite("Declarative configuration: AI models")
struct AIModelsConfigTests {
    static func parse(_ body: String) throws(ConfigValidationError) -> Configuration {
        try DeclarativeConfig.parse("_format_version: \"3.0\"\n" + body)
    }

    static func issues(_ body: String, sourceLocation: SourceLocation = #_sourceLocation) -> [ConfigIssue] {
        KonnectConfigTests.issues("_format_version: \"3.0\"\n" + body, sourceLocation: sourceLocation)
    }

    static let models = """
        ai_models:
          - name: chat-default
            routing: fallback
            tags: [ai]
            deployments:
              - provider: anthropic
                model: claude-sonnet-4-5
                auth: {header_value: "{env://ANTHROPIC_API_KEY}"}
              - provider: openai
                model: gpt-4o-mini
                weight: 3
                price: {input: 0.15, output: 0.6}
                options: {organization: acme}
          - name: chat-fast
            cooldown: 5
            deployments: [{provider: openai, model: gpt-4o-mini}]
        """

    @Test func topLevelModelsAreReadWithTheirDefaults() throws {
        let configuration = try Self.parse(Self.models)
        #expect(configuration.aiModels.map(\.name) == ["chat-default", "chat-fast"])
        let first = try #require(configuration.aiModels.first)
        #expect(first.routing == "fallback" && first.cooldown == 30 && first.tags == ["ai"])
        #expect(first.deployments.count == 2)
        let anthropic = first.deployments[0]
        #expect(anthropic["weight"] == .number(1) && anthropic["timeout"] == .number(60_000) && anthropic["retries"] == .number(0))
        #expect(anthropic["base_url"] == .null && anthropic["price"] == .null)
        #expect(anthropic["auth"]?["header_value"] == .string("{env://ANTHROPIC_API_KEY}"))  // the reference is kept
        #expect(first.deployments[1]["weight"] == .number(3))
        #expect(first.deployments[1]["price"]?["cached_input"] == .null)
        #expect(first.deployments[1]["options"] == .object(["organization": .string("acme")]))
        let second = configuration.aiModels[1]
        #expect(second.cooldown == 5 && second.routing == "fallback" && second.tags.isEmpty)
        // Ids come from the name, so they stay the same across loads.
        #expect(first.id == NameBasedUUID.make(name: "ai_model:name:chat-default"))
        #expect(try Self.parse(Self.models).aiModels.map(\.id) == configuration.aiModels.map(\.id))
        // An entity is exactly a `config.models` element.
        let (normalized, problems) = PluginSchema.normalizeAIModel(first.modelConfig)
        #expect(problems.isEmpty && normalized == first.modelConfig)
    }

    @Test(arguments: [
        ("ai_models:\n  - name: m\n    deployments:\n      - {provider: openai, model: a}\n      - {provider: nobody, model: b}",
         "ai_models[0].deployments[1].provider", "one of \"openai\"", 6),
        ("ai_models:\n  - name: m", "ai_models[0].deployments", "the field is required", 3),
        ("ai_models:\n  - name: m\n    deployments: []", "ai_models[0].deployments", "a list of at least 1 items", 4),
        ("ai_models:\n  - deployments: [{provider: openai, model: a}]", "ai_models[0].name", "the field is required", 3),
        ("ai_models:\n  - name: \"\"\n    deployments: [{provider: openai, model: a}]", "ai_models[0].name", "a string of at least 1 characters", 3),
        ("ai_models:\n  - name: m\n    routing: random\n    deployments: [{provider: openai, model: a}]",
         "ai_models[0].routing", "one of \"fallback\"", 4),
        ("ai_models:\n  - name: m\n    cooldown: -1\n    deployments: [{provider: openai, model: a}]",
         "ai_models[0].cooldown", "a number of at least 0", 4),
        ("ai_models:\n  - name: m\n    deployments:\n      - provider: openai\n        model: a\n        weight: \"3\"",
         "ai_models[0].deployments[0].weight", "an integer", 7),
        ("ai_models:\n  - name: m\n    deployments:\n      - provider: openai\n        model: a\n        retries: 11",
         "ai_models[0].deployments[0].retries", "an integer from 0 to 10", 7),
        ("ai_models:\n  - name: m\n    deployments:\n      - provider: openai\n        model: a\n        wieght: 2",
         "ai_models[0].deployments[0].wieght", "did you mean \"weight\"", 7),
        ("ai_models:\n  - name: m\n    deployments:\n      - provider: openai\n        model: a\n        base_url: localhost:8000",
         "ai_models[0].deployments[0].base_url", "http", 7),
        ("ai_models:\n  - name: m\n    deployments:\n      - provider: openai\n        model: a\n        price: {input: 1}",
         "ai_models[0].deployments[0].price.output", "the field is required", 7),
        ("ai_models:\n  - name: m\n    deployments:\n      - provider: openai\n        model: a\n        options: {x: 1}",
         "ai_models[0].deployments[0].options.x", "a string", 7),
        ("ai_models:\n  - name: m\n    deployment: [{provider: openai, model: a}]", "ai_models[0].deployment", "did you mean \"deployments\"", 4),
        ("ai_models:\n  - name: m\n    deployments: [{provider: openai, model: a}]\n  - name: m\n    deployments: [{provider: openai, model: b}]",
         "ai_models[1].name", "an AI model name not used by another AI model (ai_models[0] has it)", 5),
        ("ai_models:\n  - name: m\n    id: 7\n    deployments: [{provider: openai, model: a}]", "ai_models[0].id", "a UUID", 4),
        ("ai_models: {name: m}", "ai_models", "a list of ai_models", 2),
    ])
    func aBadFieldIsReportedAtItsPathAndLine(body: String, path: String, expected: String, line: Int) {
        let found = Self.issues(body)
        let issue = found.first { $0.path == path }
        #expect(issue != nil, "\(found)")
        #expect(issue?.expected.contains(expected) == true, "\(String(describing: issue))")
        #expect(issue?.line == line, "\(String(describing: issue))")
    }

    @Test func aModelIsRefusedExactlyAsAnElementOfConfigModelsIs() {
        let model = "{name: m, routing: random, cooldown: -1, deployments: [{provider: nobody, model: \"\", weight: -1, wieght: 2}, 3]}"
        let asEntity = Self.issues("ai_models:\n  - \(model)")
        let asPlugin = Self.issues("plugins:\n  - name: ai-gateway\n    config: {models: [\(model)]}")
        func byField(_ issues: [ConfigIssue], under prefix: String) -> [String: String] {
            Dictionary(uniqueKeysWithValues: issues.map { (String($0.path.dropFirst(prefix.count)), $0.expected) })
        }
        #expect(asEntity.count == 7, "\(asEntity)")
        #expect(byField(asEntity, under: "ai_models[0]") == byField(asPlugin, under: "plugins[0].config.models[0]"))
    }

    @Test func theAIGatewayPluginNeedsNoModelsOfItsOwn() throws {
        let configuration = try Self.parse(Self.models + "\nplugins:\n  - name: ai-gateway")
        #expect(configuration.plugins.first?.config["models"] == .null)
        #expect(configuration.plugins.first?.config["response_streaming"] == .string("allow"))
    }

    @Test func anExportLoadsBackAsTheSameModels() throws {
        let original = try Self.parse(Self.models)
        let yaml = original.declarativeYAML
        #expect(yaml.contains("ai_models:\n- id: \(original.aiModels[0].id)\n  name: chat-default\n"), "\(yaml)")
        #expect(!yaml.contains("null"))  // unset fields of deployments stay out of the file
        #expect(yaml.contains("header_value: \"{env://ANTHROPIC_API_KEY}\""))
        #expect(try DeclarativeConfig.parse(yaml) == original)
    }
}
