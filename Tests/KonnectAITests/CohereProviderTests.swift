import KonnectAI
import NIOCore
import Testing

// MARK: - Helpers

/// The Cohere request body for what an OpenAI client sent.
private func cohereBody(fromOpenAI text: String, model: String = "command-a-vision-07-2025") throws -> JSON {
    try CohereChat.requestBody(OpenAIChat.request(from: JSON.parse(text)), model: model)
}

/// The error writing `request` for Cohere gives, or nil when it writes one.
private func cohereBodyError(_ request: ChatRequest) -> AIError? {
    return thrownAIError { () throws(AIError) in
        _ = try CohereChat.requestBody(request, model: "command-a-03-2025")
    }
}

/// Cohere's answer read, from its text.
private func cohereResponse(_ text: String) throws -> ChatResponse {
    try CohereProvider().chatResponse(ByteBuffer(string: text))
}

/// Feeds `pieces` to a new Cohere stream decoder, then finishes it.
private func decodeCohereStream(_ pieces: [[UInt8]]) throws(AIError) -> [ChatStreamEvent] {
    try decodeStream(CohereProvider().streamDecoder(), pieces)
}

private func decodeCohereStream(_ text: String) throws(AIError) -> [ChatStreamEvent] {
    try decodeCohereStream([Array(text.utf8)])
}

/// The events a decoder gives for `text` before its end, and the error `finish()` throws.
private func decodeCohereStreamUntilFinish(_ text: String) throws -> (events: [ChatStreamEvent], finishError: AIError?) {
    try decodeStreamUntilFinish(CohereChatStreamDecoder(), text)
}

/// One event of Cohere's stream: its type as the event's name, and its JSON as the data.
private func cohereEvent(_ type: String, _ data: String) -> String { "event: \(type)\ndata: \(data)\n\n" }

// MARK: - Requests

@Suite struct CohereRequestTests {
    /// What an OpenAI client sends for a conversation Cohere answers: a system prompt, an image,
    /// a developer note, an assistant turn with two tool calls, their results, a follow-up.
    static let openAIConversation = #"""
    {
      "model": "cohere-via-openai",
      "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": [
          {"type": "text", "text": "What is in this image, and how warm is it in Paris?"},
          {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}
        ]},
        {"role": "developer", "content": "Use metric units."},
        {"role": "assistant", "content": "A cat. Checking the weather and the time.", "tool_calls": [
          {"id": "get_weather_776n8ctsgycn", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
          {"id": "get_time_1ndc3p9ybxg7", "type": "function", "function": {"name": "get_time", "arguments": ""}}
        ]},
        {"role": "tool", "tool_call_id": "get_time_1ndc3p9ybxg7", "content": "14:05"},
        {"role": "tool", "tool_call_id": "get_weather_776n8ctsgycn", "content": "{\"temp_c\":18,\"sky\":\"clear\"}"},
        {"role": "user", "content": "Is that warm for April?"}
      ],
      "tools": [
        {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
                         "required": ["city"], "additionalProperties": false}, "strict": true}},
        {"type": "function", "function": {"name": "get_time"}}
      ],
      "tool_choice": "required",
      "max_completion_tokens": 300,
      "temperature": 0.2,
      "top_p": 0.8,
      "top_k": 40,
      "stop": ["END"],
      "seed": 7,
      "n": 1,
      "presence_penalty": 0.5,
      "frequency_penalty": 0.25,
      "stream": true,
      "stream_options": {"include_usage": true},
      "user": "user-1234"
    }
    """#

    @Test func anOpenAIConversationIsWrittenForCohere() throws {
        let body = try cohereBody(fromOpenAI: Self.openAIConversation)
        // The deployment's model; no end-user id (Cohere has no such field); no stream options
        // (Cohere always reports usage in `message-end`).
        #expect(body.object?.keys == ["model", "messages", "tools", "tool_choice", "max_tokens", "temperature", "p", "k",
                                      "seed", "stop_sequences", "frequency_penalty", "presence_penalty", "stream"])
        #expect(body["model"] == "command-a-vision-07-2025")

        let messages = try #require(body["messages"]?.array)
        #expect(messages.count == 7)
        #expect(messages[0].text == #"{"role":"system","content":"You are terse."}"#)
        #expect(messages[1].text == #"{"role":"user","content":[{"type":"text","text":"What is in this image, and how warm is it in Paris?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"low"}}]}"#)
        // A developer message is a system message, where it was.
        #expect(messages[2].text == #"{"role":"system","content":"Use metric units."}"#)
        // Calls keep their ids and their arguments as JSON text; empty arguments are an empty object.
        #expect(messages[3].text == #"{"role":"assistant","content":"A cat. Checking the weather and the time.","tool_calls":[{"id":"get_weather_776n8ctsgycn","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"get_time_1ndc3p9ybxg7","type":"function","function":{"name":"get_time","arguments":"{}"}}]}"#)
        #expect(messages[4].text == #"{"role":"tool","tool_call_id":"get_time_1ndc3p9ybxg7","content":"14:05"}"#)
        #expect(messages[5].text == #"{"role":"tool","tool_call_id":"get_weather_776n8ctsgycn","content":"{\"temp_c\":18,\"sky\":\"clear\"}"}"#)
        #expect(messages[6].text == #"{"role":"user","content":"Is that warm for April?"}"#)

        // OpenAI's function shape; a function declared without parameters gets an empty object
        // schema (Cohere requires one). Not every tool is strict, so `strict_tools` is not sent.
        #expect(body["tools"]?.text == #"[{"type":"function","function":{"name":"get_weather","description":"Current weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["c","f"]}},"required":["city"],"additionalProperties":false}}},{"type":"function","function":{"name":"get_time","parameters":{"type":"object","properties":{}}}}]"#)
        #expect(body["tool_choice"] == "REQUIRED")
        #expect(body["max_tokens"] == 300)
        #expect(body["temperature"] == 0.2)
        #expect(body["p"] == 0.8)
        #expect(body["k"] == 40)
        #expect(body["seed"] == 7)
        #expect(body["stop_sequences"]?.text == #"["END"]"#)
        #expect(body["frequency_penalty"] == 0.25)
        #expect(body["presence_penalty"] == 0.5)
        #expect(body["stream"] == true)
    }

    @Test func aPlainRequestIsWrittenPlainly() throws {
        let body = try cohereBody(fromOpenAI: #"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#, model: "command-r7b-12-2024")
        #expect(body.text == #"{"model":"command-r7b-12-2024","messages":[{"role":"user","content":"Hi"}],"stream":false}"#)
    }

    @Test func severalTextPartsStayBlocks() throws {
        let body = try cohereBody(fromOpenAI: #"""
        {"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"Summarize:"},{"type":"text","text":"Sales rose."}]},
          {"role":"assistant","content":""},{"role":"user","content":"Shorter."}]}
        """#)
        // The empty assistant turn carries nothing and is left out.
        #expect(body["messages"]?.text == #"[{"role":"user","content":[{"type":"text","text":"Summarize:"},{"type":"text","text":"Sales rose."}]},{"role":"user","content":"Shorter."}]"#)
    }

    @Test(arguments: [
        (ToolChoice.auto, nil),
        (ToolChoice.none, "NONE"),
        (ToolChoice.required, "REQUIRED"),
    ] as [(ToolChoice, JSON?)])
    func toolChoiceIsWrittenInCoheresWords(choice: ToolChoice, written: JSON?) throws {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Weather?")])
        request.tools = [ToolDefinition(name: "get_weather", parameters: ["type": "object", "properties": ["city": ["type": "string"]]])]
        request.toolChoice = choice
        #expect(try CohereChat.requestBody(request, model: "m")["tool_choice"] == written)
    }

    @Test func withoutToolsNoToolChoiceIsSent() throws {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        request.toolChoice = .required
        let body = try CohereChat.requestBody(request, model: "m")
        #expect(body["tool_choice"] == nil)
        #expect(body["tools"] == nil)
    }

    @Test func strictToolsAreOneSwitch() throws {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Weather?")])
        request.tools = [ToolDefinition(name: "a", strict: true), ToolDefinition(name: "b", strict: true)]
        #expect(try CohereChat.requestBody(request, model: "m")["strict_tools"] == true)
        request.tools[1].strict = nil
        #expect(try CohereChat.requestBody(request, model: "m")["strict_tools"] == nil)
    }

    @Test(arguments: [
        (ResponseFormat.text, nil),
        (ResponseFormat.jsonObject, #"{"type":"json_object"}"#),
        (ResponseFormat.jsonSchema(name: "weather", schema: ["type": "object", "properties": ["temp": ["type": "number"]],
                                                              "required": ["temp"]], strict: true),
         #"{"type":"json_object","json_schema":{"type":"object","properties":{"temp":{"type":"number"}},"required":["temp"]}}"#),
    ] as [(ResponseFormat, String?)])
    func responseFormatsAskForJSON(format: ResponseFormat, written: String?) throws {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Weather as JSON?")])
        request.responseFormat = format
        #expect(try CohereChat.requestBody(request, model: "m")["response_format"]?.text == written)
    }

    @Test func anAnthropicClientsThinkingBudgetIsCoheres() throws {
        let request = try AnthropicMessages.request(from: JSON.parse(#"""
        {"model":"m","max_tokens":4096,"thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"2+2?"}]}
        """#))
        let body = try CohereChat.requestBody(request, model: "command-a-reasoning-08-2025")
        #expect(body["thinking"]?.text == #"{"type":"enabled","token_budget":2048}"#)
        #expect(body["max_tokens"] == 4096)
    }

    @Test func coheresOwnFieldsPassOn() throws {
        let body = try cohereBody(fromOpenAI: #"""
        {"model":"m","messages":[{"role":"user","content":"Hi"}],"safety_mode":"STRICT","thinking":{"type":"disabled"}}
        """#)
        #expect(body["safety_mode"] == "STRICT")
        #expect(body["thinking"]?.text == #"{"type":"disabled"}"#)
    }

    // MARK: Refusals

    struct Refusal: Sendable, CustomTestStringConvertible {
        var label: String
        /// The client's body: OpenAI's format, or Anthropic's when `anthropic`.
        var body: String
        var anthropic = false
        var param: String
        var testDescription: String { label }
    }

    static let refusals: [Refusal] = [
        Refusal(label: "several choices",
                body: #"{"model":"m","messages":[{"role":"user","content":"hi"}],"n":2}"#, param: "n"),
        Refusal(label: "one tool call at a time",
                body: #"{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"parallel_tool_calls":false}"#,
                param: "parallel_tool_calls"),
        Refusal(label: "a named function to call",
                body: #"{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"f"}}}"#,
                param: "tool_choice"),
        Refusal(label: "an Anthropic client's named tool",
                body: #"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"f"}}"#,
                anthropic: true, param: "tool_choice"),
        Refusal(label: "a field Konnect does not model",
                body: #"{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true}"#, param: "logprobs"),
        Refusal(label: "a participant name",
                body: #"{"model":"m","messages":[{"role":"user","name":"alice","content":"hi"}]}"#, param: "messages[0].name"),
        Refusal(label: "adaptive thinking",
                body: #"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"thinking":{"type":"adaptive"}}"#,
                anthropic: true, param: "thinking.type"),
        Refusal(label: "an image in a tool result",
                body: #"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"Chart?"},{"role":"assistant","content":[{"type":"tool_use","id":"chart_1","name":"chart","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"chart_1","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}]}]}"#,
                anthropic: true, param: "messages[2].content[0]"),
    ]

    @Test(arguments: refusals)
    func requestsCohereCannotHonourNameTheField(refusal: Refusal) throws {
        let json = try JSON.parse(refusal.body)
        let request = try refusal.anthropic ? AnthropicMessages.request(from: json) : OpenAIChat.request(from: json)
        let error = cohereBodyError(request)
        #expect(error?.param == refusal.param)
        #expect(error?.kind == .invalidRequest)
        #expect(error?.status == 400)
        #expect(error?.allowsFallback == false)
        #expect(error?.message.hasPrefix(refusal.param + ": ") == true, "\(error?.message ?? "accepted")")
    }

    @Test func anImageOutsideAUserMessageIsRefused() {
        let request = ChatRequest(model: "m", messages: [
            ChatMessage(role: .system, content: [.text("Describe images."), .image(url: "https://example.com/a.png", detail: nil)]),
            ChatMessage(role: .user, text: "Hi"),
        ])
        #expect(cohereBodyError(request)?.message == "messages[0].content[1]: cohere takes images in user messages only")
    }

    @Test func aToolResultWithoutItsCallIsRefused() {
        let request = ChatRequest(model: "m", messages: [
            ChatMessage(role: .user, text: "Weather?"), ChatMessage(role: .tool, content: [.text("18C")]),
        ])
        #expect(cohereBodyError(request)?.param == "messages[1].tool_call_id")
    }
}

// MARK: - Responses

@Suite struct CohereResponseTests {
    static let toolCallAnswer = #"""
    {
      "id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
      "message": {
        "role": "assistant",
        "tool_plan": "I will look up the weather in Paris and Lyon.",
        "tool_calls": [
          {"id": "get_weather_776n8ctsgycn", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
          {"id": "get_weather_1ndc3p9ybxg7", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Lyon\",\"unit\":\"c\"}"}}
        ]
      },
      "finish_reason": "TOOL_CALL",
      "usage": {
        "billed_units": {"input_tokens": 37, "output_tokens": 28},
        "tokens": {"input_tokens": 1024, "output_tokens": 70},
        "cached_tokens": 448
      }
    }
    """#

    @Test func aToolCallAnswerIsRead() throws {
        let response = try cohereResponse(Self.toolCallAnswer)
        #expect(response.id == "c14c80c3-18eb-4519-9460-6c92edd8cfb4")
        // Cohere names no model; the gateway fills in the deployment's.
        #expect(response.model == "")
        let choice = try #require(response.choices.first)
        #expect(response.choices.count == 1)
        #expect(choice.finishReason == .toolCalls)
        // The plan is kept as reasoning, not lost.
        #expect(choice.message.content == [.thinking("I will look up the weather in Paris and Lyon.", signature: nil)])
        #expect(choice.message.toolCalls == [
            ToolCall(id: "get_weather_776n8ctsgycn", name: "get_weather", arguments: #"{"city":"Paris"}"#),
            ToolCall(id: "get_weather_1ndc3p9ybxg7", name: "get_weather", arguments: #"{"city":"Lyon","unit":"c"}"#),
        ])
        // The model's own counts, with the cached part of the prompt.
        #expect(response.usage == Usage(inputTokens: 1024, outputTokens: 70, cachedInputTokens: 448))
    }

    @Test func anOpenAIClientSeesThePlanCallsAndUsage() throws {
        let body = OpenAIChat.responseBody(try cohereResponse(Self.toolCallAnswer))
        let choice = try #require(body["choices"]?.array?.first)
        #expect(choice["finish_reason"] == "tool_calls")
        #expect(choice["message"]?["reasoning_content"] == "I will look up the weather in Paris and Lyon.")
        #expect(choice["message"]?["tool_calls"]?.array?.map { $0["id"]?.string } == ["get_weather_776n8ctsgycn", "get_weather_1ndc3p9ybxg7"])
        #expect(body["usage"]?["prompt_tokens"] == 1024)
        #expect(body["usage"]?["completion_tokens"] == 70)
    }

    @Test func thePlanGoesBackWithTheCallsOnAnAnthropicClientsNextTurn() throws {
        // An Anthropic client keeps the thinking block with the tool_use blocks and sends them back.
        let answer = AnthropicMessages.responseBody(try cohereResponse(Self.toolCallAnswer))
        let content = try #require(answer["content"]?.array)
        let nextTurn: JSON = ["model": "m", "max_tokens": 100, "messages": [
            ["role": "user", "content": "Weather in Paris and Lyon?"],
            ["role": "assistant", "content": .array(content)],
            ["role": "user", "content": [
                ["type": "tool_result", "tool_use_id": "get_weather_776n8ctsgycn", "content": "18C"],
                ["type": "tool_result", "tool_use_id": "get_weather_1ndc3p9ybxg7", "content": "21C"],
            ]],
        ]]
        let body = try CohereChat.requestBody(AnthropicMessages.request(from: nextTurn), model: "command-a-03-2025")
        let messages = try #require(body["messages"]?.array)
        #expect(messages.count == 4)
        #expect(messages[1].text == #"{"role":"assistant","tool_plan":"I will look up the weather in Paris and Lyon.","tool_calls":[{"id":"get_weather_776n8ctsgycn","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"get_weather_1ndc3p9ybxg7","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Lyon\",\"unit\":\"c\"}"}}]}"#)
        #expect(messages[2].text == #"{"role":"tool","tool_call_id":"get_weather_776n8ctsgycn","content":"18C"}"#)
        #expect(messages[3].text == #"{"role":"tool","tool_call_id":"get_weather_1ndc3p9ybxg7","content":"21C"}"#)
    }

    @Test func aReasoningAnswerIsRead() throws {
        let response = try cohereResponse(#"""
        {"id":"53bcb235-5179-4a91-a578-cb372b5430bc","message":{"role":"assistant","content":[
            {"type":"thinking","thinking":"Paris 18C, Lyon 21C: Lyon is warmer."},
            {"type":"text","text":"Lyon is warmer (21C)."}]},
         "finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":8,"output_tokens":578},"tokens":{"input_tokens":1394,"output_tokens":582},"cached_tokens":1344}}
        """#)
        let choice = try #require(response.choices.first)
        #expect(choice.message.content == [.thinking("Paris 18C, Lyon 21C: Lyon is warmer.", signature: nil), .text("Lyon is warmer (21C).")])
        #expect(choice.message.toolCalls.isEmpty)
        #expect(choice.finishReason == .stop)
        #expect(response.usage == Usage(inputTokens: 1394, outputTokens: 582, cachedInputTokens: 1344))
    }

    @Test(arguments: [
        ("COMPLETE", FinishReason.stop, "stop", "end_turn"),
        ("STOP_SEQUENCE", .stopSequence(nil), "stop", "stop_sequence"),
        ("MAX_TOKENS", .length, "length", "max_tokens"),
        ("TOOL_CALL", .toolCalls, "tool_calls", "tool_use"),
        ("ERROR", .other("error"), "error", "error"),
        ("TIMEOUT", .other("timeout"), "timeout", "timeout"),
        ("USER_CANCEL", .other("user_cancel"), "user_cancel", "user_cancel"),
    ] as [(String, FinishReason, String, String)])
    func finishReasonsAreKeptAsPreciseAsCohereSaidThem(word: String, reason: FinishReason, openAIWord: String, anthropicWord: String) throws {
        let response = try cohereResponse(#"""
        {"id":"r","message":{"role":"assistant","content":[{"type":"text","text":"ok"}]},"finish_reason":"\#(word)","usage":{"tokens":{"input_tokens":5,"output_tokens":1}}}
        """#)
        #expect(response.choices.first?.finishReason == reason)
        #expect(response.choices.first?.message.text == "ok")
        // A failed or timed-out generation is not passed off as a normal stop.
        #expect(OpenAIChat.responseBody(response)["choices"]?.array?.first?["finish_reason"] == .string(openAIWord))
        #expect(AnthropicMessages.responseBody(response)["stop_reason"] == .string(anthropicWord))
    }

    @Test(arguments: [
        (#"{"billed_units":{"input_tokens":37,"output_tokens":28},"tokens":{"input_tokens":1024,"output_tokens":70}}"#,
         Usage(inputTokens: 1024, outputTokens: 70)),
        (#"{"billed_units":{"input_tokens":37,"output_tokens":28}}"#, Usage(inputTokens: 37, outputTokens: 28)),
        // Cached tokens are counted among `tokens`, not among the billed ones.
        (#"{"billed_units":{"input_tokens":37,"output_tokens":28},"cached_tokens":448}"#, Usage(inputTokens: 37, outputTokens: 28)),
        (#"{"tokens":{"input_tokens":100,"output_tokens":3},"cached_tokens":448}"#, Usage(inputTokens: 100, outputTokens: 3, cachedInputTokens: 100)),
        ("{}", nil),
    ] as [(String, Usage?)])
    func usageComesFromTokensElseBilledUnits(usage: String, read: Usage?) throws {
        let response = try cohereResponse(#"{"id":"r","message":{"role":"assistant","content":[]},"finish_reason":"COMPLETE","usage":\#(usage)}"#)
        #expect(response.usage == read)
    }

    @Test(arguments: ["null", ""])
    func aCallWithoutArgumentsHasAnEmptyObject(arguments: String) throws {
        let response = try cohereResponse(#"""
        {"id":"r","message":{"role":"assistant","tool_calls":[{"id":"get_time_1","type":"function","function":{"name":"get_time","arguments":"\#(arguments)"}}]},"finish_reason":"TOOL_CALL"}
        """#)
        #expect(response.choices.first?.message.toolCalls == [ToolCall(id: "get_time_1", name: "get_time", arguments: "{}")])
        #expect(response.usage == nil)
    }

    @Test(arguments: ["{}", #"{"id":"r","finish_reason":"COMPLETE"}"#, "[]", "<html>"])
    func anAnswerWithoutAMessageIsAProviderFailure(body: String) {
        let error = #expect(throws: AIError.self) { try cohereResponse(body) }
        #expect(error?.kind == .server)
        #expect(error?.allowsFallback == true)
    }
}

// MARK: - Streams

@Suite struct CohereStreamDecoderTests {
    /// A tool-calling turn as Cohere streams it: the plan, then two calls in pieces.
    static let callChunks = [
        cohereEvent("message-start", #"{"id":"2941521a-b87a-45f6-9b0d-235fd66c3025","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}"#),
        cohereEvent("tool-plan-delta", #"{"type":"tool-plan-delta","delta":{"message":{"tool_plan":"I will check"}}}"#),
        cohereEvent("tool-plan-delta", #"{"type":"tool-plan-delta","delta":{"message":{"tool_plan":" the weather in Paris and Lyon."}}}"#),
        cohereEvent("tool-call-start", #"{"type":"tool-call-start","index":0,"delta":{"message":{"tool_calls":{"id":"get_weather_e8p4pn45zt0t","type":"function","function":{"name":"get_weather","arguments":""}}}}}"#),
        cohereEvent("tool-call-delta", #"{"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":"{\""}}}}}"#),
        cohereEvent("tool-call-delta", #"{"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":"city"}}}}}"#),
        cohereEvent("tool-call-delta", #"{"type":"tool-call-delta","index":0,"delta":{"message":{"tool_calls":{"function":{"arguments":"\": \"Paris\"}"}}}}}"#),
        cohereEvent("tool-call-end", #"{"type":"tool-call-end","index":0}"#),
        cohereEvent("tool-call-start", #"{"type":"tool-call-start","index":1,"delta":{"message":{"tool_calls":{"id":"get_weather_pyxssbwnq9fq","type":"function","function":{"name":"get_weather","arguments":""}}}}}"#),
        cohereEvent("tool-call-delta", #"{"type":"tool-call-delta","index":1,"delta":{"message":{"tool_calls":{"function":{"arguments":"{\"city\": "}}}}}"#),
        cohereEvent("tool-call-delta", #"{"type":"tool-call-delta","index":1,"delta":{"message":{"tool_calls":{"function":{"arguments":"\"Lyon\"}"}}}}}"#),
        cohereEvent("tool-call-end", #"{"type":"tool-call-end","index":1}"#),
        cohereEvent("message-end", #"{"type":"message-end","delta":{"finish_reason":"TOOL_CALL","usage":{"billed_units":{"input_tokens":119,"output_tokens":44},"tokens":{"input_tokens":1549,"output_tokens":95},"cached_tokens":1504}}}"#),
    ]
    static let callStream = callChunks.joined()

    static let callEvents: [ChatStreamEvent] = [
        .start(id: "2941521a-b87a-45f6-9b0d-235fd66c3025", model: "", usage: nil),
        .thinking("I will check"),
        .thinking(" the weather in Paris and Lyon."),
        .toolCallStart(index: 0, id: "get_weather_e8p4pn45zt0t", name: "get_weather"),
        .toolCallArguments(index: 0, fragment: #"{""#),
        .toolCallArguments(index: 0, fragment: "city"),
        .toolCallArguments(index: 0, fragment: #"": "Paris"}"#),
        .toolCallStart(index: 1, id: "get_weather_pyxssbwnq9fq", name: "get_weather"),
        .toolCallArguments(index: 1, fragment: #"{"city": "#),
        .toolCallArguments(index: 1, fragment: #""Lyon"}"#),
        .finish(.toolCalls),
        .usage(Usage(inputTokens: 1549, outputTokens: 95, cachedInputTokens: 1504)),
    ]

    /// A reasoning model's answer: thinking, then text, with a citation between.
    static let textStream = [
        cohereEvent("message-start", #"{"id":"c9117d7f-a7e4-499f-b643-a2a1e139687b","type":"message-start","delta":{"message":{"role":"assistant","content":[],"tool_plan":"","tool_calls":[],"citations":[]}}}"#),
        cohereEvent("content-start", #"{"type":"content-start","index":0,"delta":{"message":{"content":{"type":"thinking","thinking":""}}}}"#),
        cohereEvent("content-delta", #"{"type":"content-delta","index":0,"delta":{"message":{"content":{"thinking":"Paris 18C, Lyon 21C."}}}}"#),
        cohereEvent("content-end", #"{"type":"content-end","index":0}"#),
        cohereEvent("content-start", #"{"type":"content-start","index":1,"delta":{"message":{"content":{"type":"text","text":""}}}}"#),
        cohereEvent("content-delta", #"{"type":"content-delta","index":1,"delta":{"message":{"content":{"text":"Lyon"}}}}"#),
        cohereEvent("citation-start", #"{"type":"citation-start","index":0,"delta":{"message":{"citations":{"start":0,"end":4,"text":"Lyon","sources":[{"type":"tool","id":"get_weather_pyxssbwnq9fq:0","tool_output":{"temp_c":"21"}}]}}}}"#),
        cohereEvent("citation-end", #"{"type":"citation-end","index":0}"#),
        cohereEvent("content-delta", #"{"type":"content-delta","index":1,"delta":{"message":{"content":{"text":" is warmer."}}}}"#),
        cohereEvent("content-end", #"{"type":"content-end","index":1}"#),
        cohereEvent("message-end", #"{"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"billed_units":{"input_tokens":8,"output_tokens":50},"tokens":{"input_tokens":1394,"output_tokens":54}}}}"#),
    ].joined()

    static let textEvents: [ChatStreamEvent] = [
        .start(id: "c9117d7f-a7e4-499f-b643-a2a1e139687b", model: "", usage: nil),
        .thinking("Paris 18C, Lyon 21C."),
        .text("Lyon"),
        .text(" is warmer."),
        .finish(.stop),
        .usage(Usage(inputTokens: 1394, outputTokens: 54)),
    ]

    @Test func aToolCallingStreamGivesItsEvents() throws {
        let events = try decodeCohereStream(Self.callStream)
        #expect(events == Self.callEvents)
        #expect(toolArguments(events) == [0: #"{"city": "Paris"}"#, 1: #"{"city": "Lyon"}"#])
    }

    @Test func oneByteAtATimeGivesTheSameEvents() throws {
        #expect(try decodeCohereStream(oneByteAtATime(Array(Self.callStream.utf8))) == Self.callEvents)
        #expect(try decodeCohereStream(oneByteAtATime(Array(Self.textStream.utf8))) == Self.textEvents)
    }

    @Test func aReasoningStreamGivesItsEvents() throws {
        #expect(try decodeCohereStream(Self.textStream) == Self.textEvents)
    }

    @Test func eventsWithoutNamesOrWithCRLFGiveTheSameEvents() throws {
        let dataOnly = Self.callStream.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("event: ") }.joined(separator: "\n")
        #expect(try decodeCohereStream(dataOnly) == Self.callEvents)
        let crlf = Self.textStream.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\r\n")
        #expect(try decodeCohereStream(crlf) == Self.textEvents)
    }

    @Test func anOpenAIClientSeesTheCallsFinishAndUsage() throws {
        var encoder = OpenAIChatStreamEncoder(includeUsage: true, created: 1)
        var out = ByteBuffer()
        for event in try decodeCohereStream(Self.callStream) { encoder.encode(event, into: &out) }
        encoder.finish(into: &out)
        let events = try parseServerSentEvents([Array(out.readableBytesView)]).events
        #expect(events.last?.data == "[DONE]")
        let chunks = try events.dropLast().map { try JSON.parse($0.data) }
        let deltas = chunks.compactMap { $0["choices"]?.array?.first?["delta"] }
        #expect(deltas.compactMap { $0["reasoning_content"]?.string }.joined() == "I will check the weather in Paris and Lyon.")
        let calls = deltas.compactMap { $0["tool_calls"]?.array?.first }
        #expect(calls.compactMap { $0["id"]?.string } == ["get_weather_e8p4pn45zt0t", "get_weather_pyxssbwnq9fq"])
        #expect(calls.map { $0["index"]?.integer } == [0, 0, 0, 0, 1, 1, 1])
        #expect(chunks.compactMap { $0["choices"]?.array?.first?["finish_reason"]?.string } == ["tool_calls"])
        #expect(chunks.last?["usage"]?.text == #"{"prompt_tokens":1549,"completion_tokens":95,"total_tokens":1644,"prompt_tokens_details":{"cached_tokens":1504},"completion_tokens_details":{"reasoning_tokens":0}}"#)
    }

    @Test func aCallWithoutArgumentsGetsAnEmptyObject() throws {
        let stream = [
            cohereEvent("message-start", #"{"id":"m","type":"message-start","delta":{"message":{"role":"assistant"}}}"#),
            cohereEvent("tool-call-start", #"{"type":"tool-call-start","index":0,"delta":{"message":{"tool_calls":{"id":"get_time_1","type":"function","function":{"name":"get_time","arguments":""}}}}}"#),
            cohereEvent("tool-call-end", #"{"type":"tool-call-end","index":0}"#),
            cohereEvent("message-end", #"{"type":"message-end","delta":{"finish_reason":"TOOL_CALL"}}"#),
        ].joined()
        #expect(try decodeCohereStream(stream) == [
            .start(id: "m", model: "", usage: nil),
            .toolCallStart(index: 0, id: "get_time_1", name: "get_time"),
            .toolCallArguments(index: 0, fragment: "{}"),
            .finish(.toolCalls),
        ])
    }

    @Test(arguments: [("ERROR", "error"), ("TIMEOUT", "timeout")])
    func aFailedGenerationIsNotPassedOffAsAStop(word: String, reason: String) throws {
        let stream = Self.callChunks[0]
            + cohereEvent("message-end", #"{"type":"message-end","delta":{"error":"generation failed","finish_reason":"\#(word)","usage":{"tokens":{"input_tokens":12,"output_tokens":0}}}}"#)
        // The client's stream ends in an error, not in a finish that looks like an answer.
        #expect(try decodeCohereStream(stream) == [
            .start(id: "2941521a-b87a-45f6-9b0d-235fd66c3025", model: "", usage: nil),
            .usage(Usage(inputTokens: 12, outputTokens: 0)),
            .error(AIError(.server, "generation failed")),
        ])
    }

    @Test func aMessageEndWithOnlyAnErrorIsAnError() throws {
        let stream = Self.callChunks[0] + cohereEvent("message-end", #"{"type":"message-end","delta":{"error":"internal error"}}"#)
        let (events, finishError) = try decodeCohereStreamUntilFinish(stream)
        #expect(finishError == nil)
        #expect(events.count == 2)
        #expect(events.last == .error(AIError(.server, "internal error")))
    }

    @Test func anErrorObjectInTheStreamEndsIt() throws {
        let stream = Self.callChunks[0] + "data: {\"message\":\"too many tokens\"}\n\n" + Self.callChunks[1]
        let (events, finishError) = try decodeCohereStreamUntilFinish(stream)
        #expect(finishError == nil)
        #expect(events == [.start(id: "2941521a-b87a-45f6-9b0d-235fd66c3025", model: "", usage: nil),
                           .error(AIError(.server, "too many tokens"))])
    }

    static let cutStreams: [(String, String)] = [
        ("empty body", ""),
        ("after message-start", callChunks[0]),
        ("inside a tool call", callChunks[0..<6].joined()),
        ("inside message-end", String(callStream.dropLast(40))),
        ("before message-end's blank line", String(callStream.dropLast(1))),
    ]

    @Test(arguments: cutStreams)
    func aStreamCutBeforeMessageEndIsAnError(label: String, text: String) throws {
        let (_, error) = try decodeCohereStreamUntilFinish(text)
        #expect(error?.kind == .server, "\(label)")
        #expect(error?.allowsFallback == true)
    }

    @Test func anEventThatIsNotJSONFailsTheStream() {
        let error = #expect(throws: AIError.self) { try decodeCohereStream(cohereEvent("message-start", "{oops")) }
        #expect(error?.kind == .server)
    }
}

// MARK: - Errors

@Suite struct CohereErrorTests {
    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var label: String
        var status: Int
        var body: String
        var kind: AIError.Kind
        var clientStatus: Int
        var message: String
        var testDescription: String { label }
    }

    static let cases: [ErrorCase] = [
        ErrorCase(label: "invalid request", status: 400,
                  body: #"{"id":"9a5d4fd1-5c1b-4fb4-a7bf-9e4d7f3c61a3","message":"invalid request: message must be at least 1 token long or tool results must be specified."}"#,
                  kind: .invalidRequest, clientStatus: 400,
                  message: "invalid request: message must be at least 1 token long or tool results must be specified."),
        ErrorCase(label: "a wrong key", status: 401, body: #"{"message":"invalid api token"}"#,
                  kind: .authentication, clientStatus: 401, message: "invalid api token"),
        ErrorCase(label: "out of credit", status: 402,
                  body: #"{"message":"Please add or update your payment method at https://dashboard.cohere.com/billing"}"#,
                  kind: .rateLimited, clientStatus: 402,
                  message: "Please add or update your payment method at https://dashboard.cohere.com/billing"),
        ErrorCase(label: "no such model", status: 404, body: #"{"message":"model 'command-z' not found, make sure the correct model ID was used and that you have access to the model."}"#,
                  kind: .notFound, clientStatus: 404,
                  message: "model 'command-z' not found, make sure the correct model ID was used and that you have access to the model."),
        ErrorCase(label: "unprocessable", status: 422, body: #"{"message":"No valid tool call or response generated"}"#,
                  kind: .invalidRequest, clientStatus: 422, message: "No valid tool call or response generated"),
        ErrorCase(label: "rate limited", status: 429,
                  body: #"{"message":"You are using a Trial key, which is limited to 20 API calls / minute."}"#,
                  kind: .rateLimited, clientStatus: 429, message: "You are using a Trial key, which is limited to 20 API calls / minute."),
        ErrorCase(label: "an invalid token", status: 498, body: #"{"message":"invalid token"}"#,
                  kind: .authentication, clientStatus: 401, message: "invalid token"),
        ErrorCase(label: "cancelled", status: 499, body: #"{"message":"request cancelled"}"#,
                  kind: .server, clientStatus: 502, message: "request cancelled"),
        ErrorCase(label: "internal", status: 500,
                  body: #"{"id":"e1b9c8a2","message":"internal server error, this has been reported to our developers. id e1b9c8a2"}"#,
                  kind: .server, clientStatus: 500, message: "internal server error, this has been reported to our developers. id e1b9c8a2"),
        ErrorCase(label: "unavailable", status: 503, body: #"{"message":"service unavailable"}"#,
                  kind: .overloaded, clientStatus: 503, message: "service unavailable"),
        ErrorCase(label: "not JSON", status: 502, body: "<html>Bad Gateway</html>",
                  kind: .server, clientStatus: 502, message: "The provider answered 502: <html>Bad Gateway</html>"),
        ErrorCase(label: "empty", status: 500, body: "", kind: .server, clientStatus: 500, message: "The provider answered 500"),
    ]

    @Test(arguments: cases)
    func errorsAreReadByTheirStatus(errorCase: ErrorCase) {
        let error = CohereProvider().error(status: errorCase.status, headers: [], body: ByteBuffer(string: errorCase.body))
        #expect(error.kind == errorCase.kind)
        #expect(error.status == errorCase.clientStatus)
        #expect(error.message == errorCase.message)
        #expect(error.code == nil)
        #expect(error.retryAfter == nil)
    }

    @Test func aRateLimitKeepsRetryAfterAndAllowsFallback() {
        let error = CohereProvider().error(status: 429, headers: [("Retry-After", "7")],
                                           body: ByteBuffer(string: #"{"message":"too many requests"}"#))
        #expect(error.retryAfter == 7)
        #expect(error.allowsFallback)
        #expect(OpenAIChat.errorBody(error).status == 429)
    }

    @Test func aClientsMistakeAllowsNoFallbackButRunningOutOfCreditDoes() {
        let invalid = CohereProvider().error(status: 400, headers: [], body: ByteBuffer(string: #"{"message":"bad"}"#))
        let noCredit = CohereProvider().error(status: 402, headers: [], body: ByteBuffer(string: #"{"message":"billing"}"#))
        #expect(!invalid.allowsFallback)
        #expect(noCredit.allowsFallback)
    }
}

// MARK: - Provider

@Suite struct CohereProviderTests {
    @Test func itIsRegisteredAsCohere() {
        #expect(AIProviders.named("cohere")?.name == "cohere")
        #expect(CohereProvider().streamContentType == "event-stream")
    }

    @Test(arguments: [
        (false, nil, "https://api.cohere.com/v2/chat"),
        (true, nil, "https://api.cohere.com/v2/chat"),
        (false, "http://localhost:9090/", "http://localhost:9090/v2/chat"),
        (true, "https://cohere-proxy.internal/api", "https://cohere-proxy.internal/api/v2/chat"),
    ] as [(Bool, String?, String)])
    func theRequestGoesToV2Chat(stream: Bool, baseURL: String?, url: String) throws {
        var request = ChatRequest(model: "my-alias", messages: [ChatMessage(role: .user, text: "Hi")])
        request.stream = stream
        let sent = try CohereProvider().chatRequest(
            request, deployment: AIDeployment(provider: "cohere", model: "command-a-03-2025", baseURL: baseURL, apiKey: "co-test"))
        #expect(sent.method == "POST")
        #expect(sent.url == url)
        #expect(sent.headers.contains { $0 == ("Authorization", "Bearer co-test") })
        #expect(sent.headers.contains { $0 == ("Content-Type", "application/json") })
        // Streaming is the body's business; the deployment's model is asked, not the alias.
        #expect(try JSON.parse(sent.body).text
            == #"{"model":"command-a-03-2025","messages":[{"role":"user","content":"Hi"}],"stream":\#(stream)}"#)
    }

    @Test func withoutAKeyNoAuthorizationIsSent() throws {
        let request = ChatRequest(model: "command-r-08-2024", messages: [ChatMessage(role: .user, text: "Hi")])
        let sent = try CohereProvider().chatRequest(request, deployment: AIDeployment(provider: "cohere", model: ""))
        #expect(!sent.headers.contains { $0.0 == "Authorization" })
        // Without a deployment model, the request's is asked.
        #expect(try JSON.parse(sent.body)["model"] == "command-r-08-2024")
    }

    @Test func aRequestCohereCannotHonourIsRefusedBeforeSending() {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        request.otherFields = ["logit_bias": ["50256": -100]]
        let error = #expect(throws: AIError.self) {
            try CohereProvider().chatRequest(request, deployment: AIDeployment(provider: "cohere", model: "command-a-03-2025"))
        }
        #expect(error?.param == "logit_bias")
        #expect(error?.message == "logit_bias: is not supported by cohere")
    }

    @Test func anAnswerThatIsNotJSONIsAProviderFailure() {
        let error = #expect(throws: AIError.self) { try CohereProvider().chatResponse(ByteBuffer(string: "<html>")) }
        #expect(error?.kind == .server)
    }
}

// MARK: - Embeddings

@Suite struct CohereEmbeddingsTests {
    @Test func theTextsGoToV2EmbedAsDocumentsWithFloatVectors() throws {
        let request = EmbeddingsRequest(model: "my-embedder", inputs: ["hello there", "hi"], dimensions: 512, encoding: .base64,
                                        user: "user-7")
        let sent = try CohereProvider().embeddingsRequest(
            request, deployment: AIDeployment(provider: "cohere", model: "embed-v4.0", apiKey: "co-test"))
        #expect(sent.method == "POST")
        #expect(sent.url == "https://api.cohere.com/v2/embed")
        #expect(sent.headers.map(\.0) == ["Content-Type", "Authorization"])
        #expect(sent.headers[0].1 == "application/json")
        #expect(sent.headers[1].1 == "Bearer co-test")
        // Floats whatever the client's encoding (applied on the way back); no end-user field.
        #expect(String(buffer: sent.body) == #"{"model":"embed-v4.0","texts":["hello there","hi"],"input_type":"search_document","embedding_types":["float"],"output_dimension":512}"#)
    }

    @Test(arguments: ["search_query", "classification", "clustering", "search_document"])
    func theDeploymentChoosesTheInputType(inputType: String) throws {
        let sent = try CohereProvider().embeddingsRequest(
            EmbeddingsRequest(model: "alias", inputs: ["hello"]),
            deployment: AIDeployment(provider: "cohere", model: "embed-english-v3.0", baseURL: "http://localhost:9090/",
                                     options: ["input_type": inputType]))
        #expect(sent.url == "http://localhost:9090/v2/embed")
        #expect(sent.headers.map(\.0) == ["Content-Type"])
        #expect(String(buffer: sent.body) == #"{"model":"embed-english-v3.0","texts":["hello"],"input_type":"\#(inputType)","embedding_types":["float"]}"#)
    }

    @Test func anUnknownInputTypeIsAConfigurationError() {
        let error = #expect(throws: AIError.self) {
            try CohereProvider().embeddingsRequest(
                EmbeddingsRequest(model: "alias", inputs: ["hello"]),
                deployment: AIDeployment(provider: "cohere", model: "embed-v4.0", options: ["input_type": "image"]))
        }
        #expect(error?.status == 500)
        #expect(error?.param == "model.options.input_type")
        #expect(error?.allowsFallback == true)
    }

    @Test(arguments: ["embed-english-v3.0", "embed-multilingual-light-v3.0"])
    func dimensionsAreRefusedForModelsOfOneSize(model: String) {
        let error = #expect(throws: AIError.self) {
            try CohereProvider().embeddingsRequest(EmbeddingsRequest(model: "alias", inputs: ["hello"], dimensions: 256),
                                                   deployment: AIDeployment(provider: "cohere", model: model))
        }
        #expect(error?.kind == .invalidRequest)
        #expect(error?.param == "dimensions")
        #expect(error?.allowsFallback == false)
    }

    @Test func theFloatVectorsAndTheBilledTokensAreRead() throws {
        let answer = try CohereProvider().embeddingsResponse(ByteBuffer(string: #"""
        {
          "id": "da6e531f-54c6-4a73-bf92-f60566d8d753",
          "embeddings": {"float": [[0.25, -0.5, 3], [0.125, 0, -2.5]]},
          "texts": ["hello there", "hi"],
          "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 3}},
          "response_type": "embeddings_by_type"
        }
        """#))
        #expect(answer == EmbeddingsResponse(model: "", vectors: [[0.25, -0.5, 3], [0.125, 0, -2.5]],
                                             usage: Usage(inputTokens: 3, outputTokens: 0)))
    }

    @Test func withoutBilledUnitsTheUsageIsLeftToEstimate() throws {
        let answer = try CohereProvider().embeddingsResponse(ByteBuffer(string: #"{"id":"x","embeddings":{"float":[[1,2]]},"texts":["hi"]}"#))
        #expect(answer.vectors == [[1, 2]])
        #expect(answer.usage == Usage(inputTokens: 0, outputTokens: 0, estimated: true))
    }

    @Test(arguments: [
        ("{}", "The provider's answer has no embeddings"),
        // v1's shape, a plain list, is not what v2 answers with `embedding_types`.
        (#"{"embeddings": [[0.5]]}"#, "The provider's answer has no float embeddings"),
        (#"{"embeddings": {"int8": [[1]]}}"#, "The provider's answer has no float embeddings"),
        (#"{"embeddings": {"float": {"0": [1]}}}"#, "The provider's answer has no list of vectors at embeddings.float"),
        (#"{"embeddings": {"float": [[1], 2]}}"#, "The provider's answer has no vector at embeddings.float[1]"),
        (#"{"embeddings": {"float": [[1, true]]}}"#, "The provider's answer has a boolean at embeddings.float[0][1] instead of a number"),
        ("<html>", "The provider's answer is not JSON"),
    ])
    func aMalformedAnswerIsAProviderFailure(body: String, message: String) {
        let error = #expect(throws: AIError.self) { try CohereProvider().embeddingsResponse(ByteBuffer(string: body)) }
        #expect(error?.kind == .server)
        #expect(error?.message == message)
    }
}
