import KonnectAI
import NIOCore
import Testing

// Azure OpenAI and Mistral: OpenAI's format with each one's differences.

/// The request a client's OpenAI-format `body` becomes for `provider` at `deployment`.
private func sent(_ provider: some AIProvider, _ body: String, _ deployment: AIDeployment) throws -> (request: ProviderRequest, body: JSON) {
    let request = try OpenAIChat.request(from: JSON.parse(body))
    let sent = try provider.chatRequest(request, deployment: deployment)
    return (sent, try JSON.parse(sent.body))
}

/// The error `provider` refuses the client's `body` with, or nil when it is sent.
private func refusal(_ provider: some AIProvider, _ body: String, _ deployment: AIDeployment) throws -> AIError? {
    let request = try OpenAIChat.request(from: JSON.parse(body))
    do throws(AIError) {
        _ = try provider.chatRequest(request, deployment: deployment)
        return nil
    } catch {
        return error
    }
}

private func header(_ name: String, in request: ProviderRequest) -> String? {
    request.headers.first { $0.0.lowercased() == name.lowercased() }?.1
}

/// Feeds `pieces` to `decoder`, then finishes it.
private func decode(_ decoder: some ChatStreamDecoder, _ pieces: [[UInt8]]) throws(AIError) -> [ChatStreamEvent] {
    var decoder = decoder
    var events: [ChatStreamEvent] = []
    for piece in pieces { events += try decoder.decode(ByteBuffer(bytes: piece)) }
    events += try decoder.finish()
    return events
}

private let hi = #"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#

/// A chat body with `extra` fields.
private func chat(_ extra: String) -> String {
    #"{"model":"m","messages":[{"role":"user","content":"Hi"}],\#(extra)}"#
}

// MARK: - Azure OpenAI

@Suite struct AzureOpenAIProviderTests {
    static func azure(model: String = "gpt-4o", baseURL: String? = nil, key: String? = "azure-key",
                      _ options: [String: String] = ["azure_instance": "contoso"]) -> AIDeployment {
        AIDeployment(provider: "azure", model: model, baseURL: baseURL, apiKey: key, options: options)
    }

    @Test(arguments: [
        ("the instance's endpoint, the model as deployment, the GA version", azure(),
         "https://contoso.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"),
        ("a deployment id and an API version", azure(["azure_instance": "contoso", "azure_deployment_id": "prod-4o",
                                                       "azure_api_version": "2025-01-01-preview"]),
         "https://contoso.openai.azure.com/openai/deployments/prod-4o/chat/completions?api-version=2025-01-01-preview"),
        ("a base URL (an API Management gateway) instead of the instance",
         azure(baseURL: "https://apim.example.com/aoai/", ["azure_deployment_id": "prod-4o"]),
         "https://apim.example.com/aoai/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21"),
        ("a base URL wins over the instance", azure(baseURL: "https://eu.example.com", ["azure_instance": "contoso"]),
         "https://eu.example.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"),
        ("upstream_url is the whole URL", azure(["upstream_url": "https://proxy.example.com/chat?api-version=2024-06-01"]),
         "https://proxy.example.com/chat?api-version=2024-06-01"),
    ] as [(String, AIDeployment, String)])
    func theRequestGoesToTheDeployment(label: String, deployment: AIDeployment, url: String) throws {
        #expect(try sent(AzureOpenAIProvider(), hi, deployment).request.url == url, "\(label)")
    }

    @Test func theKeyGoesInTheApiKeyHeader() throws {
        let (request, _) = try sent(AzureOpenAIProvider(), hi, Self.azure())
        #expect(request.method == "POST")
        #expect(header("api-key", in: request) == "azure-key")
        #expect(header("Authorization", in: request) == nil)
        #expect(header("Content-Type", in: request) == "application/json")

        let keyless = try sent(AzureOpenAIProvider(), hi, Self.azure(key: nil)).request
        #expect(header("api-key", in: keyless) == nil)
    }

    @Test func aMissingInstanceNamesTheOption() throws {
        let error = try #require(try refusal(AzureOpenAIProvider(), hi, Self.azure([:])))
        #expect(error.param == "model.options.azure_instance")
        #expect(error.message.contains("model.options.azure_instance"))
        // The gateway's configuration is at fault, not the client's request.
        #expect(error.status == 500)
        #expect(error.kind != .invalidRequest)
    }

    @Test func theBodyIsOpenAIsWithTheDeploymentsModelAndMaxTokens() throws {
        let body = chat(#""max_completion_tokens":300,"seed":7,"user":"u-1","stream":true,"data_sources":[{"type":"azure_search"}]"#)
        let (_, json) = try sent(AzureOpenAIProvider(), body, Self.azure())
        #expect(json.text == #"{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"max_tokens":300,"seed":7,"stream":true,"stream_options":{"include_usage":true},"user":"u-1","data_sources":[{"type":"azure_search"}]}"#)
    }

    @Test(arguments: [
        ("2024-10-21", "max_tokens", true),
        ("2024-06-01", "max_tokens", false),
        ("2024-02-15-preview", "max_tokens", false),
        ("2024-09-01-preview", "max_tokens", true),
        ("2024-12-01-preview", "max_completion_tokens", true),
        ("2025-04-01-preview", "max_completion_tokens", true),
    ])
    func fieldsFollowTheAPIVersion(version: String, maxTokensField: String, streamOptions: Bool) throws {
        let deployment = Self.azure(["azure_instance": "contoso", "azure_api_version": version])
        let (_, json) = try sent(AzureOpenAIProvider(), chat(#""max_tokens":50,"stream":true"#), deployment)
        #expect(json[maxTokensField] == 50)
        #expect(json.object?.keys.filter { $0.hasPrefix("max_") } == [maxTokensField])
        #expect((json["stream_options"] != nil) == streamOptions)
    }

    // MARK: Answers

    static let filteredAnswer = #"""
    {"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"high"}},
      "finish_reason":"content_filter","index":0,"logprobs":null,"message":{"content":"I can tell you that","refusal":null,"role":"assistant"}}],
     "created":1741569952,"id":"chatcmpl-B9AzFiltered","model":"gpt-4o-2024-11-20","object":"chat.completion",
     "prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}],
     "system_fingerprint":"fp_b705f0c291","usage":{"completion_tokens":5,"prompt_tokens":20,"total_tokens":25}}
    """#

    @Test func aFilteredAnswerFinishesWithContentFilter() throws {
        let response = try AzureOpenAIProvider().chatResponse(ByteBuffer(string: Self.filteredAnswer))
        #expect(response.id == "chatcmpl-B9AzFiltered")
        #expect(response.model == "gpt-4o-2024-11-20")
        #expect(response.choices.first?.finishReason == .contentFilter)
        #expect(response.choices.first?.message.text == "I can tell you that")
        #expect(response.usage == Usage(inputTokens: 20, outputTokens: 5))
        #expect(OpenAIChat.responseBody(response)["choices"]?.array?.first?["finish_reason"] == "content_filter")
    }

    /// Azure's first chunk has no id, no model and no choices, only the prompt filter's results;
    /// its chunks carry filter results beside the deltas.
    static let stream = [
        #"data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}]}"#,
        #"data: {"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1741569952,"id":"chatcmpl-B9Az","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk","system_fingerprint":"fp_b705f0c291","usage":null}"#,
        #"data: {"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{"content":"Hello"},"finish_reason":null,"index":0,"logprobs":null}],"created":1741569952,"id":"chatcmpl-B9Az","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk","system_fingerprint":"fp_b705f0c291","usage":null}"#,
        #"data: {"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{"content":" there."},"finish_reason":null,"index":0,"logprobs":null}],"created":1741569952,"id":"chatcmpl-B9Az","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk","system_fingerprint":"fp_b705f0c291","usage":null}"#,
        #"data: {"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],"created":1741569952,"id":"chatcmpl-B9Az","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk","system_fingerprint":"fp_b705f0c291","usage":null}"#,
        #"data: {"choices":[],"created":1741569952,"id":"chatcmpl-B9Az","model":"gpt-4o-2024-11-20","object":"chat.completion.chunk","system_fingerprint":"fp_b705f0c291","usage":{"completion_tokens":3,"prompt_tokens":12,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":0}}}"#,
        "data: [DONE]",
    ].map { $0 + "\n\n" }.joined()

    static let expected: [ChatStreamEvent] = [
        .start(id: "chatcmpl-B9Az", model: "gpt-4o-2024-11-20", usage: nil),
        .text("Hello"),
        .text(" there."),
        .finish(.stop),
        .usage(Usage(inputTokens: 12, outputTokens: 3)),
    ]

    @Test func theFilterChunkDoesNotStartTheAnswer() throws {
        let events = try decode(AzureOpenAIProvider().streamDecoder(), [Array(Self.stream.utf8)])
        #expect(events == Self.expected)
    }

    @Test func oneByteAtATimeGivesTheSameEvents() throws {
        #expect(try decode(AzureOpenAIProvider().streamDecoder(), Array(Self.stream.utf8).map { [$0] }) == Self.expected)
    }

    @Test func aStreamStoppedByTheFilterFinishesWithContentFilter() throws {
        let stream = [
            #"data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[]}"#,
            #"data: {"choices":[{"delta":{"content":"Step one"},"finish_reason":null,"index":0}],"created":1,"id":"chatcmpl-F","model":"gpt-4o","object":"chat.completion.chunk"}"#,
            #"data: {"choices":[{"content_filter_results":{"violence":{"filtered":true,"severity":"medium"}},"delta":{},"finish_reason":"content_filter","index":0}],"created":1,"id":"chatcmpl-F","model":"gpt-4o","object":"chat.completion.chunk"}"#,
            "data: [DONE]",
        ].map { $0 + "\n\n" }.joined()
        #expect(try decode(AzureOpenAIProvider().streamDecoder(), [Array(stream.utf8)]) == [
            .start(id: "chatcmpl-F", model: "gpt-4o", usage: nil), .text("Step one"), .finish(.contentFilter),
        ])
    }

    // MARK: Errors

    @Test func aPromptRefusedByTheFilterIsTheClientsError() {
        let body = #"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"violence":{"filtered":true,"severity":"high"}}}}}"#
        let error = AzureOpenAIProvider().error(status: 400, headers: [], body: ByteBuffer(string: body))
        #expect(error.kind == .invalidRequest)
        #expect(error.code == "content_filter")
        #expect(error.param == "prompt")
        #expect(error.message.hasPrefix("The response was filtered"))
        #expect(!error.allowsFallback)
    }

    @Test func aRateLimitKeepsItsWait() {
        let body = #"{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current tier. Please retry after 6 seconds."}}"#
        let error = AzureOpenAIProvider().error(status: 429, headers: [("Retry-After", "6")], body: ByteBuffer(string: body))
        #expect(error.kind == .rateLimited)
        #expect(error.retryAfter == 6)
        #expect(error.allowsFallback)
    }
}

// MARK: - Mistral

@Suite struct MistralProviderTests {
    static let mistral = AIDeployment(provider: "mistral", model: "mistral-large-latest", apiKey: "ms-key")

    @Test func theRequestGoesToChatCompletionsWithABearerKey() throws {
        let (request, _) = try sent(MistralProvider(), hi, Self.mistral)
        #expect(request.url == "https://api.mistral.ai/v1/chat/completions")
        #expect(header("Authorization", in: request) == "Bearer ms-key")

        let eu = AIDeployment(provider: "mistral", model: "m", baseURL: "https://mistral.example.eu/v1/")
        let (proxied, _) = try sent(MistralProvider(), hi, eu)
        #expect(proxied.url == "https://mistral.example.eu/v1/chat/completions")
        #expect(header("Authorization", in: proxied) == nil)
    }

    @Test func theBodyHasMistralsNames() throws {
        let body = #"""
        {"model":"m","messages":[
          {"role":"system","content":"Be brief."},
          {"role":"user","content":"Weather in Paris?"},
          {"role":"assistant","content":null,"tool_calls":[{"id":"call_Xk3pQ9","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
          {"role":"tool","tool_call_id":"call_Xk3pQ9","content":"18C"}],
         "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],
         "tool_choice":"required","max_completion_tokens":100,"temperature":0.3,"seed":42,"n":2,
         "stream":true,"stream_options":{"include_usage":true},"user":"u-1","safe_prompt":true}
        """#
        let (_, json) = try sent(MistralProvider(), body, Self.mistral)
        let id = try #require(json["messages"]?.array?[2]["tool_calls"]?.array?.first?["id"]?.string)
        #expect(json.text == #"{"model":"mistral-large-latest","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather in Paris?"},{"role":"assistant","content":null,"tool_calls":[{"id":"\#(id)","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","content":"18C","tool_call_id":"\#(id)"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],"tool_choice":"any","max_tokens":100,"temperature":0.3,"random_seed":42,"n":2,"stream":true,"safe_prompt":true}"#)
    }

    @Test(arguments: [
        (#""tool_choice":"auto""#, #""auto""#),
        (#""tool_choice":"none""#, #""none""#),
        (#""tool_choice":"required""#, #""any""#),
        (#""tool_choice":{"type":"function","function":{"name":"get_weather"}}"#, #"{"type":"function","function":{"name":"get_weather"}}"#),
    ])
    func toolChoiceIsWrittenInMistralsWords(field: String, written: String) throws {
        let body = chat(#""tools":[{"type":"function","function":{"name":"get_weather"}}],"# + field)
        #expect(try sent(MistralProvider(), body, Self.mistral).body["tool_choice"]?.text == written)
    }

    /// Mistral's tool call ids are nine letters and digits; ids from OpenAI or Anthropic would be
    /// refused ("Tool call id was call_… but must be a-z, A-Z, 0-9, with a length of 9").
    @Test(arguments: ["call_abc123", "toolu_01A09q90qw90lq917835lq9", "call_0", "x"])
    func foreignToolCallIdsBecomeNineCharactersThatStillPair(id: String) throws {
        let body = #"""
        {"model":"m","messages":[{"role":"user","content":"Hi"},
          {"role":"assistant","content":null,"tool_calls":[{"id":"\#(id)","type":"function","function":{"name":"f","arguments":"{}"}}]},
          {"role":"tool","tool_call_id":"\#(id)","content":"ok"}]}
        """#
        let messages = try #require(try sent(MistralProvider(), body, Self.mistral).body["messages"]?.array)
        let called = try #require(messages[1]["tool_calls"]?.array?.first?["id"]?.string)
        #expect(called.utf8.count == 9)
        #expect(called.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        #expect(messages[2]["tool_call_id"]?.string == called)
    }

    @Test func mistralsOwnIdsAreKeptAndDifferentIdsStayDifferent() throws {
        let body = #"""
        {"model":"m","messages":[{"role":"user","content":"Hi"},
          {"role":"assistant","content":null,"tool_calls":[
            {"id":"D681PevKs","type":"function","function":{"name":"f","arguments":"{}"}},
            {"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}},
            {"id":"call_2","type":"function","function":{"name":"f","arguments":"{}"}}]}]}
        """#
        let calls = try #require(try sent(MistralProvider(), body, Self.mistral).body["messages"]?.array?[1]["tool_calls"]?.array)
        let ids = calls.compactMap { $0["id"]?.string }
        #expect(ids.first == "D681PevKs")
        #expect(Set(ids).count == 3)
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var label: String
        var body: String
        var param: String
        var testDescription: String { label }
    }

    static let refusals: [Refusal] = [
        Refusal(label: "top_k", body: chat(#""top_k":40"#), param: "top_k"),
        Refusal(label: "a user's name",
                body: #"{"model":"m","messages":[{"role":"user","content":"Hi","name":"alice"}]}"#, param: "messages[0].name"),
        Refusal(label: "an OpenAI field Mistral does not know", body: chat(#""logprobs":true"#), param: "logprobs"),
        Refusal(label: "another one", body: chat(#""metadata":{"team":"search"}"#), param: "metadata"),
    ]

    @Test(arguments: refusals)
    func whatMistralWouldRefuseIsRefusedByName(_ expected: Refusal) throws {
        let error = try #require(try refusal(MistralProvider(), expected.body, Self.mistral))
        #expect(error.param == expected.param)
        #expect(error.kind == .invalidRequest)
        #expect(error.message.hasPrefix(expected.param))
    }

    @Test func mistralsOwnFieldsPassAndTheEndUserIsLeftOut() throws {
        let body = chat(#""user":"u-1","safe_prompt":true,"prompt_mode":"reasoning","random_seed":7"#)
        let json = try sent(MistralProvider(), body, Self.mistral).body
        #expect(json["user"] == nil)
        #expect(json["safe_prompt"] == true)
        #expect(json["prompt_mode"] == "reasoning")
        #expect(json["random_seed"] == 7)
    }

    // MARK: Answers

    /// Magistral answers with content chunks: its reasoning, then the text.
    @Test func aReasoningAnswerGivesThinkingAndText() throws {
        let body = #"""
        {"id":"cmpl-e5cc70bb28c444948073e77776eb30ef","object":"chat.completion","created":1702256327,"model":"magistral-medium-2509",
         "choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","tool_calls":null,"content":[
           {"type":"thinking","thinking":[{"type":"text","text":"2 + 2 is "},{"type":"text","text":"4."}]},
           {"type":"text","text":"The answer"},{"type":"text","text":" is 4."}]}}],
         "usage":{"prompt_tokens":10,"completion_tokens":30,"total_tokens":40}}
        """#
        let response = try MistralProvider().chatResponse(ByteBuffer(string: body))
        #expect(response.choices.first?.message.content == [.thinking("2 + 2 is 4.", signature: nil), .text("The answer is 4.")])
        #expect(response.usage == Usage(inputTokens: 10, outputTokens: 30))
        #expect(OpenAIChat.responseBody(response)["choices"]?.array?.first?["message"]?["reasoning_content"] == "2 + 2 is 4.")
    }

    @Test(arguments: [
        ("stop", FinishReason.stop), ("length", .length), ("model_length", .length), ("tool_calls", .toolCalls),
        ("error", .other("error")),
    ])
    func finishReasonsAreRead(word: String, reason: FinishReason) throws {
        let body = #"{"id":"c","object":"chat.completion","created":1,"model":"mistral-small-latest","choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"\#(word)"}]}"#
        #expect(try MistralProvider().chatResponse(ByteBuffer(string: body)).choices.first?.finishReason == reason)
    }

    static func chunk(_ delta: String, finish: String = "null", usage: String = "") -> String {
        #"data: {"id":"6e2cbd4b8e4c4bd2b8c4a2a4ad2e48e4","object":"chat.completion.chunk","created":1741569952,"model":"mistral-large-latest","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(finish)}]\#(usage)}"#
            + "\n\n"
    }

    /// Mistral needs no `stream_options`: the usage rides on the chunk with the finish reason.
    static let stream = chunk(#"{"role":"assistant","content":""}"#) + chunk(#"{"content":"Bonjour"}"#)
        + chunk(#"{"content":" !"}"#)
        + chunk(#"{"content":""}"#, finish: #""stop""#, usage: #","usage":{"prompt_tokens":7,"total_tokens":12,"completion_tokens":5}"#)
        + "data: [DONE]\n\n"

    static let expected: [ChatStreamEvent] = [
        .start(id: "6e2cbd4b8e4c4bd2b8c4a2a4ad2e48e4", model: "mistral-large-latest", usage: nil),
        .text("Bonjour"), .text(" !"), .finish(.stop), .usage(Usage(inputTokens: 7, outputTokens: 5)),
    ]

    @Test func aStreamGivesItsUsageWithoutStreamOptions() throws {
        #expect(try decode(MistralProvider().streamDecoder(), [Array(Self.stream.utf8)]) == Self.expected)
        #expect(try decode(MistralProvider().streamDecoder(), Array(Self.stream.utf8).map { [$0] }) == Self.expected)
    }

    @Test func aReasoningStreamGivesThinkingThenText() throws {
        let stream = Self.chunk(#"{"role":"assistant","content":[{"type":"thinking","thinking":[{"type":"text","text":"Half of 8"}]}]}"#)
            + Self.chunk(#"{"content":[{"type":"thinking","thinking":[{"type":"text","text":" is 4."}]}]}"#)
            + Self.chunk(#"{"content":"It is 4."}"#)
            + Self.chunk(#"{"content":""}"#, finish: #""model_length""#)
            + "data: [DONE]\n\n"
        #expect(try decode(MistralProvider().streamDecoder(), [Array(stream.utf8)]) == [
            .start(id: "6e2cbd4b8e4c4bd2b8c4a2a4ad2e48e4", model: "mistral-large-latest", usage: nil),
            .thinking("Half of 8"), .thinking(" is 4."), .text("It is 4."), .finish(.length),
        ])
    }

    @Test func aStreamCutBeforeItsFinishIsAnError() {
        let cut = Self.chunk(#"{"role":"assistant","content":""}"#) + Self.chunk(#"{"content":"Bonjour"}"#)
        let error = #expect(throws: AIError.self) { try decode(MistralProvider().streamDecoder(), [Array(cut.utf8)]) }
        #expect(error?.allowsFallback == true)
    }

    /// A failure after the stream began is an event holding Mistral's error object, which has no
    /// `error` key: it ends the stream with Mistral's message, and nothing after it is read.
    @Test(arguments: [
        (#"{"object":"error","message":"Service tier capacity exceeded for this model.","type":"invalid_request_error","param":null,"code":null,"raw_status_code":503}"#,
         503, "Service tier capacity exceeded for this model.", "invalid_request_error"),
        (#"{"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300"}"#,
         429, "Rate limit exceeded", "1300"),
        (#"{"object":"Error","message":"Internal server error","type":"internal_server_error","code":1000}"#,
         500, "Internal server error", "1000"),
    ] as [(String, Int, String, String)])
    func anErrorInTheStreamEndsItWithMistralsMessage(event: String, status: Int, message: String, code: String) throws {
        let stream = Self.chunk(#"{"role":"assistant","content":""}"#) + Self.chunk(#"{"content":"Bonjour"}"#)
            + "data: \(event)\n\n" + Self.chunk(#"{"content":" !"}"#)
        let expected: [ChatStreamEvent] = [
            .start(id: "6e2cbd4b8e4c4bd2b8c4a2a4ad2e48e4", model: "mistral-large-latest", usage: nil), .text("Bonjour"),
            .error(AIError(AIError.kind(forStatus: status), status: status, message, code: code)),
        ]
        #expect(try decode(MistralProvider().streamDecoder(), [Array(stream.utf8)]) == expected)
        #expect(try decode(MistralProvider().streamDecoder(), Array(stream.utf8).map { [$0] }) == expected)
    }

    // MARK: Embeddings

    static func embeddings(_ body: String) throws -> EmbeddingsRequest {
        try OpenAIChat.embeddingsRequest(from: JSON.parse(body))
    }

    /// `dimensions` is Mistral's `output_dimension`; floats are asked for whatever the client's
    /// encoding; the end-user id, a field Mistral would refuse, is left out.
    @Test func embeddingsAreAskedInMistralsWords() throws {
        let client = #"{"model":"embed","input":["Hello there","Hi"],"dimensions":256,"encoding_format":"base64","user":"u-1"}"#
        let deployment = AIDeployment(provider: "mistral", model: "codestral-embed", apiKey: "ms-key")
        let request = try MistralProvider().embeddingsRequest(Self.embeddings(client), deployment: deployment)
        #expect(request.method == "POST")
        #expect(request.url == "https://api.mistral.ai/v1/embeddings")
        #expect(header("Authorization", in: request) == "Bearer ms-key")
        #expect(header("Content-Type", in: request) == "application/json")
        #expect(String(buffer: request.body)
            == #"{"model":"codestral-embed","input":["Hello there","Hi"],"output_dimension":256,"encoding_format":"float"}"#)
    }

    @Test func oneInputWithoutDimensionsAtABaseURL() throws {
        let deployment = AIDeployment(provider: "mistral", model: "mistral-embed", baseURL: "https://mistral.example.eu/v1/")
        let request = try MistralProvider().embeddingsRequest(Self.embeddings(#"{"model":"embed","input":"Bonjour"}"#),
                                                              deployment: deployment)
        #expect(request.url == "https://mistral.example.eu/v1/embeddings")
        #expect(header("Authorization", in: request) == nil)
        #expect(String(buffer: request.body) == #"{"model":"mistral-embed","input":["Bonjour"],"encoding_format":"float"}"#)
    }

    @Test func mistralsEmbeddingsAnswerIsRead() throws {
        let body = #"""
        {"id":"embd-aad6fc62b17349b192ef09225058bc45","object":"list","data":[
          {"object":"embedding","embedding":[0.25,-0.5,0.125],"index":1},
          {"object":"embedding","embedding":[-0.015625,0.0703125,0.03125],"index":0}],
         "model":"mistral-embed","usage":{"prompt_tokens":15,"completion_tokens":0,"total_tokens":15,"prompt_audio_seconds":null}}
        """#
        let response = try MistralProvider().embeddingsResponse(ByteBuffer(string: body))
        #expect(response == EmbeddingsResponse(model: "mistral-embed", vectors: [[-0.015625, 0.0703125, 0.03125], [0.25, -0.5, 0.125]],
                                               usage: Usage(inputTokens: 15, outputTokens: 0)))
    }

    /// A field Konnect does not model goes on to OpenAI-format servers (which may know it) and
    /// is refused by name where the provider has its own format.
    @Test func anEmbeddingsFieldKonnectDoesNotModelPassesOnlyToOpenAIFormatServers() throws {
        let request = try Self.embeddings(#"{"model":"embed","input":"hi","truncate_prompt_tokens":8}"#)
        let openAI = try OpenAIProvider().embeddingsRequest(request, deployment: AIDeployment(provider: "openai", model: "e5"))
        #expect(String(buffer: openAI.body) == #"{"model":"e5","input":["hi"],"encoding_format":"float","truncate_prompt_tokens":8}"#)
        let providers: [any AIProvider] = [MistralProvider(), GeminiProvider(), CohereProvider(), OllamaProvider()]
        for provider in providers {
            let deployment = AIDeployment(provider: provider.name, model: "embed-model")
            let error = thrownAIError { () throws(AIError) in _ = try provider.embeddingsRequest(request, deployment: deployment) }
            #expect(error?.param == "truncate_prompt_tokens", "\(provider.name)")
        }
    }

    @Test func anOpenAIFormatVectorThatIsNotAllNumbersFailsTheAnswer() {
        let body = #"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,"x"]}],"usage":{"prompt_tokens":1}}"#
        let error = thrownAIError { () throws(AIError) in _ = try MistralProvider().embeddingsResponse(ByteBuffer(string: body)) }
        #expect(error?.kind == .server)
        #expect(error?.message.contains("data[0].embedding[1]") == true)
    }

    @Test func anEmbeddingsFieldMistralRefusesIsReadByName() {
        let body = #"{"object":"error","message":{"detail":[{"type":"greater_than_equal","loc":["body","output_dimension"],"msg":"Input should be greater than or equal to 1","input":0}]},"type":"invalid_request_error","param":null,"code":null}"#
        let error = MistralProvider().error(status: 422, headers: [], body: ByteBuffer(string: body))
        #expect(error.kind == .invalidRequest)
        #expect(error.param == "output_dimension")
        #expect(error.message == "output_dimension: Input should be greater than or equal to 1")
    }

    // MARK: Errors

    @Test(arguments: [
        (422, #"{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","messages",0,"user","name"],"msg":"Extra inputs are not permitted","input":"alice"}]},"type":"invalid_request_error","param":null,"code":null}"#,
         "messages.0.user.name: Extra inputs are not permitted", "messages.0.user.name", "invalid_request_error"),
        (422, #"{"object":"Error","detail":[{"type":"extra_forbidden","loc":["body","tools"],"msg":"Extra inputs are not permitted","input":[]}],"message":[{"type":"extra_forbidden","loc":["body","tools"],"msg":"Extra inputs are not permitted","input":[]}],"type":"invalid_request_error","code":3001}"#,
         "tools: Extra inputs are not permitted", "tools", "3001"),
        (400, #"{"object":"error","message":"Tool call id was call_1 but must be a-z, A-Z, 0-9, with a length of 9.","type":"invalid_function_call","param":null,"code":"3280"}"#,
         "Tool call id was call_1 but must be a-z, A-Z, 0-9, with a length of 9.", nil, "3280"),
        (401, #"{"detail":"Unauthorized"}"#, "Unauthorized", nil, nil),
        (401, #"{"message":"Unauthorized","request_id":"c61f2f15feca71626a990e3740f99245"}"#, "Unauthorized", nil, nil),
        (429, #"{"object":"error","message":"Requests rate limit exceeded","type":"rate_limited","param":null,"code":"1300"}"#,
         "Requests rate limit exceeded", nil, "1300"),
    ] as [(Int, String, String, String?, String?)])
    func mistralsErrorsAreRead(status: Int, body: String, message: String, param: String?, code: String?) {
        let error = MistralProvider().error(status: status, headers: [], body: ByteBuffer(string: body))
        #expect(error.status == status)
        #expect(error.kind == AIError.kind(forStatus: status))
        #expect(error.message == message)
        #expect(error.param == param)
        #expect(error.code == code)
    }
}
