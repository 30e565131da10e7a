import Foundation
import KonnectAI
import KonnectConfig
import KonnectPlugins
import KonnectProxy
import KonnectStore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// ai-gateway: models served by several deployments, chosen by routing, with fallback; against
/// the mock provider (a deployment whose `base_url` is under `/fail/<status>/` always fails).
@Suite("Plugins: ai-gateway")
struct AIGatewayPluginTests {
    /// A deployment of the mock: `provider`, the provider's `model` name, failing with `fail`.
    static func deployment(_ provider: String, _ model: String, port: Int, fail: Int? = nil, weight: Int = 1,
                           key: String? = nil) -> JSONValue {
        let openAI = provider == "openai"
        let base = "http://127.0.0.1:\(port)" + (fail.map { "/fail/\($0)" } ?? "") + (openAI ? "/v1" : "")
        return .object([
            "provider": .string(provider), "model": .string(model), "base_url": .string(base),
            "auth": .object(["header_value": .string(key ?? (openAI ? MockAIProvider.openAIKey : MockAIProvider.anthropicKey))]),
            "weight": .number(Double(weight)),
        ])
    }

    /// Runs `body` with ai-gateway serving `models` (made with the mock's port).
    static func run(threads: Int = 2, _ models: (Int) -> [JSONValue],
                    _ body: (TestClient, MockAIProvider) async throws -> Void) async throws {
        try await withMockAIProvider { mock in
            let plugin = Plugin(id: "p-gateway", name: "ai-gateway", config: .object(["models": .array(models(mock.port))]))
            try await withProxy(threads: threads, configure: { _ in pluginConfiguration(port: mock.port, plugins: [plugin]) }) { fx in
                let client = try await fx.client()
                defer { client.close() }
                try await body(client, mock)
            }
        }
    }

    static func model(_ name: String, routing: String = "fallback", _ deployments: [JSONValue]) -> JSONValue {
        .object(["name": .string(name), "routing": .string(routing), "deployments": .array(deployments)])
    }

    static func chat(_ model: String, _ text: String = "hello", stream: Bool = false) -> String {
        #"{"model":"\#(model)","messages":[{"role":"user","content":"\#(text)"}],"stream":\#(stream)}"#
    }

    @Test func aFailingDeploymentFallsBackToTheNextAndCoolsDown() async throws {
        try await Self.run({ port in [Self.model("chat-default", [
            Self.deployment("anthropic", "claude-sonnet-4-5", port: port, fail: 529),
            Self.deployment("openai", "gpt-4o-mini", port: port),
        ])] }) { client, mock in
            let first = try await client.post("/v1/chat/completions", json: Self.chat("chat-default"))
            #expect(first.status == 200, "\(first.text)")
            #expect(first.header("x-konnect-ai-provider") == "openai")
            #expect(first.header("x-konnect-ai-model") == "gpt-4o-mini")
            #expect(first.text.contains("Echo: hello"))
            #expect(mock.requests.map(\.path) == ["/fail/529/v1/messages", "/v1/chat/completions"])
            // The failed deployment cools down: the next request goes straight to the other.
            let second = try await client.post("/v1/chat/completions", json: Self.chat("chat-default"))
            #expect(second.status == 200)
            #expect(mock.requests.count == 3)
            #expect(mock.requests.last?.path == "/v1/chat/completions")
        }
    }

    @Test func theClientsOwnMistakeIsNotRetriedElsewhere() async throws {
        try await Self.run({ port in [Self.model("chat-default", [
            Self.deployment("openai", "gpt-4o-mini", port: port, fail: 400),
            Self.deployment("anthropic", "claude-sonnet-4-5", port: port),
        ])] }) { client, mock in
            let response = try await client.post("/v1/chat/completions", json: Self.chat("chat-default"))
            #expect(response.status == 400)
            #expect(mock.requests.count == 1)
        }
    }

    @Test func whenEveryDeploymentFailsTheLastFailureIsTheAnswer() async throws {
        try await Self.run({ port in [Self.model("chat-default", [
            Self.deployment("openai", "gpt-4o-mini", port: port, fail: 500),
            Self.deployment("anthropic", "claude-sonnet-4-5", port: port, fail: 429),
        ])] }) { client, mock in
            let response = try await client.post("/v1/messages", json: #"{"model":"chat-default","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(response.status == 429)
            #expect(response.text.contains(#""type":"rate_limit_error""#), "\(response.text)")
            #expect(mock.requests.count == 2)
        }
    }

    @Test func aStreamFallsBackBeforeItStarts() async throws {
        try await Self.run({ port in [Self.model("chat-default", [
            Self.deployment("openai", "gpt-4o-mini", port: port, fail: 503),
            Self.deployment("anthropic", "claude-sonnet-4-5", port: port),
        ])] }) { client, mock in
            let response = try await client.post("/v1/chat/completions", json: Self.chat("chat-default", "hello there", stream: true))
            #expect(response.status == 200)
            #expect(response.header("x-konnect-ai-provider") == "anthropic")
            #expect(response.text.hasSuffix("data: [DONE]\n\n"))
            #expect(response.text.contains(#""content":" there""#))
        }
    }

    @Test func weightedRoutingSplitsRequestsByWeight() async throws {
        try await Self.run(threads: 1, { port in [Self.model("chat-default", routing: "weighted", [
            Self.deployment("openai", "model-a", port: port, weight: 3),
            Self.deployment("openai", "model-b", port: port, weight: 1),
        ])] }) { client, mock in
            for _ in 0..<8 {
                let response = try await client.post("/v1/chat/completions", json: Self.chat("chat-default"))
                #expect(response.status == 200)
            }
            let models = mock.requests.map { $0.body["model"] as? String ?? "" }
            #expect(models.filter { $0 == "model-a" }.count == 6)
            #expect(models.filter { $0 == "model-b" }.count == 2)
        }
    }

    @Test func anUnknownModelIs400NamingTheField() async throws {
        try await Self.run({ port in [Self.model("chat-default", [Self.deployment("openai", "gpt-4o-mini", port: port)]),
                      Self.model("chat-fast", [Self.deployment("anthropic", "claude-haiku-4-5", port: port)])] }) { client, mock in
            let response = try await client.post("/v1/chat/completions", json: Self.chat("gpt-5"))
            #expect(response.status == 400)
            let error = AIProxyPluginTests.json(response)["error"] as? [String: Any]
            #expect(error?["param"] as? String == "model")
            #expect((error?["message"] as? String)?.contains("chat-default, chat-fast") == true)
            #expect(mock.requests.isEmpty)
            // The model list names both.
            let list = try await client.get("/v1/models")
            let ids = (AIProxyPluginTests.json(list)["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids == ["chat-default", "chat-fast"])
        }
    }

    @Test func aKeyComesFromTheEnvironmentByReference() async throws {
        setenv("KONNECT_TEST_AI_KEY", MockAIProvider.openAIKey, 1)
        defer { unsetenv("KONNECT_TEST_AI_KEY") }
        try await Self.run({ port in [Self.model("chat-default", [
            Self.deployment("openai", "gpt-4o-mini", port: port, key: "{env://KONNECT_TEST_AI_KEY}"),
        ])] }) { client, mock in
            let response = try await client.post("/v1/chat/completions", json: Self.chat("chat-default"))
            #expect(response.status == 200, "\(response.text)")
            #expect(mock.requests.first?.header("authorization") == "Bearer \(MockAIProvider.openAIKey)")
        }
    }

    @Test func aReferenceToAnUnsetVariableRefusesRequestsWithoutSendingThem() async throws {
        try await Self.run({ port in [Self.model("chat-default", [
            Self.deployment("openai", "gpt-4o-mini", port: port, key: "{env://KONNECT_TEST_UNSET_VARIABLE}"),
        ])] }) { client, mock in
            let response = try await client.post("/v1/chat/completions", json: Self.chat("chat-default"))
            #expect(response.status == 500)
            #expect(!response.text.contains("KONNECT_TEST_UNSET_VARIABLE"))  // the reason is logged, not told
            #expect(mock.requests.isEmpty)
        }
    }

    // MARK: Models declared as ai_models entities

    /// A route without a service whose ai-gateway plugin has no models of its own, as the README
    /// shows it, plus `edit`'s changes.
    static func entityConfiguration(_ models: [AIGatewayModel], edit: (inout Configuration) -> Void = { _ in }) -> Configuration {
        var configuration = Configuration(routes: [Route(id: "r-llm", name: "llm", paths: ["/ai"])],
                                          plugins: [Plugin(id: "p-gateway", name: "ai-gateway", routeID: "r-llm")])
        configuration.aiModels = models
        edit(&configuration)
        return configuration
    }

    @Test func modelsDeclaredAsEntitiesAreServedOnARouteWithoutAService() async throws {
        try await withMockAIProvider { mock in
            let configuration = Self.entityConfiguration([
                AIGatewayModel(id: "m1", name: "chat-default", deployments: [
                    Self.deployment("anthropic", "claude-sonnet-4-5", port: mock.port, fail: 529),
                    Self.deployment("openai", "gpt-4o-mini", port: mock.port),
                ]),
                AIGatewayModel(id: "m2", name: "chat-fast", deployments: [Self.deployment("anthropic", "claude-haiku-4-5", port: mock.port)]),
            ])
            try await withProxy(configure: { _ in configuration }) { fx in
                let client = try await fx.client()
                defer { client.close() }
                let response = try await client.post("/ai/v1/chat/completions", json: Self.chat("chat-default"))
                #expect(response.status == 200, "\(response.text)")
                #expect(response.header("x-konnect-ai-provider") == "openai")
                #expect(response.text.contains("Echo: hello"))
                let fast = try await client.post("/ai/v1/messages", json: #"{"model":"chat-fast","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#)
                #expect(fast.status == 200, "\(fast.text)")
                #expect(fast.header("x-konnect-ai-model") == "claude-haiku-4-5")
                let list = try await client.get("/ai/v1/models")
                let ids = (AIProxyPluginTests.json(list)["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
                #expect(ids == ["chat-default", "chat-fast"])
                #expect(mock.requests.map(\.path) == ["/fail/529/v1/messages", "/v1/chat/completions", "/v1/messages"])
            }
        }
    }

    @Test func aModelOfThePluginsOwnWinsOverAnEntityOfTheSameName() async throws {
        try await withMockAIProvider { mock in
            let configuration = Self.entityConfiguration([
                AIGatewayModel(id: "m1", name: "chat-default", deployments: [Self.deployment("openai", "from-entity", port: mock.port)]),
                AIGatewayModel(id: "m2", name: "chat-fast", deployments: [Self.deployment("openai", "fast", port: mock.port)]),
            ]) { configuration in
                configuration.plugins[0].config = .object(["models": .array([
                    Self.model("chat-default", [Self.deployment("openai", "from-plugin", port: mock.port)]),
                ])])
            }
            try await withProxy(configure: { _ in configuration }) { fx in
                let client = try await fx.client()
                defer { client.close() }
                let response = try await client.post("/ai/v1/chat/completions", json: Self.chat("chat-default"))
                #expect(response.status == 200, "\(response.text)")
                #expect(response.header("x-konnect-ai-model") == "from-plugin")
                #expect(try await client.post("/ai/v1/chat/completions", json: Self.chat("chat-fast")).status == 200)
                #expect(mock.requests.map { $0.body["model"] as? String ?? "" } == ["from-plugin", "fast"])
            }
        }
    }

    @Test func withoutAnyModelEveryRequestIsRefusedAsMisconfigured() async throws {
        let configuration = Self.entityConfiguration([])
        #expect(ConfigSnapshot(configuration: configuration, version: 1, loopCount: 1).pluginProblems.first?
            .contains("no models to serve") == true)
        try await withProxy(configure: { _ in configuration }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.post("/ai/v1/chat/completions", json: Self.chat("chat-default"))
            #expect(response.status == 500)
            #expect(response.text.contains("the ai-gateway plugin is misconfigured"))
        }
    }

    /// Models added, changed and deleted through the control plane (as the Admin API does it)
    /// are what the running gateway serves next.
    @Test func aModelChangedThroughTheControlPlaneIsServedAtOnce() async throws {
        let directory = NSTemporaryDirectory() + "konnect-ai-models-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(directory: directory)
        try store.migrate()
        try await withMockAIProvider { mock in
            try await withProxy(configure: { _ in .empty }) { fx in
                let control = ControlPlane(store: store) { try await fx.runtime.apply($0) }
                _ = try await control.create(.routes, body: JSONValue.parse(#"{"name": "llm", "paths": ["/ai"]}"#))
                _ = try await control.create(.plugins, body: JSONValue.parse(#"{"name": "ai-gateway", "route": {"name": "llm"}}"#))
                let client = try await fx.client()
                defer { client.close() }
                #expect(try await client.post("/ai/v1/chat/completions", json: Self.chat("chat-default")).status == 500)

                let model = JSONValue.object(["name": "chat-default", "deployments": .array([
                    Self.deployment("openai", "gpt-4o-mini", port: mock.port, fail: 500),
                ])])
                _ = try await control.create(.aiModels, body: model)
                let failing = try await client.post("/ai/v1/chat/completions", json: Self.chat("chat-default"))
                #expect(failing.status == 500, "\(failing.text)")
                #expect(mock.requests.map(\.path) == ["/fail/500/v1/chat/completions"])

                let fixed = JSONValue.object(["deployments": .array([Self.deployment("openai", "gpt-4o-mini", port: mock.port)])])
                _ = try await control.update(.aiModels, "chat-default", body: fixed)
                let answered = try await client.post("/ai/v1/chat/completions", json: Self.chat("chat-default"))
                #expect(answered.status == 200, "\(answered.text)")
                #expect(mock.requests.last?.path == "/v1/chat/completions")

                try await control.delete(.aiModels, "chat-default")
                #expect(try await client.post("/ai/v1/chat/completions", json: Self.chat("chat-default")).status == 500)
            }
        }
    }

    @Test func embeddingsOfMoreTextsThanACallTakesAreSentInBatchesAndAnsweredAsOne() async throws {
        // Cohere's embed API takes up to 96 texts a call: 100 texts are two calls, 96 and 4.
        let texts = (1...100).map { index in Array(repeating: "w", count: index % 3 + 1).joined(separator: " ") }
        try await Self.run({ port in [Self.model("embedder", [Self.deployment("cohere", "embed-v4.0", port: port, key: MockCohere.key)])] }) { client, mock in
            let body = try JSONSerialization.data(withJSONObject: ["model": "embedder", "input": texts, "encoding_format": "float"])
            let response = try await client.post("/v1/embeddings", json: String(decoding: body, as: UTF8.self))
            #expect(response.status == 200, "\(response.text)")
            let answer = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
            let vectors = (answer?["data"] as? [[String: Any]] ?? []).map { $0["embedding"] as? [Double] ?? [] }
            // The mock's vector is [words, characters, 0.5], so the order is checked too.
            #expect(vectors == texts.map { [Double($0.split(separator: " ").count), Double($0.count), 0.5] })
            let calls = mock.requests.filter { $0.path.hasSuffix("/v2/embed") }
            #expect(calls.map { ($0.body["texts"] as? [String])?.count ?? 0 } == [96, 4])
            let words = texts.reduce(0) { $0 + $1.split(separator: " ").count }
            #expect((answer?["usage"] as? [String: Any])?["prompt_tokens"] as? Int == words)
        }
    }

    @Test func everyAnswerIsCountedInTheUsageLedger() async throws {
        // A model name of this test's own: the ledger is shared by every test in the process.
        let model = "ledger-\(UInt32.random(in: 0...UInt32.max))"
        try await Self.run({ port in [Self.model(model, [Self.deployment("openai", "gpt-4o-mini", port: port)])] }) { client, _ in
            #expect(try await client.post("/v1/chat/completions", json: Self.chat(model, "hello there")).status == 200)
            let streamed = try await client.post("/v1/chat/completions", json: Self.chat(model, "hello there", stream: true))
            #expect(streamed.status == 200)
            // Whole answers are counted before they are sent; a stream once it has ended.
            var totals = AIUsageTotals()
            for _ in 0..<100 {
                totals = try AIUsageLedger.shared.totals(AIUsageQuery(from: 0, to: 4e9, model: model)).first?.totals
                    ?? AIUsageTotals()
                if totals.requests == 2 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(totals.requests == 2)
            // Each: 2 prompt tokens ("hello there"), 3 answered ("Echo: hello there"), at gpt-4o-mini's price.
            #expect(totals.inputTokens == 4)
            #expect(totals.outputTokens == 6)
            #expect(abs(totals.cost - 2 * (2 * 0.15 + 3 * 0.6) / 1_000_000) < 1e-12)
            let rows = try AIUsageLedger.shared.totals(AIUsageQuery(from: 0, to: 4e9, model: model, groupBy: [.route, .deployment]))
            #expect(rows.map { $0.group[.route] } == ["r1"])
            #expect(rows.map { $0.group[.deployment] } == ["gpt-4o-mini"])
        }
    }

    @Test func whatRoutingLearntSurvivesAnUnrelatedConfigurationChange() async throws {
        try await withMockAIProvider { mock in
            let models: [JSONValue] = [Self.model("chat-default", [
                Self.deployment("anthropic", "claude-sonnet-4-5", port: mock.port, fail: 503),
                Self.deployment("openai", "gpt-4o-mini", port: mock.port),
            ])]
            let plugin = Plugin(id: "p-gateway", name: "ai-gateway", config: .object(["models": .array(models)]))
            let configuration = pluginConfiguration(port: mock.port, plugins: [plugin])
            try await withProxy(configure: { _ in configuration }) { fx in
                let client = try await fx.client()
                defer { client.close() }
                #expect(try await client.post("/v1/chat/completions", json: Self.chat("chat-default")).status == 200)
                #expect(mock.requests.count == 2)  // the failing deployment, then the other
                // Another route appears: the plugin is built again, the failing deployment still cools down.
                var changed = configuration
                changed.routes.append(Route(id: "r2", name: "other", paths: ["/other"], serviceID: "s1"))
                try await fx.runtime.apply(changed)
                #expect(try await client.post("/v1/chat/completions", json: Self.chat("chat-default")).status == 200)
                #expect(mock.requests.count == 3)
                #expect(mock.requests.last?.path == "/v1/chat/completions")
            }
        }
    }
}
