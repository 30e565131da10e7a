import Foundation
import KonnectConfig
import KonnectProxy
import Testing

/// ai-proxy over raw HTTP, against the mock provider: translation both ways, streams, and what
/// bad requests and failing providers give (the official SDKs are driven in `AISDKTests`).
@Suite("Plugins: ai-proxy")
struct AIProxyPluginTests {
    /// The route `/` with ai-proxy for `provider` at `port` (the mock, or somewhere else).
    static func configuration(provider: String, port: Int, extra: [String: JSONValue] = [:]) -> Configuration {
        let openAI = provider == "openai"
        var config: [String: JSONValue] = [
            "auth": .object(["header_value": .string(openAI ? "Bearer \(MockAIProvider.openAIKey)" : MockAIProvider.anthropicKey)]),
            "model": .object([
                "provider": .string(provider), "name": .string(openAI ? "gpt-4o-mini" : "claude-sonnet-4-5"),
                "options": .object(["upstream_url": .string("http://127.0.0.1:\(port)/v1/\(openAI ? "chat/completions" : "messages")")]),
            ]),
        ]
        config.merge(extra) { $1 }
        return pluginConfiguration(port: port, plugins: [Plugin(id: "p-ai", name: "ai-proxy", config: .object(config))])
    }

    static func run(provider: String, extra: [String: JSONValue] = [:],
                    _ body: (TestClient, MockAIProvider) async throws -> Void) async throws {
        try await withMockAIProvider { mock in
            try await withProxy(configure: { _ in configuration(provider: provider, port: mock.port, extra: extra) }) { fx in
                let client = try await fx.client()
                defer { client.close() }
                try await body(client, mock)
            }
        }
    }

    static func model(_ provider: String) -> String { provider == "openai" ? "gpt-4o-mini" : "claude-sonnet-4-5" }

    /// A chat request in the client's format (`/v1/messages` is Anthropic's).
    static func chat(_ path: String, model: String, text: String, stream: Bool = false) -> String {
        if path.hasSuffix("/messages") {
            return #"{"model":"\#(model)","max_tokens":300,"system":"Be brief.","messages":[{"role":"user","content":"\#(text)"}],"stream":\#(stream)}"#
        }
        return #"{"model":"\#(model)","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"\#(text)"}],"stream":\#(stream)}"#
    }

    static func json(_ response: TestClient.Response) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
    }

    /// The `data:` payloads of a server-sent event stream, in order.
    static func events(_ response: TestClient.Response) -> [String] {
        response.text.components(separatedBy: "\n").filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
    }

    @Test(arguments: ["openai", "anthropic"], ["/v1/chat/completions", "/v1/messages"])
    func aWholeAnswerIsTranslatedBothWays(provider: String, path: String) async throws {
        try await Self.run(provider: provider) { client, mock in
            let response = try await client.post(path, json: Self.chat(path, model: Self.model(provider), text: "hello there"))
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("content-type") == "application/json")
            #expect(response.header("x-konnect-ai-provider") == provider)
            // Usage and cost at the model's list price: 4 prompt tokens, 3 output.
            #expect(response.header("x-konnect-ai-tokens") == "input=4, output=3, cached=0")
            #expect(response.header("x-konnect-ai-cost") == (provider == "openai" ? "0.0000024" : "0.000057"))
            let body = Self.json(response)
            // Prompt: "Be brief." + "hello there" = 4 words; answer "Echo: hello there" = 3.
            if path.hasSuffix("/messages") {
                #expect(body["type"] as? String == "message")
                let content = body["content"] as? [[String: Any]]
                #expect(content?.first?["text"] as? String == "Echo: hello there")
                #expect(body["stop_reason"] as? String == "end_turn")
                let usage = body["usage"] as? [String: Any]
                #expect(usage?["input_tokens"] as? Int == 4)
                #expect(usage?["output_tokens"] as? Int == 3)
            } else {
                #expect(body["object"] as? String == "chat.completion")
                let choice = (body["choices"] as? [[String: Any]])?.first
                #expect((choice?["message"] as? [String: Any])?["content"] as? String == "Echo: hello there")
                #expect(choice?["finish_reason"] as? String == "stop")
                let usage = body["usage"] as? [String: Any]
                #expect(usage?["prompt_tokens"] as? Int == 4)
                #expect(usage?["completion_tokens"] as? Int == 3)
                #expect(usage?["total_tokens"] as? Int == 7)
            }
            // The provider got its own format, with the key where it expects it.
            let sent = try #require(mock.requests.last)
            if provider == "anthropic" {
                #expect(sent.path == "/v1/messages")
                #expect(sent.header("x-api-key") == MockAIProvider.anthropicKey)
                #expect(sent.header("anthropic-version") == "2023-06-01")
                #expect(sent.body["system"] as? String == "Be brief.")
                #expect(sent.body["max_tokens"] as? Int == (path.hasSuffix("/messages") ? 300 : 4096))
            } else {
                #expect(sent.path == "/v1/chat/completions")
                #expect(sent.header("authorization") == "Bearer \(MockAIProvider.openAIKey)")
                #expect((sent.body["messages"] as? [[String: Any]])?.first?["role"] as? String == "system")
            }
        }
    }

    @Test func anOpenAIStreamFromAnthropicArrivesChunkByChunk() async throws {
        try await Self.run(provider: "anthropic") { client, _ in
            let body = #"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hello there"}],"stream":true,"stream_options":{"include_usage":true}}"#
            let response = try await client.post("/v1/chat/completions", json: body)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/event-stream")
            #expect(response.header("transfer-encoding") == "chunked")
            let events = Self.events(response)
            #expect(events.last == "[DONE]")
            let chunks = events.dropLast().compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            let deltas = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }
            #expect(deltas.joined() == "Echo: hello there")
            #expect(deltas.count == 4)  // the role chunk's "" and one per word
            let finish = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }
            #expect(finish == ["stop"])
            // Usage last, in a chunk without choices: 2 prompt words, 3 answered.
            let usage = try #require(chunks.last?["usage"] as? [String: Any])
            #expect((chunks.last?["choices"] as? [Any])?.isEmpty == true)
            #expect(usage["prompt_tokens"] as? Int == 2)
            #expect(usage["completion_tokens"] as? Int == 3)
        }
    }

    @Test func anAnthropicStreamFromOpenAIHasTheMessagesEventSequence() async throws {
        try await Self.run(provider: "openai") { client, _ in
            let response = try await client.post("/v1/messages", json: Self.chat("/v1/messages", model: "gpt-4o-mini", text: "hi", stream: true))
            #expect(response.status == 200)
            let names = response.text.components(separatedBy: "\n").filter { $0.hasPrefix("event: ") }.map { $0.dropFirst(7) }
            #expect(names == ["message_start", "content_block_start", "content_block_delta", "content_block_delta",
                              "content_block_stop", "message_delta", "message_stop"])
            #expect(response.text.contains(#""stop_reason":"end_turn""#))
        }
    }

    @Test(arguments: [
        // (path, body, status, the field the error names)
        ("/v1/chat/completions", "{not json", 400, "body"),
        ("/v1/chat/completions", #"{"model":"gpt-4o-mini"}"#, 400, "messages"),
        ("/v1/chat/completions", #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}"#, 400, "temperature"),
        ("/v1/chat/completions", #"{"model":"another-model","messages":[{"role":"user","content":"hi"}]}"#, 400, "model"),
        ("/v1/messages", #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#, 400, "max_tokens"),
        ("/v1/messages", "[1,2]", 400, "body"),
    ])
    func badRequestsGetTheClientsErrorShape(path: String, body: String, status: Int, field: String) async throws {
        try await Self.run(provider: "openai") { client, mock in
            let response = try await client.post(path, json: body)
            #expect(response.status == status)
            let json = Self.json(response)
            if path.hasSuffix("/messages") {
                #expect(json["type"] as? String == "error")
                let message = (json["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.hasPrefix(field), "\(message)")
            } else {
                #expect((json["error"] as? [String: Any])?["param"] as? String == field, "\(response.text)")
            }
            #expect(mock.requests.isEmpty)  // nothing reached the provider
        }
    }

    @Test(arguments: ["float", "base64"])
    func embeddingsAreAnsweredInTheEncodingAsked(encoding: String) async throws {
        try await Self.run(provider: "openai") { client, mock in
            let response = try await client.post("/v1/embeddings", json: #"{"model":"gpt-4o-mini","input":["hello there","hi"],"encoding_format":"\#(encoding)"}"#)
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("x-konnect-ai-tokens") == "input=3, output=0, cached=0")
            let data = try #require(Self.json(response)["data"] as? [[String: Any]])
            let vectors: [[Float]] = data.map { item in
                if let text = item["embedding"] as? String, let bytes = Data(base64Encoded: text) {
                    return stride(from: 0, to: bytes.count, by: 4).map { offset in
                        Float(bitPattern: bytes[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) })
                    }
                }
                return (item["embedding"] as? [Double] ?? []).map(Float.init)
            }
            #expect(vectors == [[2, 11, 0.5], [1, 2, 0.5]])
            #expect(data.compactMap { $0["embedding"] as? String }.count == (encoding == "base64" ? 2 : 0))
            // The provider is always asked for floats.
            #expect(mock.requests.last?.body["encoding_format"] as? String == "float")
        }
    }

    @Test func bedrockEmbeddingsGoToTheModelsInvokeEndpointWhenUpstreamURLNamesConverse() async throws {
        let model = "amazon.titan-embed-text-v2:0"
        try await withMockAIProvider { mock in
            let plugin = Plugin(id: "p-ai", name: "ai-proxy", config: .object(["model": .object([
                "provider": "bedrock", "name": .string(model), "options": .object([
                    "upstream_url": .string("http://127.0.0.1:\(mock.port)/model/\(model)/converse"),
                    "aws_access_key_id": .string(MockBedrock.accessKeyID),
                    "aws_secret_access_key": .string(MockBedrock.secretAccessKey), "aws_region": .string(MockBedrock.region),
                ]),
            ])]))
            try await withProxy(configure: { _ in pluginConfiguration(port: mock.port, plugins: [plugin]) }) { fx in
                let client = try await fx.client()
                defer { client.close() }
                let response = try await client.post("/v1/embeddings", json: #"{"model":"\#(model)","input":"hello there","encoding_format":"float"}"#)
                #expect(response.status == 200, "\(response.text)")
                #expect((Self.json(response)["data"] as? [[String: Any]])?.first?["embedding"] as? [Double] == [2, 11, 0.5])
                #expect(mock.requests.last?.path == "/model/\(model)/invoke")
                // Signed for the URL it went to.
                #expect(mock.requests.last?.header("authorization")?.hasPrefix("AWS4-HMAC-SHA256 Credential=\(MockBedrock.accessKeyID)/") == true)
            }
        }
    }

    @Test func anEmbeddingsFieldKonnectDoesNotModelReachesAnOpenAIFormatServer() async throws {
        // A vLLM-like server takes it …
        try await withMockAIProvider { mock in
            let configuration = Self.configuration(provider: "openai", port: mock.port, extra: [
                "model": .object(["provider": "openai", "name": "gpt-4o-mini",
                                  "options": .object(["upstream_url": .string("http://127.0.0.1:\(mock.port)/vllm/v1/chat/completions")])]),
            ])
            try await withProxy(configure: { _ in configuration }) { fx in
                let client = try await fx.client()
                defer { client.close() }
                let response = try await client.post("/v1/embeddings", json: #"{"model":"gpt-4o-mini","input":"hi","truncate_prompt_tokens":8}"#)
                #expect(response.status == 200, "\(response.text)")
                #expect(mock.requests.last?.path == "/vllm/v1/embeddings")
                #expect(mock.requests.last?.body["truncate_prompt_tokens"] as? Int == 8)
            }
        }
        // … and OpenAI refuses it, in its own words, which reach the client.
        try await Self.run(provider: "openai") { client, _ in
            let response = try await client.post("/v1/embeddings", json: #"{"model":"gpt-4o-mini","input":"hi","truncate_prompt_tokens":8}"#)
            #expect(response.status == 400)
            let error = Self.json(response)["error"] as? [String: Any]
            #expect(error?["message"] as? String == "Unrecognized request argument supplied: truncate_prompt_tokens")
        }
    }

    @Test func aProviderWithoutEmbeddingsRefusesThemNamingTheModel() async throws {
        try await Self.run(provider: "anthropic") { client, mock in
            let response = try await client.post("/v1/embeddings", json: #"{"model":"claude-sonnet-4-5","input":"hello"}"#)
            #expect(response.status == 400)
            #expect((Self.json(response)["error"] as? [String: Any])?["param"] as? String == "model")
            #expect(mock.requests.isEmpty)
        }
    }

    @Test func onlyPostIsAnswered() async throws {
        try await Self.run(provider: "openai") { client, _ in
            let response = try await client.get("/v1/chat/completions")
            #expect(response.status == 405)
            #expect((Self.json(response)["error"] as? [String: Any])?["message"] != nil)
        }
    }

    @Test(arguments: [("/v1/chat/completions", "invalid_request_error"), ("/v1/messages", "request_too_large")])
    func aBodyOverTheLimitIs413InTheClientsFormatNamingTheField(path: String, type: String) async throws {
        try await Self.run(provider: "openai", extra: ["max_request_body_size": 64]) { client, mock in
            let response = try await client.post(path, json: Self.chat(path, model: "gpt-4o-mini", text: String(repeating: "a ", count: 100)))
            #expect(response.status == 413)
            let error = Self.json(response)["error"] as? [String: Any]
            #expect(error?["type"] as? String == type)
            #expect((error?["message"] as? String)?.contains("messages: the request body is larger than this route accepts (64 bytes)") == true)
            if path.hasSuffix("/messages") {
                #expect(Self.json(response)["type"] as? String == "error")
            } else {
                #expect(error?["param"] as? String == "messages")
            }
            #expect(mock.requests.isEmpty)
        }
    }

    @Test(arguments: [
        // (provider, path, command, status the client gets, error type in its format)
        ("openai", "/v1/chat/completions", "fail 429", 429, "rate_limit_error"),
        ("anthropic", "/v1/messages", "fail 429", 429, "rate_limit_error"),
        ("anthropic", "/v1/chat/completions", "fail 529", 503, "service_unavailable_error"),
        ("anthropic", "/v1/messages", "fail 529", 529, "overloaded_error"),
        ("openai", "/v1/messages", "fail 500", 500, "api_error"),
        ("openai", "/v1/chat/completions", "garbage", 502, "server_error"),
    ])
    func providerFailuresReachTheClientInItsFormat(provider: String, path: String, command: String, status: Int, type: String) async throws {
        try await Self.run(provider: provider) { client, _ in
            let response = try await client.post(path, json: Self.chat(path, model: Self.model(provider), text: command))
            #expect(response.status == status, "\(response.text)")
            let error = Self.json(response)["error"] as? [String: Any]
            #expect(error?["type"] as? String == type, "\(response.text)")
            if status == 429 { #expect(response.header("retry-after") == "1") }
        }
    }

    @Test func anUnreachableProviderIs503() async throws {
        let refusing = try RefusingPort()
        defer { refusing.close() }
        try await withProxy(configure: { _ in Self.configuration(provider: "openai", port: refusing.port) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let response = try await client.post("/v1/chat/completions", json: Self.chat("/", model: "gpt-4o-mini", text: "hi"))
            #expect(response.status == 503)
            let message = (Self.json(response)["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("could not be reached"), "\(message)")
        }
    }

    @Test(arguments: ["openai", "anthropic"])
    func aStreamCutShortEndsWithAnErrorEvent(provider: String) async throws {
        try await Self.run(provider: provider) { client, _ in
            let response = try await client.post("/v1/chat/completions", json: Self.chat("/", model: Self.model(provider), text: "truncate", stream: true))
            #expect(response.status == 200)
            let events = Self.events(response)
            #expect(events.last?.contains(#""error""#) == true, "\(events)")
            #expect(!events.contains("[DONE]"))
        }
    }

    @Test(arguments: ["openai", "anthropic"])
    func aProviderErrorMidStreamBecomesTheClientsErrorEvent(provider: String) async throws {
        try await Self.run(provider: provider) { client, _ in
            let response = try await client.post("/v1/messages", json: Self.chat("/v1/messages", model: Self.model(provider), text: "midstream error", stream: true))
            #expect(response.status == 200)
            #expect(response.text.contains("event: error\ndata: {\"type\":\"error\""), "\(response.text)")
        }
    }

    @Test func aClientThatLeavesCancelsTheProviderStream() async throws {
        try await Self.run(provider: "anthropic") { client, mock in
            try await client.send(TestClient.postText("/v1/chat/completions", json: Self.chat("/", model: "claude-sonnet-4-5", text: "slow", stream: true)))
            #expect(try await client.readStatus() == 200)
            client.close()
            // The provider's stream (100 words, 50 ms apart) is closed long before it would end.
            for _ in 0..<100 where mock.abandonedStreams == 0 { try await Task.sleep(for: .milliseconds(50)) }
            #expect(mock.abandonedStreams == 1)
        }
    }
}

extension TestClient {
    static func postText(_ path: String, json: String) -> String {
        "POST \(path) HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)"
    }

    /// Sends a POST with a JSON body and returns the response.
    func post(_ path: String, json: String) async throws -> Response {
        try await send(Self.postText(path, json: json))
        return try await readResponse()
    }
}
