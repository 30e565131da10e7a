import KonnectAI
import NIOCore
import Testing

// MARK: - Helpers

/// The error `AnthropicMessages.request(from:)` gives for `text`, or nil when it reads.
private func anthropicRequestError(_ text: String) throws -> AIError? {
    let body = try JSON.parse(text)
    return thrownAIError { () throws(AIError) in
        _ = try AnthropicMessages.request(from: body)
    }
}

/// The error `AnthropicMessages.requestBody` gives for `request`, or nil when it writes one.
private func anthropicBodyError(_ request: ChatRequest) -> AIError? {
    return thrownAIError { () throws(AIError) in
        _ = try AnthropicMessages.requestBody(request, model: "claude-sonnet-4-5-20250929", defaultMaxTokens: 4096)
    }
}

/// The Anthropic request body for what an OpenAI client sent.
private func anthropicBody(fromOpenAI text: String, defaultMaxTokens: Int = 4096) throws -> JSON {
    let request = try OpenAIChat.request(from: JSON.parse(text))
    return try AnthropicMessages.requestBody(request, model: "claude-sonnet-4-5-20250929", defaultMaxTokens: defaultMaxTokens)
}

/// A tool message answering `id` with `text`.
private func toolResult(_ id: String, _ text: String, isError: Bool = false) -> ChatMessage {
    var message = ChatMessage(role: .tool, content: [.text(text)], toolCallID: id)
    message.isError = isError
    return message
}

/// Feeds `pieces` to a new Anthropic stream decoder, then finishes it.
private func decodeAnthropicStream(_ pieces: [[UInt8]]) throws(AIError) -> [ChatStreamEvent] {
    try decodeStream(AnthropicMessagesStreamDecoder(), pieces)
}

private func decodeAnthropicStream(_ text: String) throws(AIError) -> [ChatStreamEvent] {
    try decodeAnthropicStream([Array(text.utf8)])
}

/// The events a decoder gives for `text` before its end, and the error `finish()` throws.
private func decodeAnthropicStreamUntilFinish(_ text: String) throws -> (events: [ChatStreamEvent], finishError: AIError?) {
    try decodeStreamUntilFinish(AnthropicMessagesStreamDecoder(), text)
}

private func encodeAnthropicStream(_ events: [ChatStreamEvent]) -> ByteBuffer {
    var encoder = AnthropicMessagesStreamEncoder()
    var out = ByteBuffer()
    for event in events { encoder.encode(event, into: &out) }
    encoder.finish(into: &out)
    return out
}

/// One event of an encoder's output: its `event:` name ("" when none) and its data parsed.
private struct WrittenEvent {
    var name: String
    var data: JSON
}

/// An encoder's output read as Anthropic's SDK reads it.
private func anthropicEvents(_ out: ByteBuffer) throws -> [WrittenEvent] {
    let (events, pending) = try parseServerSentEvents([Array(out.readableBytesView)])
    #expect(!pending, "the output ends inside an event")
    return try events.map { WrittenEvent(name: $0.name ?? "", data: try JSON.parse($0.data)) }
}

/// One event of Anthropic's stream as Anthropic writes it.
private func sse(_ name: String, _ data: String) -> String { "event: \(name)\ndata: \(data)\n\n" }

// MARK: - Requests from Anthropic's clients

@Suite struct AnthropicMessagesRequestTests {
    static let realistic = #"""
    {
      "model": "claude-sonnet-4-5",
      "max_tokens": 1024,
      "system": "You are a weather assistant.",
      "messages": [
        {"role": "user", "content": [
          {"type": "text", "text": "Are these skies alike? Then get the weather in Paris and Lyon."},
          {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQSkZJRg=="}},
          {"type": "image", "source": {"type": "url", "url": "https://images.example.com/sky.png"}}
        ]},
        {"role": "assistant", "content": [
          {"type": "text", "text": "Both are clear. Checking both cities."},
          {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris", "unit": "c"}},
          {"type": "tool_use", "id": "toolu_01B", "name": "get_weather", "input": {"city": "Lyon"}}
        ]},
        {"role": "user", "content": [
          {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "18C, sunny"},
          {"type": "tool_result", "tool_use_id": "toolu_01B", "content": [{"type": "text", "text": "Station offline"}], "is_error": true},
          {"type": "text", "text": "Which is warmer?"}
        ]}
      ],
      "tools": [{"name": "get_weather", "description": "Current weather in a city",
        "input_schema": {"type": "object", "properties": {"unit": {"type": "string", "enum": ["c", "f"]}, "city": {"type": "string"}}, "required": ["city"]}}],
      "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
      "stop_sequences": ["\n\nHuman:", "END"],
      "temperature": 0.5,
      "top_p": 0.9,
      "top_k": 40,
      "metadata": {"user_id": "user-1234"},
      "stream": true,
      "thinking": {"type": "enabled", "budget_tokens": 2048},
      "service_tier": "auto"
    }
    """#

    @Test func aRealisticRequestIsRead() throws {
        let request = try AnthropicMessages.request(from: JSON.parse(Self.realistic))
        #expect(request.model == "claude-sonnet-4-5")
        // The tool results of the last turn come before its text, as OpenAI's format orders them.
        #expect(request.messages == [
            ChatMessage(role: .system, text: "You are a weather assistant."),
            ChatMessage(role: .user, content: [
                .text("Are these skies alike? Then get the weather in Paris and Lyon."),
                .image(url: "data:image/jpeg;base64,/9j/4AAQSkZJRg==", detail: nil),
                .image(url: "https://images.example.com/sky.png", detail: nil),
            ]),
            ChatMessage(role: .assistant, content: [.text("Both are clear. Checking both cities.")], toolCalls: [
                ToolCall(id: "toolu_01A", name: "get_weather", arguments: #"{"city":"Paris","unit":"c"}"#),
                ToolCall(id: "toolu_01B", name: "get_weather", arguments: #"{"city":"Lyon"}"#),
            ]),
            toolResult("toolu_01A", "18C, sunny"),
            toolResult("toolu_01B", "Station offline", isError: true),
            ChatMessage(role: .user, text: "Which is warmer?"),
        ])

        #expect(request.tools.count == 1)
        #expect(request.tools.first?.name == "get_weather")
        #expect(request.tools.first?.description == "Current weather in a city")
        // The schema reaches the model in its author's order.
        #expect(request.tools.first?.parameters?.text
            == #"{"type":"object","properties":{"unit":{"type":"string","enum":["c","f"]},"city":{"type":"string"}},"required":["city"]}"#)
        #expect(request.toolChoice == .auto)
        #expect(request.parallelToolCalls == false)
        #expect(request.maxTokens == 1024)
        #expect(request.stop == ["\n\nHuman:", "END"])
        #expect(request.temperature == 0.5)
        #expect(request.topP == 0.9)
        #expect(request.topK == 40)
        #expect(request.user == "user-1234")
        #expect(request.stream)
        // Anthropic's streams always carry usage: its clients always see it.
        #expect(request.streamUsage)
        #expect(request.seed == nil)
        #expect(request.choices == nil)
        #expect(request.responseFormat == nil)
        #expect(request.otherFields == ["thinking": ["type": "enabled", "budget_tokens": 2048], "service_tier": "auto"])
    }

    @Test func aSystemPromptOfTextBlocksIsOnePrompt() throws {
        let body = #"""
        {"model":"m","max_tokens":10,
         "system":[{"type":"text","text":"You are terse."},{"type":"text","text":"Answer in French.","cache_control":{"type":"ephemeral"}}],
         "messages":[{"role":"user","content":"Hi"}]}
        """#
        let request = try AnthropicMessages.request(from: JSON.parse(body))
        #expect(request.messages == [
            ChatMessage(role: .system, text: "You are terse.\n\nAnswer in French."),
            ChatMessage(role: .user, text: "Hi"),
        ])
    }

    @Test func aMinimalRequestHasDefaults() throws {
        let request = try AnthropicMessages.request(from: JSON.parse(
            #"{"model":"claude-haiku-4-5","max_tokens":256,"messages":[{"role":"user","content":"Hello, Claude"}]}"#))
        #expect(request.messages == [ChatMessage(role: .user, text: "Hello, Claude")])
        #expect(request.maxTokens == 256)
        #expect(!request.stream)
        #expect(request.streamUsage)
        #expect(request.tools.isEmpty)
        #expect(request.toolChoice == nil)
        #expect(request.parallelToolCalls == nil)
        #expect(request.temperature == nil)
        #expect(request.stop.isEmpty)
        #expect(request.user == nil)
        #expect(request.otherFields.isEmpty)
    }

    @Test func thinkingBlocksKeepTheirSignature() throws {
        let body = #"""
        {"model":"m","max_tokens":2048,"messages":[
          {"role":"user","content":"Weather in Paris?"},
          {"role":"assistant","content":[
            {"type":"thinking","thinking":"I need the weather tool.","signature":"EqQBCgIYAhIM1gbcDa9GJwZA"},
            {"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix"},
            {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"18C"}]}]}
        """#
        let request = try AnthropicMessages.request(from: JSON.parse(body))
        #expect(request.messages.map(\.role) == [.user, .assistant, .tool])
        #expect(request.messages[1].content == [.thinking("I need the weather tool.", signature: "EqQBCgIYAhIM1gbcDa9GJwZA")])
        #expect(request.messages[1].toolCalls == [ToolCall(id: "toolu_1", name: "get_weather", arguments: #"{"city":"Paris"}"#)])
        // A turn of tool results alone is tool messages alone: no empty user message follows.
        #expect(request.messages[2] == toolResult("toolu_1", "18C"))
    }

    @Test(arguments: [
        (#"{"type":"auto"}"#, ToolChoice.auto, nil),
        (#"{"type":"any"}"#, ToolChoice.required, nil),
        (#"{"type":"tool","name":"get_weather"}"#, ToolChoice.function("get_weather"), nil),
        (#"{"type":"none"}"#, ToolChoice.none, nil),
        (#"{"type":"any","disable_parallel_tool_use":true}"#, ToolChoice.required, false),
        (#"{"type":"tool","name":"get_weather","disable_parallel_tool_use":true}"#, ToolChoice.function("get_weather"), false),
        (#"{"type":"auto","disable_parallel_tool_use":false}"#, ToolChoice.auto, nil),
    ] as [(String, ToolChoice, Bool?)])
    func toolChoiceForms(json: String, choice: ToolChoice, parallel: Bool?) throws {
        let body = #"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"get_weather","input_schema":{"type":"object"}}],"tool_choice":\#(json)}"#
        let request = try AnthropicMessages.request(from: JSON.parse(body))
        #expect(request.toolChoice == choice)
        #expect(request.parallelToolCalls == parallel)
    }

    // MARK: Refusals

    struct Refusal: Sendable, CustomTestStringConvertible {
        var label: String
        var body: String
        var param: String
        var testDescription: String { label }
    }

    static let hi = #"{"role":"user","content":"hi"}"#
    static let callingAssistant =
        #"{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]}"#

    /// A request body with `messages` and the `extra` fields.
    static func body(messages: String = hi, _ extra: String = "") -> String {
        #"{"model":"m","max_tokens":100,"messages":[\#(messages)]\#(extra.isEmpty ? "" : "," + extra)}"#
    }

    static func user(_ blocks: String) -> String { #"{"role":"user","content":[\#(blocks)]}"# }

    static let refusals: [Refusal] = [
        Refusal(label: "body not an object", body: "[]", param: "body"),
        Refusal(label: "model missing", body: #"{"max_tokens":10,"messages":[\#(hi)]}"#, param: "model"),
        Refusal(label: "max_tokens missing", body: #"{"model":"m","messages":[\#(hi)]}"#, param: "max_tokens"),
        Refusal(label: "max_tokens 0", body: #"{"model":"m","max_tokens":0,"messages":[\#(hi)]}"#, param: "max_tokens"),
        Refusal(label: "max_tokens fractional", body: #"{"model":"m","max_tokens":10.5,"messages":[\#(hi)]}"#, param: "max_tokens"),
        Refusal(label: "messages missing", body: #"{"model":"m","max_tokens":10}"#, param: "messages"),
        Refusal(label: "messages empty", body: #"{"model":"m","max_tokens":10,"messages":[]}"#, param: "messages"),
        Refusal(label: "message not an object", body: body(messages: "42"), param: "messages[0]"),
        Refusal(label: "role system in messages", body: body(messages: #"{"role":"system","content":"Be brief."}"#),
                param: "messages[0].role"),
        Refusal(label: "role missing", body: body(messages: #"{"content":"hi"}"#), param: "messages[0].role"),
        Refusal(label: "content missing", body: body(messages: #"{"role":"user"}"#), param: "messages[0].content"),
        Refusal(label: "content a number", body: body(messages: #"{"role":"user","content":7}"#), param: "messages[0].content"),
        Refusal(label: "content an object", body: body(messages: #"{"role":"user","content":{"type":"text","text":"hi"}}"#),
                param: "messages[0].content"),
        Refusal(label: "block not an object", body: body(messages: user(#""hi""#)), param: "messages[0].content[0]"),
        Refusal(label: "block type missing", body: body(messages: user(#"{"text":"hi"}"#)), param: "messages[0].content[0].type"),
        Refusal(label: "block type unsupported", body: body(messages: user(#"{"type":"document","source":{"type":"text","data":"x"}}"#)),
                param: "messages[0].content[0].type"),
        Refusal(label: "text block without text", body: body(messages: user(#"{"type":"text"}"#)), param: "messages[0].content[0].text"),
        Refusal(label: "tool_use in a user message",
                body: body(messages: user(#"{"type":"tool_use","id":"toolu_1","name":"f","input":{}}"#)),
                param: "messages[0].content[0].type"),
        Refusal(label: "tool_result in an assistant message",
                body: body(messages: hi + #",{"role":"assistant","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"x"}]}"#),
                param: "messages[1].content[0].type"),
        Refusal(label: "tool_use input not an object",
                body: body(messages: hi + #",{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":"{}"}]}"#),
                param: "messages[1].content[0].input"),
        Refusal(label: "tool_use without id",
                body: body(messages: hi + #",{"role":"assistant","content":[{"type":"tool_use","name":"f","input":{}}]}"#),
                param: "messages[1].content[0].id"),
        Refusal(label: "tool_result without tool_use_id",
                body: body(messages: hi + "," + callingAssistant + "," + user(#"{"type":"tool_result","content":"42"}"#)),
                param: "messages[2].content[0].tool_use_id"),
        Refusal(label: "tool_result content a number",
                body: body(messages: hi + "," + callingAssistant + "," + user(#"{"type":"tool_result","tool_use_id":"toolu_1","content":42}"#)),
                param: "messages[2].content[0].content"),
        Refusal(label: "tool_result part of an unknown type",
                body: body(messages: hi + "," + callingAssistant + ","
                    + user(#"{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"ok"},{"type":"audio"}]}"#)),
                param: "messages[2].content[0].content[1].type"),
        Refusal(label: "image in an assistant message",
                body: body(messages: hi + #",{"role":"assistant","content":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}"#),
                param: "messages[1].content[0].type"),
        Refusal(label: "image without source", body: body(messages: user(#"{"type":"text","text":"look"},{"type":"image"}"#)),
                param: "messages[0].content[1].source"),
        Refusal(label: "image source type unknown",
                body: body(messages: user(#"{"type":"text","text":"look"},{"type":"image","source":{"type":"file","file_id":"file_011"}}"#)),
                param: "messages[0].content[1].source.type"),
        Refusal(label: "base64 image without media_type",
                body: body(messages: user(#"{"type":"image","source":{"type":"base64","data":"iVBORw0KGgo="}}"#)),
                param: "messages[0].content[0].source.media_type"),
        Refusal(label: "system a number", body: body(#""system":5"#), param: "system"),
        Refusal(label: "system block not text", body: body(#""system":[{"type":"text","text":"a"},{"type":"image"}]"#), param: "system[1]"),
        Refusal(label: "tools not an array", body: body(#""tools":{}"#), param: "tools"),
        Refusal(label: "tool not an object", body: body(#""tools":[1]"#), param: "tools[0]"),
        Refusal(label: "tool name missing", body: body(#""tools":[{"input_schema":{"type":"object"}}]"#), param: "tools[0].name"),
        Refusal(label: "tools[0].input_schema missing", body: body(#""tools":[{"name":"f"}]"#), param: "tools[0].input_schema"),
        Refusal(label: "second tool's input_schema not an object",
                body: body(#""tools":[{"name":"f","input_schema":{"type":"object"}},{"name":"g","input_schema":"object"}]"#),
                param: "tools[1].input_schema"),
        Refusal(label: "server tool", body: body(#""tools":[{"type":"web_search_20250305","name":"web_search"}]"#), param: "tools[0].type"),
        Refusal(label: "tool_choice a string", body: body(#""tool_choice":"auto""#), param: "tool_choice"),
        Refusal(label: "tool_choice type unknown", body: body(#""tool_choice":{"type":"required"}"#), param: "tool_choice.type"),
        Refusal(label: "tool_choice tool without name", body: body(#""tool_choice":{"type":"tool"}"#), param: "tool_choice.name"),
        Refusal(label: "disable_parallel_tool_use a string",
                body: body(#""tool_choice":{"type":"auto","disable_parallel_tool_use":"yes"}"#), param: "tool_choice.disable_parallel_tool_use"),
        Refusal(label: "stop_sequences a string", body: body(#""stop_sequences":"END""#), param: "stop_sequences"),
        Refusal(label: "stop_sequences[1] not a string", body: body(#""stop_sequences":["END",1]"#), param: "stop_sequences[1]"),
        Refusal(label: "temperature 1.5", body: body(#""temperature":1.5"#), param: "temperature"),
        Refusal(label: "temperature negative", body: body(#""temperature":-0.1"#), param: "temperature"),
        Refusal(label: "top_p 1.2", body: body(#""top_p":1.2"#), param: "top_p"),
        Refusal(label: "top_k 0", body: body(#""top_k":0"#), param: "top_k"),
        Refusal(label: "stream a string", body: body(#""stream":"true""#), param: "stream"),
        Refusal(label: "metadata not an object", body: body(#""metadata":"user-1""#), param: "metadata"),
        Refusal(label: "metadata.user_id a number", body: body(#""metadata":{"user_id":42}"#), param: "metadata.user_id"),
    ]

    @Test(arguments: refusals)
    func badRequestsNameTheField(refusal: Refusal) throws {
        let error = try anthropicRequestError(refusal.body)
        #expect(error?.param == refusal.param)
        #expect(error?.kind == .invalidRequest)
        #expect(error?.status == 400)
        #expect(error?.message.hasPrefix(refusal.param + ": ") == true, "\(error?.message ?? "accepted")")
    }

    @Test func aRefusalReachesTheClientInAnthropicsShape() throws {
        let error = try #require(try anthropicRequestError(Self.body(messages: #"{"role":"system","content":"Be brief."}"#)))
        let (status, body) = AIClientFormat.anthropic.errorBody(error)
        #expect(status == 400)
        #expect(body.text == #"{"type":"error","error":{"type":"invalid_request_error","message":"messages[0].role: must be user or assistant, not system"}}"#)
    }

    @Test func rangeMessagesShowAnthropicsRange() throws {
        let error = try #require(try anthropicRequestError(Self.body(#""temperature":1.5"#)))
        #expect(error.message == "temperature: must be between 0 and 1")
    }

    // MARK: Back to Anthropic

    @Test func aRealisticRequestReachesAnthropicAsSent() throws {
        let request = try AnthropicMessages.request(from: JSON.parse(Self.realistic))
        let body = try AnthropicMessages.requestBody(request, model: "claude-sonnet-4-5-20250929", defaultMaxTokens: 4096)
        #expect(body.object?.keys == [
            "model", "max_tokens", "system", "messages", "tools", "tool_choice", "stop_sequences", "temperature", "top_p",
            "top_k", "stream", "metadata", "thinking", "service_tier",
        ])
        #expect(body["model"] == "claude-sonnet-4-5-20250929")
        #expect(body["max_tokens"] == 1024)
        #expect(body["system"] == "You are a weather assistant.")
        let messages = try #require(body["messages"]?.array)
        #expect(messages.count == 3)
        #expect(messages[0].text == #"{"role":"user","content":[{"type":"text","text":"Are these skies alike? Then get the weather in Paris and Lyon."},{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQSkZJRg=="}},{"type":"image","source":{"type":"url","url":"https://images.example.com/sky.png"}}]}"#)
        #expect(messages[1].text == #"{"role":"assistant","content":[{"type":"text","text":"Both are clear. Checking both cities."},{"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"city":"Paris","unit":"c"}},{"type":"tool_use","id":"toolu_01B","name":"get_weather","input":{"city":"Lyon"}}]}"#)
        // The tool results and the text are one user turn again, results first; the string
        // content is written as a text block (the same to Anthropic).
        #expect(messages[2].text == #"{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01A","content":[{"type":"text","text":"18C, sunny"}]},{"type":"tool_result","tool_use_id":"toolu_01B","content":[{"type":"text","text":"Station offline"}],"is_error":true},{"type":"text","text":"Which is warmer?"}]}"#)
        #expect(body["tools"]?.text == #"[{"name":"get_weather","description":"Current weather in a city","input_schema":{"type":"object","properties":{"unit":{"type":"string","enum":["c","f"]},"city":{"type":"string"}},"required":["city"]}}]"#)
        #expect(body["tool_choice"]?.text == #"{"type":"auto","disable_parallel_tool_use":true}"#)
        #expect(body["stop_sequences"] == ["\n\nHuman:", "END"])
        #expect(body["temperature"] == 0.5)
        #expect(body["top_p"] == 0.9)
        #expect(body["top_k"] == 40)
        #expect(body["stream"] == true)
        #expect(body["metadata"] == ["user_id": "user-1234"])
        #expect(body["thinking"] == ["type": "enabled", "budget_tokens": 2048])
        #expect(body["service_tier"] == "auto")
    }

    @Test func whatKonnectWritesReadsBackAsTheSameRequest() throws {
        let request = try AnthropicMessages.request(from: JSON.parse(Self.realistic))
        let written = try AnthropicMessages.requestBody(request, model: request.model, defaultMaxTokens: 4096)
        #expect(try AnthropicMessages.request(from: JSON.parse(written.text)) == request)
    }
}

// MARK: - Requests for Anthropic

@Suite struct AnthropicMessagesRequestBodyTests {
    /// What an OpenAI client sends for a conversation Anthropic answers.
    static let openAIConversation = #"""
    {
      "model": "claude-via-openai",
      "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": [
          {"type": "text", "text": "What is in this image, and how warm is it in Paris and Lyon?"},
          {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}},
          {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
        ]},
        {"role": "developer", "content": "Use metric units."},
        {"role": "assistant", "content": "A cat. Checking both cities.", "tool_calls": [
          {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
          {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Lyon\",\"unit\":\"c\"}"}}
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "call_2", "content": "21C"},
        {"role": "user", "content": "Which is warmer?"}
      ],
      "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}, "required": ["city"]}}}],
      "tool_choice": "required",
      "parallel_tool_calls": false,
      "max_completion_tokens": 300,
      "temperature": 0.2,
      "top_p": 0.8,
      "stop": "END",
      "stream": true,
      "stream_options": {"include_usage": true},
      "user": "user-1234"
    }
    """#

    @Test func anOpenAIConversationIsWrittenForAnthropic() throws {
        let body = try anthropicBody(fromOpenAI: Self.openAIConversation)
        #expect(body.object?.keys == [
            "model", "max_tokens", "system", "messages", "tools", "tool_choice", "stop_sequences", "temperature", "top_p",
            "stream", "metadata",
        ])
        #expect(body["model"] == "claude-sonnet-4-5-20250929")
        #expect(body["max_tokens"] == 300)
        // Every system and developer message, wherever it was, in the one system prompt.
        #expect(body["system"] == "You are terse.\n\nUse metric units.")

        let messages = try #require(body["messages"]?.array)
        #expect(messages.map { $0["role"]?.string } == ["user", "assistant", "user"])
        #expect(messages[0].text == #"{"role":"user","content":[{"type":"text","text":"What is in this image, and how warm is it in Paris and Lyon?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},{"type":"image","source":{"type":"url","url":"https://example.com/cat.png"}}]}"#)
        // The arguments' text becomes the input object, in the model's order.
        #expect(messages[1].text == #"{"role":"assistant","content":[{"type":"text","text":"A cat. Checking both cities."},{"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}},{"type":"tool_use","id":"call_2","name":"get_weather","input":{"city":"Lyon","unit":"c"}}]}"#)
        // Both tool results and the user's question: one user turn, results first.
        #expect(messages[2].text == #"{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":[{"type":"text","text":"18C"}]},{"type":"tool_result","tool_use_id":"call_2","content":[{"type":"text","text":"21C"}]},{"type":"text","text":"Which is warmer?"}]}"#)

        #expect(body["tools"]?.text == #"[{"name":"get_weather","description":"Current weather in a city","input_schema":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string"}},"required":["city"]}}]"#)
        #expect(body["tool_choice"]?.text == #"{"type":"any","disable_parallel_tool_use":true}"#)
        #expect(body["stop_sequences"] == ["END"])
        #expect(body["temperature"] == 0.2)
        #expect(body["top_p"] == 0.8)
        #expect(body["stream"] == true)
        // Anthropic's stream always has usage: no stream_options.
        #expect(body["stream_options"] == nil)
        #expect(body["metadata"] == ["user_id": "user-1234"])
    }

    @Test func toolResultsBetweenOtherTurnsStayTheirOwnTurn() throws {
        let body = try anthropicBody(fromOpenAI: #"""
        {"model":"m","messages":[
          {"role":"user","content":"Weather?"},
          {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"w","arguments":"{}"}}]},
          {"role":"tool","tool_call_id":"call_1","content":"18C"},
          {"role":"assistant","content":"It is 18C."},
          {"role":"user","content":"Thanks"}]}
        """#)
        let messages = try #require(body["messages"]?.array)
        #expect(messages.map { $0["role"]?.string } == ["user", "assistant", "user", "assistant", "user"])
        #expect(messages[1]["content"]?.text == #"[{"type":"tool_use","id":"call_1","name":"w","input":{}}]"#)
        #expect(messages[2]["content"]?.text == #"[{"type":"tool_result","tool_use_id":"call_1","content":[{"type":"text","text":"18C"}]}]"#)
        #expect(body["system"] == nil)
    }

    @Test func aFailedToolIsMarkedAsAnError() throws {
        var request = ChatRequest(model: "m", messages: [
            ChatMessage(role: .user, text: "Weather?"),
            ChatMessage(role: .assistant, content: [], toolCalls: [ToolCall(id: "toolu_1", name: "w", arguments: "{}")]),
            toolResult("toolu_1", "Station offline", isError: true),
        ])
        request.maxTokens = 10
        let body = try AnthropicMessages.requestBody(request, model: "claude", defaultMaxTokens: 4096)
        #expect(body["messages"]?.array?.last?.text
            == #"{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"Station offline"}],"is_error":true}]}"#)
    }

    @Test(arguments: [
        (#"{"city":"Paris"}"#, #"{"city":"Paris"}"#),
        ("", "{}"),
        (#"{"filters":{"unit":"c","days":[1,2]},"city":"Paris"}"#, #"{"filters":{"unit":"c","days":[1,2]},"city":"Paris"}"#),
    ])
    func toolCallArgumentsBecomeTheInputObject(arguments: String, input: String) throws {
        var request = ChatRequest(model: "m", messages: [
            ChatMessage(role: .user, text: "Weather?"),
            ChatMessage(role: .assistant, content: [], toolCalls: [ToolCall(id: "call_1", name: "w", arguments: arguments)]),
        ])
        request.maxTokens = 10
        let body = try AnthropicMessages.requestBody(request, model: "claude", defaultMaxTokens: 4096)
        #expect(body["messages"]?.array?.last?["content"]?.array?.first?["input"]?.text == input)
    }

    @Test(arguments: [
        (#"{\"city\":"#, "is not valid JSON"),
        ("[1,2]", "must be a JSON object"),
        (#"\"Paris\""#, "must be a JSON object"),
    ])
    func badToolCallArgumentsNameTheCall(arguments: String, problem: String) throws {
        // The path is the client's: message 2 counts the system message Anthropic's body has no turn for.
        let openAI = #"""
        {"model":"m","messages":[
          {"role":"system","content":"Be brief."},
          {"role":"user","content":"Weather in Paris and Lyon?"},
          {"role":"assistant","content":null,"tool_calls":[
            {"id":"call_1","type":"function","function":{"name":"w","arguments":"{\"city\":\"Lyon\"}"}},
            {"id":"call_2","type":"function","function":{"name":"w","arguments":"\#(arguments)"}}]}]}
        """#
        let error = anthropicBodyError(try OpenAIChat.request(from: JSON.parse(openAI)))
        #expect(error?.param == "messages[2].tool_calls[1].function.arguments")
        #expect(error?.kind == .invalidRequest)
        #expect(error?.message.hasPrefix("messages[2].tool_calls[1].function.arguments: \(problem)") == true,
                "\(error?.message ?? "accepted")")
    }

    @Test(arguments: [
        ("data:image/webp;base64,UklGRh4AAABXRUJQ", #"{"type":"base64","media_type":"image/webp","data":"UklGRh4AAABXRUJQ"}"#),
        ("https://example.com/a/cat.png?size=large", #"{"type":"url","url":"https://example.com/a/cat.png?size=large"}"#),
        ("http://example.com/cat.png", #"{"type":"url","url":"http://example.com/cat.png"}"#),
    ])
    func imagesBecomeSources(url: String, source: String) throws {
        let request = ChatRequest(model: "m", messages: [
            ChatMessage(role: .user, content: [.text("What is this?"), .image(url: url, detail: "high")]),
        ])
        let body = try AnthropicMessages.requestBody(request, model: "claude", defaultMaxTokens: 4096)
        let image = body["messages"]?.array?.first?["content"]?.array?.last
        #expect(image?["type"] == "image")
        #expect(image?["source"]?.text == source)
    }

    @Test func anImageAnthropicCannotFetchNamesItsURL() throws {
        let request = try OpenAIChat.request(from: JSON.parse(#"""
        {"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"ftp://example.com/cat.png"}}]}]}
        """#))
        let error = anthropicBodyError(request)
        #expect(error?.param == "messages[0].content[1].image_url.url")
        #expect(error?.kind == .invalidRequest)
    }

    struct ChoiceCase: Sendable, CustomTestStringConvertible {
        var label: String
        var choice: ToolChoice?
        var parallel: Bool?
        var written: String?
        var testDescription: String { label }
    }

    static let choiceCases: [ChoiceCase] = [
        ChoiceCase(label: "none given", choice: nil, parallel: nil, written: nil),
        ChoiceCase(label: "auto", choice: .auto, parallel: nil, written: #"{"type":"auto"}"#),
        ChoiceCase(label: "none", choice: ToolChoice.none, parallel: nil, written: #"{"type":"none"}"#),
        ChoiceCase(label: "required", choice: .required, parallel: nil, written: #"{"type":"any"}"#),
        ChoiceCase(label: "function", choice: .function("get_weather"), parallel: nil, written: #"{"type":"tool","name":"get_weather"}"#),
        ChoiceCase(label: "parallel allowed", choice: nil, parallel: true, written: nil),
        ChoiceCase(label: "parallel off alone", choice: nil, parallel: false,
                   written: #"{"type":"auto","disable_parallel_tool_use":true}"#),
        ChoiceCase(label: "auto, parallel off", choice: .auto, parallel: false,
                   written: #"{"type":"auto","disable_parallel_tool_use":true}"#),
        ChoiceCase(label: "required, parallel off", choice: .required, parallel: false,
                   written: #"{"type":"any","disable_parallel_tool_use":true}"#),
        ChoiceCase(label: "function, parallel off", choice: .function("get_weather"), parallel: false,
                   written: #"{"type":"tool","name":"get_weather","disable_parallel_tool_use":true}"#),
    ]

    @Test(arguments: choiceCases)
    func toolChoiceIsWritten(choiceCase: ChoiceCase) throws {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Weather?")])
        request.tools = [ToolDefinition(name: "get_weather", parameters: ["type": "object"])]
        request.toolChoice = choiceCase.choice
        request.parallelToolCalls = choiceCase.parallel
        let body = try AnthropicMessages.requestBody(request, model: "claude", defaultMaxTokens: 4096)
        #expect(body["tool_choice"]?.text == choiceCase.written)
    }

    /// Anthropic's `{"type":"none"}` has no `disable_parallel_tool_use` (its SDKs' ToolChoiceNone
    /// is `type` alone): an OpenAI client that says `tool_choice: "none"` with
    /// `parallel_tool_calls: false` must not get a tool choice Anthropic's schema does not have.
    @Test func noToolsWithParallelOffIsPlainNone() throws {
        let body = try anthropicBody(fromOpenAI: #"""
        {"model":"m","messages":[{"role":"user","content":"Just chat."}],
         "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],
         "tool_choice":"none","parallel_tool_calls":false}
        """#)
        #expect(body["tool_choice"]?.text == #"{"type":"none"}"#)
    }

    @Test func parallelOffWithoutToolsSendsNoToolChoice() throws {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        request.parallelToolCalls = false
        let body = try AnthropicMessages.requestBody(request, model: "claude", defaultMaxTokens: 4096)
        #expect(body["tool_choice"] == nil)
        #expect(body["tools"] == nil)
    }

    @Test func aToolWithoutParametersGetsAnEmptyObjectSchema() throws {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "What time is it?")])
        request.tools = [ToolDefinition(name: "get_time", description: "The current time")]
        let body = try AnthropicMessages.requestBody(request, model: "claude", defaultMaxTokens: 4096)
        #expect(body["tools"]?.text == #"[{"name":"get_time","description":"The current time","input_schema":{"type":"object","properties":{}}}]"#)
    }

    @Test(arguments: [(nil, 4096), (300, 300), (1, 1)] as [(Int?, Int)])
    func theDefaultMaxTokensIsUsedOnlyWhenTheRequestHasNone(requested: Int?, sent: Int) throws {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        request.maxTokens = requested
        let body = try AnthropicMessages.requestBody(request, model: "claude", defaultMaxTokens: 4096)
        #expect(body["max_tokens"] == .number(Double(sent)))
    }

    @Test func aPlainRequestIsWrittenPlainly() throws {
        let request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        let body = try AnthropicMessages.requestBody(request, model: "claude-haiku-4-5", defaultMaxTokens: 1024)
        #expect(body.text == #"{"model":"claude-haiku-4-5","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}"#)
    }

    @Test func thinkingIsSentBackWithItsSignature() throws {
        var request = ChatRequest(model: "m", messages: [
            ChatMessage(role: .user, text: "Weather?"),
            ChatMessage(role: .assistant, content: [.thinking("Use the tool.", signature: "EqQBCgIYAh")],
                        toolCalls: [ToolCall(id: "toolu_1", name: "w", arguments: "{}")]),
            toolResult("toolu_1", "18C"),
        ])
        request.otherFields = ["thinking": ["type": "enabled", "budget_tokens": 1024]]
        let body = try AnthropicMessages.requestBody(request, model: "claude", defaultMaxTokens: 4096)
        #expect(body["messages"]?.array?[1].text == #"{"role":"assistant","content":[{"type":"thinking","thinking":"Use the tool.","signature":"EqQBCgIYAh"},{"type":"tool_use","id":"toolu_1","name":"w","input":{}}]}"#)
        #expect(body["thinking"] == ["type": "enabled", "budget_tokens": 1024])
    }

    // MARK: Refusals

    /// An OpenAI request asking `extra` of a model that says hi.
    static func openAI(_ extra: String) -> String {
        #"{"model":"m","messages":[{"role":"user","content":"hi"}],\#(extra)}"#
    }

    @Test(arguments: [
        (#""seed":42"#, "seed"),
        (#""n":2"#, "n"),
        (#""presence_penalty":0.5"#, "presence_penalty"),
        (#""frequency_penalty":-0.5"#, "frequency_penalty"),
        (#""temperature":1.5"#, "temperature"),
        (#""response_format":{"type":"json_object"}"#, "response_format"),
        (#""response_format":{"type":"json_schema","json_schema":{"name":"weather","schema":{"type":"object"}}}"#, "response_format"),
        (#""logit_bias":{"50256":-100}"#, "logit_bias"),
        (#""logprobs":true,"top_logprobs":2"#, "logprobs"),
        (#""reasoning_effort":"high""#, "reasoning_effort"),
    ])
    func whatAnthropicCannotHonourIsRefusedByName(extra: String, param: String) throws {
        let error = anthropicBodyError(try OpenAIChat.request(from: JSON.parse(Self.openAI(extra))))
        #expect(error?.param == param)
        #expect(error?.kind == .invalidRequest)
        #expect(error?.status == 400)
        #expect(error?.message.hasPrefix(param + ": ") == true, "\(error?.message ?? "accepted")")
    }

    @Test(arguments: [
        #""n":1"#,
        #""temperature":1"#,
        #""temperature":0"#,
        #""response_format":{"type":"text"}"#,
        #""thinking":{"type":"enabled","budget_tokens":1024}"#,
        #""service_tier":"auto""#,
    ])
    func whatAnthropicCanHonourPasses(extra: String) throws {
        let request = try OpenAIChat.request(from: JSON.parse(Self.openAI(extra)))
        #expect(anthropicBodyError(request) == nil)
    }

    @Test func thinkingPassesThroughAsWritten() throws {
        let body = try anthropicBody(fromOpenAI: Self.openAI(#""max_tokens":4000,"thinking":{"type":"enabled","budget_tokens":2048}"#))
        #expect(body.text == #"{"model":"claude-sonnet-4-5-20250929","max_tokens":4000,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"thinking":{"type":"enabled","budget_tokens":2048}}"#)
    }
}

// MARK: - Responses

@Suite struct AnthropicMessagesResponseTests {
    static let toolUseAnswer = #"""
    {
      "id": "msg_01Aq9w938a90dw8q",
      "type": "message",
      "role": "assistant",
      "model": "claude-sonnet-4-5-20250929",
      "content": [
        {"type": "thinking", "thinking": "The user wants the weather in Paris.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {"city": "Paris", "unit": "c"}}
      ],
      "stop_reason": "tool_use",
      "stop_sequence": null,
      "usage": {"input_tokens": 50, "cache_creation_input_tokens": 1200, "cache_read_input_tokens": 2048, "output_tokens": 120, "service_tier": "standard"}
    }
    """#

    static let expected = ChatResponse(
        id: "msg_01Aq9w938a90dw8q", model: "claude-sonnet-4-5-20250929", created: 0,
        choices: [ChatChoice(index: 0, message: ChatMessage(role: .assistant, content: [
            .thinking("The user wants the weather in Paris.", signature: "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"),
            .text("Let me check."),
        ], toolCalls: [
            ToolCall(id: "toolu_01A09q90qw90lq917835lq9", name: "get_weather", arguments: #"{"city":"Paris","unit":"c"}"#),
        ]), finishReason: .toolCalls)],
        usage: Usage(inputTokens: 3298, outputTokens: 120, cachedInputTokens: 2048, cacheCreationInputTokens: 1200))

    @Test func aThinkingAndToolUseAnswerIsRead() throws {
        let response = try AnthropicMessages.response(from: JSON.parse(Self.toolUseAnswer))
        #expect(response == Self.expected)
        // An OpenAI client is billed every prompt token: uncached, read and written.
        let usage = OpenAIChat.responseBody(response)["usage"]
        #expect(usage?["prompt_tokens"] == 3298)
        #expect(usage?["prompt_tokens_details"]?["cached_tokens"] == 2048)
        #expect(usage?["total_tokens"] == 3418)
    }

    @Test func aTextAnswerIsRead() throws {
        let body = #"""
        {"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-haiku-4-5",
         "content":[{"type":"text","text":"Hello! "},{"type":"text","text":"How can I help?"}],
         "stop_reason":"end_turn","stop_sequence":null,
         "usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":9}}
        """#
        let response = try AnthropicMessages.response(from: JSON.parse(body))
        #expect(response.id == "msg_01XFDUDYJgAACzvnptvVoYEL")
        #expect(response.model == "claude-haiku-4-5")
        let choice = try #require(response.choices.first)
        #expect(response.choices.count == 1)
        #expect(choice.message.role == .assistant)
        #expect(choice.message.content == [.text("Hello! "), .text("How can I help?")])
        #expect(choice.message.text == "Hello! How can I help?")
        #expect(choice.message.toolCalls.isEmpty)
        #expect(choice.finishReason == .stop)
        #expect(response.usage == Usage(inputTokens: 12, outputTokens: 9))
    }

    static func answer(stopReason word: String, stopSequence: String) -> String {
        #"{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"ok"}],"stop_reason":"\#(word)","stop_sequence":\#(stopSequence),"usage":{"input_tokens":3,"output_tokens":1}}"#
    }

    @Test(arguments: [
        ("end_turn", "null", FinishReason.stop, "stop"),
        ("stop_sequence", #""END""#, FinishReason.stopSequence("END"), "stop"),
        ("max_tokens", "null", FinishReason.length, "length"),
        ("model_context_window_exceeded", "null", FinishReason.contextWindowExceeded, "length"),
        ("tool_use", "null", FinishReason.toolCalls, "tool_calls"),
        ("refusal", "null", FinishReason.contentFilter, "content_filter"),
        ("pause_turn", "null", FinishReason.pauseTurn, "stop"),
        ("compaction", "null", FinishReason.other("compaction"), "compaction"),
    ] as [(String, String, FinishReason, String)])
    func stopReasonsAreRead(word: String, stopSequence: String, reason: FinishReason, openAIWord: String) throws {
        let response = try AnthropicMessages.response(from: JSON.parse(Self.answer(stopReason: word, stopSequence: stopSequence)))
        #expect(response.choices.first?.finishReason == reason)
        #expect(response.choices.first?.finishReason?.openAI == openAIWord)
        #expect(response.choices.first?.message.text == "ok")
    }

    /// An Anthropic client behind Konnect gets Anthropic's own word back, and the stop sequence with it.
    @Test(arguments: [
        ("end_turn", "null"), ("stop_sequence", #""END""#), ("max_tokens", "null"), ("tool_use", "null"),
        ("refusal", "null"), ("pause_turn", "null"), ("compaction", "null"),
    ])
    func stopReasonsReachAnAnthropicClientUnchanged(word: String, stopSequence: String) throws {
        let response = try AnthropicMessages.response(from: JSON.parse(Self.answer(stopReason: word, stopSequence: stopSequence)))
        let written = AnthropicMessages.responseBody(response)
        #expect(written["stop_reason"] == .string(word))
        #expect(try written["stop_sequence"] == JSON.parse(stopSequence))
    }

    /// Anthropic's `model_context_window_exceeded` (the prompt plus the answer outgrew the context
    /// window) is not `max_tokens` (the request's own limit): a client that raises max_tokens on
    /// `max_tokens` would retry in vain.
    @Test func aContextWindowStopReachesAnAnthropicClientAsSaid() throws {
        let response = try AnthropicMessages.response(from: JSON.parse(
            Self.answer(stopReason: "model_context_window_exceeded", stopSequence: "null")))
        #expect(AnthropicMessages.responseBody(response)["stop_reason"] == "model_context_window_exceeded")
    }

    @Test func anAnswerStillRunningHasNoStopReason() throws {
        let body = #"{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"stop_reason":null,"stop_sequence":null}"#
        let response = try AnthropicMessages.response(from: JSON.parse(body))
        #expect(response.choices.first?.finishReason == nil)
        #expect(response.choices.first?.message.content == [])
        #expect(response.usage == nil)
    }

    @Test(arguments: [
        (#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#),
        (#"{"id":"msg_1","type":"message","role":"assistant"}"#),
        (#"["not","a","message"]"#),
    ])
    func anAnswerThatIsNotAMessageIsAProviderFailure(body: String) throws {
        let json = try JSON.parse(body)
        let error = #expect(throws: AIError.self) { try AnthropicMessages.response(from: json) }
        #expect(error?.kind == .server)
        #expect(error?.allowsFallback == true)
    }

    // MARK: Writing for Anthropic's clients

    @Test func anAnswerIsWrittenInAnthropicsShape() throws {
        let body = AnthropicMessages.responseBody(Self.expected)
        #expect(body.object?.keys == ["id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"])
        #expect(body["type"] == "message")
        #expect(body["role"] == "assistant")
        #expect(body["content"]?.text == #"[{"type":"thinking","thinking":"The user wants the weather in Paris.","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"},{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9","name":"get_weather","input":{"city":"Paris","unit":"c"}}]"#)
        #expect(body["stop_reason"] == "tool_use")
        #expect(body["stop_sequence"] == .null)
        // input_tokens leaves out what was read from and written to the cache, as Anthropic counts it.
        #expect(body["usage"]?.text == #"{"input_tokens":50,"cache_creation_input_tokens":1200,"cache_read_input_tokens":2048,"output_tokens":120}"#)
    }

    @Test func responsesRoundTrip() throws {
        let read = try AnthropicMessages.response(from: JSON.parse(Self.toolUseAnswer))
        let stopped = ChatResponse(id: "msg_2", model: "claude-haiku-4-5", created: 0, choices: [
            ChatChoice(index: 0, message: ChatMessage(role: .assistant, text: "1, 2, 3"), finishReason: .stopSequence("4")),
        ], usage: Usage(inputTokens: 30, outputTokens: 7, cachedInputTokens: 10, cacheCreationInputTokens: 5))
        for response in [read, stopped] {
            let text = AnthropicMessages.responseBody(response).text
            #expect(try AnthropicMessages.response(from: JSON.parse(text)) == response, "\(text)")
        }
    }

    /// What another provider's answer looks like to an Anthropic client.
    @Test func anOpenAIAnswerIsWrittenForAnAnthropicClient() throws {
        let openAI = #"""
        {"id":"chatcmpl-1","object":"chat.completion","created":1741569952,"model":"gpt-4o","choices":[{"index":0,
         "message":{"role":"assistant","content":"","tool_calls":[
           {"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
         "finish_reason":"tool_calls"}],
         "usage":{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920}}}
        """#
        let body = AnthropicMessages.responseBody(try OpenAIChat.response(from: JSON.parse(openAI)))
        #expect(body.text == #"{"id":"chatcmpl-1","type":"message","role":"assistant","model":"gpt-4o","content":[{"type":"tool_use","id":"call_a","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":86,"cache_creation_input_tokens":0,"cache_read_input_tokens":1920,"output_tokens":300}}"#)
    }

    @Test(arguments: [
        (#"{"city":"Paris"}"#, #"{"city":"Paris"}"#),
        ("", "{}"),
        (#"{"city":"Par"#, #"{"arguments":"{\"city\":\"Par"}"#),
        ("[1,2]", #"{"arguments":"[1,2]"}"#),
        ("Paris", #"{"arguments":"Paris"}"#),
    ])
    func aCallsArgumentsAreWrittenAsItsInput(arguments: String, input: String) {
        let response = ChatResponse(id: "x", model: "m", created: 0, choices: [
            ChatChoice(index: 0, message: ChatMessage(role: .assistant, content: [], toolCalls: [
                ToolCall(id: "call_a", name: "get_weather", arguments: arguments),
            ]), finishReason: .toolCalls),
        ], usage: nil)
        let block = AnthropicMessages.responseBody(response)["content"]?.array?.first
        #expect(block?["type"] == "tool_use")
        #expect(block?["input"]?.text == input)
    }

    @Test func anAnswerWithoutUsageOrSignatureStillHasTheirFields() {
        let response = ChatResponse(id: "x", model: "deepseek-reasoner", created: 1, choices: [
            ChatChoice(index: 0, message: ChatMessage(role: .assistant, content: [
                .thinking("Hmm.", signature: nil), .text(""), .text("Yes."),
            ]), finishReason: .stop),
        ], usage: nil)
        let body = AnthropicMessages.responseBody(response)
        #expect(body["content"]?.text == #"[{"type":"thinking","thinking":"Hmm.","signature":""},{"type":"text","text":"Yes."}]"#)
        #expect(body["usage"]?.text == #"{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}"#)
    }

    @Test(arguments: [
        (FinishReason.stop, "stop", "end_turn"),
        (FinishReason.stopSequence("X"), "stop", "stop_sequence"),
        (FinishReason.stopSequence(nil), "stop", "stop_sequence"),
        (FinishReason.length, "length", "max_tokens"),
        (FinishReason.toolCalls, "tool_calls", "tool_use"),
        (FinishReason.contentFilter, "content_filter", "refusal"),
        (FinishReason.pauseTurn, "stop", "pause_turn"),
        (FinishReason.other("eos"), "eos", "eos"),
    ])
    func finishReasonsHaveEachFormatsWord(reason: FinishReason, openAI: String, anthropic: String) {
        #expect(reason.openAI == openAI)
        #expect(reason.anthropic == anthropic)
    }
}

// MARK: - Errors and the provider

@Suite struct AnthropicMessagesErrorTests {
    @Test(arguments: [
        (AIError.invalid("messages", "is required"), 400, "invalid_request_error"),
        (AIError(.authentication, "Bad key"), 401, "authentication_error"),
        (AIError(.permission, "Not allowed"), 403, "permission_error"),
        (AIError(.notFound, "No such model"), 404, "not_found_error"),
        (AIError(.requestTooLarge, "Too long"), 413, "request_too_large"),
        (AIError(.rateLimited, "Slow down"), 429, "rate_limit_error"),
        (AIError(.overloaded, "Overloaded"), 529, "overloaded_error"),
        (AIError(.overloaded, status: 503, "Service unavailable"), 503, "overloaded_error"),
        (AIError(.unavailable, "No deployment answered"), 503, "overloaded_error"),
        (AIError(.server, "Bad gateway"), 502, "api_error"),
        (AIError(.server, status: 500, "Internal"), 500, "api_error"),
        (AIError(.timeout, "Too slow"), 504, "api_error"),
    ] as [(AIError, Int, String)])
    func errorsAreWrittenInAnthropicsShape(error: AIError, status: Int, type: String) {
        let (written, body) = AnthropicMessages.errorBody(error)
        #expect(written == status)
        #expect(body.object?.keys == ["type", "error"])
        #expect(body["type"] == "error")
        #expect(body["error"]?.object?.keys == ["type", "message"])
        #expect(body["error"]?["type"] == .string(type))
        #expect(body["error"]?["message"] == .string(error.message))
    }

    @Test(arguments: [
        (400, #"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}"#,
         AIError.Kind.invalidRequest, "max_tokens: Field required", "invalid_request_error"),
        (401, #"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
         .authentication, "invalid x-api-key", "authentication_error"),
        (403, #"{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission"}}"#,
         .permission, "Your API key does not have permission", "permission_error"),
        (404, #"{"type":"error","error":{"type":"not_found_error","message":"model: claude-9"}}"#,
         .notFound, "model: claude-9", "not_found_error"),
        (413, #"{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}"#,
         .requestTooLarge, "Request exceeds the maximum allowed number of bytes.", "request_too_large"),
        (429, #"{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}"#,
         .rateLimited, "Number of request tokens has exceeded your per-minute rate limit", "rate_limit_error"),
        (500, #"{"type":"error","error":{"type":"api_error","message":"Internal server error"}}"#,
         .server, "Internal server error", "api_error"),
        (529, #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}"#,
         .overloaded, "Overloaded", "overloaded_error"),
        // A type Konnect does not know: the status says what it is.
        (402, #"{"type":"error","error":{"type":"billing_error","message":"Your credit balance is too low"}}"#,
         .invalidRequest, "Your credit balance is too low", "billing_error"),
        (504, #"{"type":"error","error":{"type":"timeout_error","message":"Request timed out"}}"#,
         .timeout, "Request timed out", "timeout_error"),
        // Not Anthropic's shape (a proxy in front of it): the status and the body's text.
        (503, "upstream connect error", .overloaded, "The provider answered 503: upstream connect error", nil),
        (502, "", .server, "The provider answered 502", nil),
    ] as [(Int, String, AIError.Kind, String, String?)])
    func anthropicsErrorsAreRead(status: Int, body: String, kind: AIError.Kind, message: String, code: String?) {
        let error = AnthropicMessages.error(status: status, body: ByteBuffer(string: body), retryAfter: nil)
        #expect(error.kind == kind)
        #expect(error.status == status)
        #expect(error.message == message)
        #expect(error.code == code)
    }

    @Test func anOverloadedAnthropicStays529() {
        let body = ByteBuffer(string: #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#)
        let error = AnthropicProvider().error(status: 529, headers: [("retry-after", "7")], body: body)
        #expect(error.kind == .overloaded)
        #expect(error.allowsFallback)
        #expect(error.retryAfter == 7)
        let (status, written) = AnthropicMessages.errorBody(error)
        #expect(status == 529)
        #expect(written.text == #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#)
    }

    @Test func aRateLimitKeepsItsRetryAfter() {
        let body = ByteBuffer(string: #"{"type":"error","error":{"type":"rate_limit_error","message":"Slow down"}}"#)
        let error = AnthropicProvider().error(status: 429, headers: [("Retry-After", "30")], body: body)
        #expect(error.kind == .rateLimited)
        #expect(error.retryAfter == 30)
        #expect(error.allowsFallback)
    }

    @Test func aClientsMistakeAllowsNoFallback() {
        let body = ByteBuffer(string: #"{"type":"error","error":{"type":"invalid_request_error","message":"messages: at least one message is required"}}"#)
        let error = AnthropicProvider().error(status: 400, headers: [], body: body)
        #expect(!error.allowsFallback)
        #expect(error.retryAfter == nil)
    }
}

@Suite struct AnthropicProviderTests {
    static let hello = ChatRequest(model: "my-alias", messages: [ChatMessage(role: .user, text: "Hi")])

    @Test func theRequestGoesToMessagesWithTheKeyAndVersion() throws {
        let sent = try AnthropicProvider().chatRequest(
            Self.hello, deployment: AIDeployment(provider: "anthropic", model: "claude-sonnet-4-5-20250929", apiKey: "sk-ant-test"))
        #expect(sent.method == "POST")
        #expect(sent.url == "https://api.anthropic.com/v1/messages")
        #expect(sent.headers.contains { $0 == ("x-api-key", "sk-ant-test") })
        #expect(sent.headers.contains { $0 == ("anthropic-version", "2023-06-01") })
        #expect(sent.headers.contains { $0 == ("Content-Type", "application/json") })
        #expect(!sent.headers.contains { $0.0.lowercased() == "authorization" })
        let body = try JSON.parse(sent.body)
        #expect(body["model"] == "claude-sonnet-4-5-20250929")
        #expect(body["max_tokens"] == .number(Double(AnthropicProvider.defaultMaxTokens)))
    }

    @Test(arguments: [
        ("https://gateway.example.com/anthropic/", "https://gateway.example.com/anthropic/v1/messages"),
        ("https://gateway.example.com/anthropic", "https://gateway.example.com/anthropic/v1/messages"),
        ("http://localhost:8080//", "http://localhost:8080/v1/messages"),
        ("", "https://api.anthropic.com/v1/messages"),
    ])
    func aBaseURLReplacesAnthropicsEndpoint(base: String, url: String) throws {
        let deployment = AIDeployment(provider: "anthropic", model: "claude", baseURL: base)
        #expect(try AnthropicProvider().chatRequest(Self.hello, deployment: deployment).url == url)
    }

    @Test func theAPIVersionComesFromTheDeploymentsOptions() throws {
        let deployment = AIDeployment(provider: "anthropic", model: "claude", apiKey: "k",
                                      options: ["anthropic_version": "2024-10-22"])
        let sent = try AnthropicProvider().chatRequest(Self.hello, deployment: deployment)
        #expect(sent.headers.filter { $0.0 == "anthropic-version" }.map { $0.1 } == ["2024-10-22"])
    }

    @Test func withoutAKeyNoKeyHeaderIsSent() throws {
        let sent = try AnthropicProvider().chatRequest(Self.hello, deployment: AIDeployment(provider: "anthropic", model: "claude"))
        #expect(!sent.headers.contains { $0.0 == "x-api-key" })
    }

    @Test func theDeploymentsDefaultMaxTokensWinsOverAnthropicProviders() throws {
        let deployment = AIDeployment(provider: "anthropic", model: "claude", defaultMaxTokens: 777)
        #expect(try JSON.parse(AnthropicProvider().chatRequest(Self.hello, deployment: deployment).body)["max_tokens"] == 777)
        var asked = Self.hello
        asked.maxTokens = 55
        #expect(try JSON.parse(AnthropicProvider().chatRequest(asked, deployment: deployment).body)["max_tokens"] == 55)
    }

    @Test func aRequestAnthropicCannotHonourIsRefusedBeforeSending() {
        var request = Self.hello
        request.seed = 7
        let error = #expect(throws: AIError.self) {
            try AnthropicProvider().chatRequest(request, deployment: AIDeployment(provider: "anthropic", model: "claude"))
        }
        #expect(error?.param == "seed")
        #expect(error?.allowsFallback == false)
    }

    @Test func answersAreRead() throws {
        let response = try AnthropicProvider().chatResponse(ByteBuffer(string: AnthropicMessagesResponseTests.toolUseAnswer))
        #expect(response == AnthropicMessagesResponseTests.expected)
        let error = #expect(throws: AIError.self) { try AnthropicProvider().chatResponse(ByteBuffer(string: "<html>")) }
        #expect(error?.kind == .server)
    }

    @Test(arguments: [
        ("/v1/messages", AIClientFormat.anthropic),
        ("/anthropic/v1/messages", AIClientFormat.anthropic),
        ("/v1/chat/completions", AIClientFormat.openAI),
        ("/openai/v1/chat/completions", AIClientFormat.openAI),
    ])
    func aRequestPathChoosesTheClientFormat(path: String, format: AIClientFormat) {
        #expect(AIClientFormat(path: path) == format)
    }

    @Test func anAnthropicClientIsAnsweredInAnthropicsFormat() throws {
        let format = AIClientFormat(path: "/v1/messages")
        let request = try format.request(from: JSON.parse(AnthropicMessagesRequestTests.realistic))
        #expect(request.messages.count == 6)
        #expect(format.responseBody(AnthropicMessagesResponseTests.expected)["type"] == "message")
        var encoder = format.streamEncoder(for: request, created: 1_741_569_952)
        var out = ByteBuffer()
        encoder.encode(.start(id: "msg_1", model: "claude", usage: nil), into: &out)
        encoder.encode(.text("Hi"), into: &out)
        encoder.encode(.finish(.stop), into: &out)
        encoder.finish(into: &out)
        #expect(try anthropicEvents(out).map(\.name) == [
            "message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop",
        ])
    }
}

// MARK: - Streams

@Suite struct AnthropicMessagesStreamDecoderTests {
    static let messageStart = sse("message_start", #"{"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":47,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":1}}}"#)
    static let textBlock = [
        sse("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
        sse("ping", #"{"type": "ping"}"#),
        sse("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me "}}"#),
        sse("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"check."}}"#),
        sse("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
    ].joined()
    static let toolBlocks = [
        sse("content_block_start", #"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}"#),
        sse("content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#),
        sse("content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}}"#),
        sse("content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ris\"}"}}"#),
        sse("content_block_stop", #"{"type":"content_block_stop","index":1}"#),
        sse("content_block_start", #"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_02","name":"get_time","input":{}}}"#),
        sse("content_block_delta", #"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"tz\":\"CET\"}"}}"#),
        sse("content_block_stop", #"{"type":"content_block_stop","index":2}"#),
    ].joined()
    static let messageDelta = sse("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}"#)
    static let messageStop = sse("message_stop", #"{"type":"message_stop"}"#)

    static let stream = messageStart + textBlock + toolBlocks + messageDelta + messageStop

    static let expected: [ChatStreamEvent] = [
        .start(id: "msg_014p7gG3wDgGV9EUtLvnow3U", model: "claude-sonnet-4-5-20250929",
               usage: Usage(inputTokens: 2095, outputTokens: 1, cachedInputTokens: 2048)),
        .text("Let me "),
        .text("check."),
        .toolCallStart(index: 0, id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", name: "get_weather"),
        .toolCallArguments(index: 0, fragment: #"{"city": "Pa"#),
        .toolCallArguments(index: 0, fragment: #"ris"}"#),
        .toolCallStart(index: 1, id: "toolu_02", name: "get_time"),
        .toolCallArguments(index: 1, fragment: #"{"tz":"CET"}"#),
        .finish(.toolCalls),
        // The delta's output count is the whole answer's; the prompt's counts carry over from the start.
        .usage(Usage(inputTokens: 2095, outputTokens: 89, cachedInputTokens: 2048)),
    ]

    @Test func aRealisticStreamGivesItsEvents() throws {
        let events = try decodeAnthropicStream(Self.stream)
        #expect(events == Self.expected)
        #expect(toolArguments(events) == [0: #"{"city": "Paris"}"#, 1: #"{"tz":"CET"}"#])
    }

    @Test func oneByteAtATimeGivesTheSameEvents() throws {
        #expect(try decodeAnthropicStream(oneByteAtATime(Array(Self.stream.utf8))) == Self.expected)
    }

    @Test func twoPiecesCutAnywhereGiveTheSameEvents() throws {
        let bytes = Array(Self.stream.utf8)
        for cut in stride(from: 0, through: bytes.count, by: 7) {
            #expect(try decodeAnthropicStream([Array(bytes[..<cut]), Array(bytes[cut...])]) == Self.expected, "cut at byte \(cut)")
        }
    }

    @Test func crlfStreamsGiveTheSameEvents() throws {
        let crlf = Array(Self.stream.utf8).flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] }
        #expect(try decodeAnthropicStream([crlf]) == Self.expected)
    }

    static let cutStreams: [(String, String)] = [
        ("empty body", ""),
        ("after message_start", messageStart),
        ("in the middle of the text", messageStart + String(textBlock.prefix(200))),
        ("in the middle of the tool calls", messageStart + textBlock + String(toolBlocks.prefix(400))),
        ("after message_delta", messageStart + textBlock + toolBlocks + messageDelta),
        ("before message_stop's blank line", messageStart + textBlock + toolBlocks + messageDelta + String(messageStop.dropLast())),
    ]

    @Test(arguments: cutStreams)
    func aStreamWithoutMessageStopIsAnError(label: String, text: String) throws {
        let (_, error) = try decodeAnthropicStreamUntilFinish(text)
        #expect(error?.kind == .server, "\(label)")
        #expect(error?.allowsFallback == true, "\(label)")
    }

    @Test func whatArrivedBeforeTheCutIsStillGiven() throws {
        let (events, error) = try decodeAnthropicStreamUntilFinish(Self.messageStart + Self.textBlock + Self.toolBlocks + Self.messageDelta)
        #expect(error != nil)
        #expect(events == Self.expected)
    }

    @Test func nothingAfterMessageStopIsRead() throws {
        let late = sse("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"late"}}"#)
        #expect(try decodeAnthropicStream(Self.stream + late) == Self.expected)
    }

    static func errorStream(_ type: String, _ message: String) -> String {
        messageStart
            + sse("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#)
            + sse("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me "}}"#)
            + sse("error", #"{"type":"error","error":{"type":"\#(type)","message":"\#(message)"}}"#)
            + sse("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ignored"}}"#)
    }

    @Test func anOverloadedErrorEndsTheStream() throws {
        let (events, finishError) = try decodeAnthropicStreamUntilFinish(Self.errorStream("overloaded_error", "Overloaded"))
        #expect(finishError == nil)
        #expect(events.count == 3)
        #expect(Array(events.prefix(2)) == Array(Self.expected.prefix(2)))
        guard case .error(let error)? = events.last else {
            Issue.record("expected an error event, got \(events)")
            return
        }
        #expect(error.kind == .overloaded)
        #expect(error.status == 529)
        #expect(error.message == "Overloaded")
        #expect(error.code == "overloaded_error")
    }

    @Test(arguments: [
        ("overloaded_error", AIError.Kind.overloaded, 529),
        ("rate_limit_error", .rateLimited, 429),
        ("api_error", .server, 502),
        ("invalid_request_error", .invalidRequest, 400),
        ("something_new_error", .server, 502),
    ] as [(String, AIError.Kind, Int)])
    func errorEventsKeepTheirKind(type: String, kind: AIError.Kind, status: Int) throws {
        guard case .error(let error)? = try decodeAnthropicStream(Self.errorStream(type, "It failed")).last else {
            Issue.record("expected an error event")
            return
        }
        #expect(error.kind == kind)
        #expect(error.status == status)
        #expect(error.message == "It failed")
        #expect(error.code == type)
    }

    @Test func thinkingIsStreamedWithItsSignature() throws {
        let stream = Self.messageStart
            + sse("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#)
            + sse("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me solve this step by step:\n\n1. First break down 27 * 453"}}"#)
            + sse("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"\n2. 453 = 400 + 50 + 3"}}"#)
            + sse("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}"#)
            + sse("content_block_stop", #"{"type":"content_block_stop","index":0}"#)
            + sse("content_block_start", #"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#)
            + sse("content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"27 * 453 = 12,231"}}"#)
            + sse("content_block_stop", #"{"type":"content_block_stop","index":1}"#)
            + sse("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":57}}"#)
            + Self.messageStop
        #expect(try decodeAnthropicStream(stream) == [
            .start(id: "msg_014p7gG3wDgGV9EUtLvnow3U", model: "claude-sonnet-4-5-20250929",
                   usage: Usage(inputTokens: 2095, outputTokens: 1, cachedInputTokens: 2048)),
            .thinking("Let me solve this step by step:\n\n1. First break down 27 * 453"),
            .thinking("\n2. 453 = 400 + 50 + 3"),
            .thinkingSignature("EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"),
            .text("27 * 453 = 12,231"),
            .finish(.stop),
            .usage(Usage(inputTokens: 2095, outputTokens: 57, cachedInputTokens: 2048)),
        ])
    }

    @Test(arguments: [
        (#"{"output_tokens":89}"#, Usage(inputTokens: 2095, outputTokens: 89, cachedInputTokens: 2048)),
        (#"{"input_tokens":47,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":89}"#,
         Usage(inputTokens: 2095, outputTokens: 89, cachedInputTokens: 2048)),
        (#"{"input_tokens":null,"cache_creation_input_tokens":null,"cache_read_input_tokens":null,"output_tokens":89}"#,
         Usage(inputTokens: 2095, outputTokens: 89, cachedInputTokens: 2048)),
        (#"{"input_tokens":47,"cache_creation_input_tokens":512,"cache_read_input_tokens":2048,"output_tokens":89,"server_tool_use":{"web_search_requests":1}}"#,
         Usage(inputTokens: 2607, outputTokens: 89, cachedInputTokens: 2048, cacheCreationInputTokens: 512)),
    ])
    func theFinalUsageIsTheWholeRequests(usage: String, expected: Usage) throws {
        let stream = Self.messageStart
            + sse("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":\#(usage)}"#)
            + Self.messageStop
        #expect(try decodeAnthropicStream(stream).last == .usage(expected))
    }

    @Test func aStopSequenceIsNamed() throws {
        let stream = Self.messageStart
            + sse("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"stop_sequence","stop_sequence":"\n\nHuman:"},"usage":{"output_tokens":3}}"#)
            + Self.messageStop
        #expect(try decodeAnthropicStream(stream).dropFirst().first == .finish(.stopSequence("\n\nHuman:")))
    }

    @Test func serverToolBlocksAreNotToolCalls() throws {
        let stream = Self.messageStart
            + sse("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}"#)
            + sse("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"query\":\"weather\"}"}}"#)
            + sse("content_block_stop", #"{"type":"content_block_stop","index":0}"#)
            + sse("content_block_start", #"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}"#)
            + sse("content_block_delta", #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{}"}}"#)
            + sse("content_block_stop", #"{"type":"content_block_stop","index":1}"#)
            + Self.messageDelta + Self.messageStop
        let events = try decodeAnthropicStream(stream)
        #expect(Array(events.dropFirst().prefix(2)) == [
            .toolCallStart(index: 0, id: "toolu_1", name: "get_weather"), .toolCallArguments(index: 0, fragment: "{}"),
        ])
    }

    @Test func anEventThatIsNotJSONFailsTheStream() {
        let error = #expect(throws: AIError.self) { try decodeAnthropicStream(Self.messageStart + "event: content_block_delta\ndata: {oops\n\n") }
        #expect(error?.kind == .server)
    }
}

@Suite struct AnthropicMessagesStreamEncoderTests {
    static let events: [ChatStreamEvent] = [
        .start(id: "msg_01", model: "claude-sonnet-4-5-20250929", usage: Usage(inputTokens: 2095, outputTokens: 1, cachedInputTokens: 2048)),
        .text("Let me "),
        .text("check."),
        .toolCallStart(index: 0, id: "toolu_A", name: "get_weather"),
        .toolCallArguments(index: 0, fragment: #"{"city":"#),
        .toolCallStart(index: 1, id: "toolu_B", name: "get_time"),
        .toolCallArguments(index: 1, fragment: #"{"tz":"#),
        .toolCallArguments(index: 0, fragment: #""Paris"}"#),
        .toolCallArguments(index: 1, fragment: #""CET"}"#),
        .finish(.toolCalls),
        .usage(Usage(inputTokens: 2095, outputTokens: 89, cachedInputTokens: 2048)),
    ]

    @Test func eventsHaveAnthropicsNamesAndOrder() throws {
        let events = try anthropicEvents(encodeAnthropicStream(Self.events))
        #expect(events.map(\.name) == [
            "message_start",
            "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_stop",
            "message_delta", "message_stop",
        ])
        // Each event's data names its own type, as Anthropic's SDK dispatches on it.
        for event in events { #expect(event.data["type"]?.string == event.name) }
        // Text is block 0, closed before tool block 1 begins. The second call began while the
        // first one's block was open (its fragments interleaved): it is held back and goes out
        // whole, as block 2, once block 1 has stopped.
        #expect(events.map { $0.data["index"]?.integer } == [nil, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, nil, nil])
        #expect(events[7].data["delta"]?["partial_json"] == #""Paris"}"#)
        #expect(events[10].data["delta"]?["partial_json"] == #"{"tz":"CET"}"#)
    }

    /// Where each block's events fall: its start, the deltas that came while it was open, its
    /// stop, and the deltas that came after it (for blocks that got them).
    struct BlockTimeline {
        var startedTwice: [Int] = []
        var deltasBeforeStart: [Int] = []
        var deltasAfterStop: [Int] = []
        var stoppedButNotOpen: [Int] = []
        var openAtOnce = 0
        var openAtMessageDelta: Set<Int> = []
        var stopped: Set<Int> = []
    }

    private func timeline(_ events: [WrittenEvent]) -> BlockTimeline {
        var timeline = BlockTimeline()
        var open: Set<Int> = []
        for event in events {
            let index = event.data["index"]?.integer ?? -1
            switch event.name {
            case "content_block_start":
                if open.contains(index) || timeline.stopped.contains(index) { timeline.startedTwice.append(index) }
                open.insert(index)
                timeline.openAtOnce = max(timeline.openAtOnce, open.count)
            case "content_block_delta":
                if timeline.stopped.contains(index) { timeline.deltasAfterStop.append(index) }
                else if !open.contains(index) { timeline.deltasBeforeStart.append(index) }
            case "content_block_stop":
                if open.remove(index) == nil { timeline.stoppedButNotOpen.append(index) }
                timeline.stopped.insert(index)
            case "message_delta":
                timeline.openAtMessageDelta = open
            default:
                break
            }
        }
        return timeline
    }

    @Test func blocksStartOnceOneAtATimeAndAllStopBeforeTheMessageEnds() throws {
        let timeline = timeline(try anthropicEvents(encodeAnthropicStream(Self.events)))
        #expect(timeline.startedTwice.isEmpty)
        #expect(timeline.deltasBeforeStart.isEmpty)
        #expect(timeline.stoppedButNotOpen.isEmpty)
        #expect(timeline.openAtOnce == 1)
        #expect(timeline.openAtMessageDelta.isEmpty)
        #expect(timeline.stopped == [0, 1, 2])
    }

    /// Anthropic never sends a delta for a block it has stopped, and clients rely on it: the AI
    /// SDK's Anthropic provider (vercel/ai, packages/anthropic) emits a tool call at its
    /// `content_block_stop` with the JSON gathered so far and forgets the block, so a later
    /// `input_json_delta` for it finds no block (its call went out as `{"city":`). A provider
    /// that interleaves two calls' fragments (OpenAI's format allows it) gives such late deltas.
    @Test func noDeltaComesAfterItsBlocksStop() throws {
        let timeline = timeline(try anthropicEvents(encodeAnthropicStream(Self.events)))
        #expect(timeline.deltasAfterStop.isEmpty, "late deltas for blocks \(timeline.deltasAfterStop)")
    }

    /// Calls that do not interleave (as OpenAI and Anthropic send them) are one block each,
    /// start, deltas, stop, in turn.
    @Test func callsInTurnAreBlocksInTurn() throws {
        let events: [ChatStreamEvent] = [
            .start(id: "msg_1", model: "claude", usage: Usage(inputTokens: 5, outputTokens: 1)),
            .toolCallStart(index: 0, id: "toolu_A", name: "get_weather"),
            .toolCallArguments(index: 0, fragment: #"{"city":"#),
            .toolCallArguments(index: 0, fragment: #""Paris"}"#),
            .toolCallStart(index: 1, id: "toolu_B", name: "get_time"),
            .toolCallArguments(index: 1, fragment: #"{"tz":"CET"}"#),
            .finish(.toolCalls),
        ]
        let written = try anthropicEvents(encodeAnthropicStream(events))
        #expect(written.map { "\($0.name) \($0.data["index"]?.integer.map(String.init) ?? "-")" } == [
            "message_start -",
            "content_block_start 0", "content_block_delta 0", "content_block_delta 0", "content_block_stop 0",
            "content_block_start 1", "content_block_delta 1", "content_block_stop 1",
            "message_delta -", "message_stop -",
        ])
        let timeline = timeline(written)
        #expect(timeline.deltasAfterStop.isEmpty)
        #expect(timeline.openAtOnce == 1)
    }

    @Test func eventsCarryWhatAnthropicsSDKAssembles() throws {
        let events = try anthropicEvents(encodeAnthropicStream(Self.events))
        #expect(events[0].data.text == #"{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":47,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":1}}}"#)
        #expect(events[1].data.text == #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#)
        #expect(events[5].data.text == #"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_A","name":"get_weather","input":{}}}"#)
        #expect(events[9].data["content_block"]?["id"] == "toolu_B")
        #expect(events[9].data["content_block"]?["name"] == "get_time")

        // What a client puts together, block by block.
        var text = ""
        var json: [Int: String] = [:]
        for event in events where event.name == "content_block_delta" {
            let delta = event.data["delta"]
            switch delta?["type"]?.string {
            case "text_delta": text += delta?["text"]?.string ?? ""
            case "input_json_delta": json[event.data["index"]?.integer ?? -1, default: ""] += delta?["partial_json"]?.string ?? ""
            default: Issue.record("unexpected delta \(event.data.text)")
            }
        }
        #expect(text == "Let me check.")
        #expect(try json.mapValues { try JSON.parse($0) } == [1: ["city": "Paris"], 2: ["tz": "CET"]])

        let messageDelta = events[events.count - 2].data
        #expect(messageDelta.text == #"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":47,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":89}}"#)
        #expect(events.last?.data.text == #"{"type":"message_stop"}"#)
    }

    @Test func whatTheEncoderWritesTheDecoderReadsBack() throws {
        let out = Array(encodeAnthropicStream(Self.events).readableBytesView)
        // The same events, but the second call's (interleaved) arguments come whole, after the first call's.
        let expected: [ChatStreamEvent] = Array(Self.events.prefix(5)) + [
            .toolCallArguments(index: 0, fragment: #""Paris"}"#),
            .toolCallStart(index: 1, id: "toolu_B", name: "get_time"),
            .toolCallArguments(index: 1, fragment: #"{"tz":"CET"}"#),
        ] + Self.events.suffix(2)
        #expect(try decodeAnthropicStream([out]) == expected)
        #expect(try decodeAnthropicStream(oneByteAtATime(out)) == expected)
    }

    @Test func theDecodersEventsReEncodeToTheSameEvents() throws {
        let decoded = try decodeAnthropicStream(AnthropicMessagesStreamDecoderTests.stream)
        let reencoded = Array(encodeAnthropicStream(decoded).readableBytesView)
        #expect(try decodeAnthropicStream([reencoded]) == decoded)
    }

    /// What does not survive a trip through Anthropic's stream format:
    /// - a start without usage comes back with zero usage: `message_start` always has a usage object;
    /// - the start's output count is at most 1 (`message_start` reports the prompt, not the answer);
    /// - an empty argument fragment is written but not read back (it says nothing);
    /// - the finish and the usage come back last, finish first, wherever they were: both travel
    ///   in `message_delta`, which is written when the stream finishes;
    /// - reasoning tokens and `estimated` have no place in Anthropic's usage.
    @Test func theRoundTripsDocumentedDifferences() throws {
        let events: [ChatStreamEvent] = [
            .start(id: "chatcmpl-1", model: "gpt-4o", usage: nil),
            .usage(Usage(inputTokens: 10, outputTokens: 3, reasoningTokens: 2, estimated: true)),
            .text("Hi"),
            .toolCallStart(index: 0, id: "call_a", name: "ping"),
            .toolCallArguments(index: 0, fragment: ""),
            .toolCallArguments(index: 0, fragment: "{}"),
            .finish(.toolCalls),
        ]
        let started: [ChatStreamEvent] = [
            .start(id: "msg_1", model: "claude", usage: Usage(inputTokens: 10, outputTokens: 7)), .finish(.stop),
        ]
        #expect(try decodeAnthropicStream([Array(encodeAnthropicStream(events).readableBytesView)]) == [
            .start(id: "chatcmpl-1", model: "gpt-4o", usage: Usage(inputTokens: 0, outputTokens: 0)),
            .text("Hi"),
            .toolCallStart(index: 0, id: "call_a", name: "ping"),
            .toolCallArguments(index: 0, fragment: "{}"),
            .finish(.toolCalls),
            .usage(Usage(inputTokens: 10, outputTokens: 3)),
        ])
        #expect(try decodeAnthropicStream([Array(encodeAnthropicStream(started).readableBytesView)]) == [
            .start(id: "msg_1", model: "claude", usage: Usage(inputTokens: 10, outputTokens: 1)),
            .finish(.stop),
            .usage(Usage(inputTokens: 10, outputTokens: 7)),
        ])
    }

    @Test(arguments: [
        FinishReason.stop, .stopSequence("END"), .stopSequence(nil), .length, .toolCalls, .contentFilter, .pauseTurn,
        .other("compaction"),
    ])
    func finishReasonsSurviveTheStream(reason: FinishReason) throws {
        let events: [ChatStreamEvent] = [
            .start(id: "msg_1", model: "claude", usage: Usage(inputTokens: 5, outputTokens: 1)),
            .text("1, 2, 3"),
            .finish(reason),
            .usage(Usage(inputTokens: 5, outputTokens: 6)),
        ]
        let out = encodeAnthropicStream(events)
        let messageDelta = try #require(try anthropicEvents(out).first { $0.name == "message_delta" })
        #expect(messageDelta.data["delta"]?["stop_reason"] == .string(reason.anthropic))
        #expect(try decodeAnthropicStream([Array(out.readableBytesView)]) == events)
    }

    @Test func thinkingIsItsOwnBlockWithItsSignature() throws {
        let events: [ChatStreamEvent] = [
            .start(id: "msg_1", model: "claude", usage: Usage(inputTokens: 5, outputTokens: 1)),
            .thinking("Let me think"),
            .thinking(" about it."),
            .thinkingSignature("EqQBCgIYAh"),
            .text("Yes."),
            .finish(.stop),
            .usage(Usage(inputTokens: 5, outputTokens: 20)),
        ]
        let out = encodeAnthropicStream(events)
        let written = try anthropicEvents(out)
        #expect(written.map(\.name) == [
            "message_start",
            "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_stop",
            "message_delta", "message_stop",
        ])
        #expect(written[1].data["content_block"]?["type"] == "thinking")
        #expect(written[4].data["delta"]?.text == #"{"type":"signature_delta","signature":"EqQBCgIYAh"}"#)
        #expect(written[6].data["index"] == 1)
        #expect(written[6].data["content_block"]?["type"] == "text")
        #expect(try decodeAnthropicStream([Array(out.readableBytesView)]) == events)
    }

    @Test func anErrorIsWrittenAsAnErrorEvent() throws {
        var encoder = AnthropicMessagesStreamEncoder()
        var out = ByteBuffer()
        encoder.encode(.start(id: "msg_1", model: "claude", usage: nil), into: &out)
        encoder.encode(.text("Let me "), into: &out)
        encoder.encode(.error(AIError(.overloaded, "Overloaded", code: "overloaded_error")), into: &out)
        let events = try anthropicEvents(out)
        #expect(events.map(\.name) == ["message_start", "content_block_start", "content_block_delta", "error"])
        #expect(events.last?.data.text == #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#)

        let (decoded, finishError) = try decodeAnthropicStreamUntilFinish(String(buffer: out))
        #expect(finishError == nil)
        guard case .error(let error)? = decoded.last else {
            Issue.record("expected an error event, got \(decoded)")
            return
        }
        #expect(error.kind == .overloaded)
        #expect(error.message == "Overloaded")
    }

    /// Anthropic's stream ends at an `error` event. AIExchange.relay encodes a provider's error
    /// event and then calls `finish(into:)` as for any stream whose body ended, so whatever
    /// `finish` writes reaches the client after the error.
    @Test func nothingFollowsAnErrorEvent() throws {
        var encoder = AnthropicMessagesStreamEncoder()
        var out = ByteBuffer()
        encoder.encode(.start(id: "msg_1", model: "claude", usage: nil), into: &out)
        encoder.encode(.text("Let me "), into: &out)
        encoder.encode(.error(AIError(.overloaded, "Overloaded", code: "overloaded_error")), into: &out)
        encoder.finish(into: &out)
        let names = try anthropicEvents(out).map(\.name)
        #expect(names.last == "error", "\(names)")
    }
}
