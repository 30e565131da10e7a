import KonnectAI
import NIOCore
import Testing

// MARK: - Helpers

/// The error `OpenAIChat.request(from:)` gives for `text`, or nil when it reads.
func openAIRequestError(_ text: String) throws -> AIError? {
    let body = try JSON.parse(text)
    return thrownAIError { () throws(AIError) in
        _ = try OpenAIChat.request(from: body)
    }
}

/// Feeds `pieces` to a new OpenAI stream decoder, then finishes it.
func decodeOpenAIStream(_ pieces: [[UInt8]]) throws(AIError) -> [ChatStreamEvent] {
    try decodeStream(OpenAIChatStreamDecoder(), pieces)
}

func decodeOpenAIStream(_ text: String) throws(AIError) -> [ChatStreamEvent] {
    try decodeOpenAIStream([Array(text.utf8)])
}

/// The events a decoder gives for `text` before its end, and the error `finish()` throws.
func decodeOpenAIStreamUntilFinish(_ text: String) throws -> (events: [ChatStreamEvent], finishError: AIError?) {
    try decodeStreamUntilFinish(OpenAIChatStreamDecoder(), text)
}

func encodeOpenAIStream(_ events: [ChatStreamEvent], includeUsage: Bool) -> ByteBuffer {
    var encoder = OpenAIChatStreamEncoder(includeUsage: includeUsage, created: 1_741_569_952)
    var out = ByteBuffer()
    for event in events { encoder.encode(event, into: &out) }
    encoder.finish(into: &out)
    return out
}

/// The tool calls' argument text, put together by index.
func toolArguments(_ events: [ChatStreamEvent]) -> [Int: String] {
    var arguments: [Int: String] = [:]
    for case .toolCallArguments(let index, let fragment) in events { arguments[index, default: ""] += fragment }
    return arguments
}

// MARK: - Requests

@Suite struct OpenAIChatRequestTests {
    static let realistic = #"""
    {
      "model": "gpt-4o",
      "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "name": "alice", "content": [
          {"type": "text", "text": "What is in this image, and the weather in Paris?"},
          {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}
        ]},
        {"role": "assistant", "content": null, "tool_calls": [
          {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp_c\":18}"}
      ],
      "tools": [{"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"unit": {"type": "string", "enum": ["c", "f"]}, "city": {"type": "string"}}, "required": ["city"]},
        "strict": true}}],
      "tool_choice": "auto",
      "parallel_tool_calls": false,
      "max_completion_tokens": 256,
      "temperature": 0.7,
      "top_p": 0.9,
      "stop": ["\n\n", "END"],
      "seed": 42,
      "n": 1,
      "presence_penalty": -0.5,
      "frequency_penalty": 0.25,
      "response_format": {"type": "json_schema", "json_schema": {"name": "weather", "schema": {"type": "object", "properties": {"temp": {"type": "number"}, "city": {"type": "string"}}}, "strict": true}},
      "stream": true,
      "stream_options": {"include_usage": true},
      "user": "user-1234",
      "logprobs": true,
      "top_logprobs": 2,
      "metadata": {"team": "search"}
    }
    """#

    @Test func aRealisticRequestIsRead() throws {
        let request = try OpenAIChat.request(from: JSON.parse(Self.realistic))
        #expect(request.model == "gpt-4o")
        #expect(request.messages.map(\.role) == [.system, .user, .assistant, .tool])

        #expect(request.messages[0].content == [.text("You are terse.")])

        let user = request.messages[1]
        #expect(user.name == "alice")
        #expect(user.content == [
            .text("What is in this image, and the weather in Paris?"),
            .image(url: "data:image/png;base64,iVBORw0KGgo=", detail: "low"),
        ])

        let assistant = request.messages[2]
        #expect(assistant.content == [])
        #expect(assistant.toolCalls == [ToolCall(id: "call_1", name: "get_weather", arguments: #"{"city":"Paris"}"#)])

        let tool = request.messages[3]
        #expect(tool.toolCallID == "call_1")
        #expect(tool.text == #"{"temp_c":18}"#)

        #expect(request.tools.count == 1)
        #expect(request.tools.first?.name == "get_weather")
        #expect(request.tools.first?.description == "Current weather in a city")
        #expect(request.tools.first?.strict == true)
        // The schema reaches the model in its author's order.
        #expect(request.tools.first?.parameters?.text
            == #"{"type":"object","properties":{"unit":{"type":"string","enum":["c","f"]},"city":{"type":"string"}},"required":["city"]}"#)

        #expect(request.toolChoice == .auto)
        #expect(request.parallelToolCalls == false)
        #expect(request.maxTokens == 256)
        #expect(request.temperature == 0.7)
        #expect(request.topP == 0.9)
        #expect(request.stop == ["\n\n", "END"])
        #expect(request.seed == 42)
        #expect(request.choices == 1)
        #expect(request.presencePenalty == -0.5)
        #expect(request.frequencyPenalty == 0.25)
        #expect(request.responseFormat == .jsonSchema(
            name: "weather",
            schema: ["type": "object", "properties": ["temp": ["type": "number"], "city": ["type": "string"]]],
            strict: true))
        #expect(request.stream)
        #expect(request.streamUsage)
        #expect(request.user == "user-1234")
        #expect(request.otherFields == ["logprobs": true, "top_logprobs": 2, "metadata": ["team": "search"]])
    }

    @Test(arguments: [
        (#""auto""#, ToolChoice.auto),
        (#""none""#, ToolChoice.none),
        (#""required""#, ToolChoice.required),
        (#"{"type":"function","function":{"name":"get_weather"}}"#, ToolChoice.function("get_weather")),
        ("null", nil),
    ] as [(String, ToolChoice?)])
    func toolChoiceForms(json: String, expected: ToolChoice?) throws {
        let body = #"{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":\#(json)}"#
        #expect(try OpenAIChat.request(from: JSON.parse(body)).toolChoice == expected)
    }

    @Test(arguments: [
        (#""END""#, ["END"]),
        (#"["a","\n"]"#, ["a", "\n"]),
        ("[]", []),
        ("null", []),
    ] as [(String, [String])])
    func stopForms(json: String, expected: [String]) throws {
        let body = #"{"model":"m","messages":[{"role":"user","content":"hi"}],"stop":\#(json)}"#
        #expect(try OpenAIChat.request(from: JSON.parse(body)).stop == expected)
    }

    @Test(arguments: [
        (#"{"type":"text"}"#, ResponseFormat.text),
        (#"{"type":"json_object"}"#, ResponseFormat.jsonObject),
        (#"{"type":"json_schema","json_schema":{"name":"n"}}"#, ResponseFormat.jsonSchema(name: "n", schema: [:], strict: nil)),
    ])
    func responseFormatForms(json: String, expected: ResponseFormat) throws {
        let body = #"{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":\#(json)}"#
        #expect(try OpenAIChat.request(from: JSON.parse(body)).responseFormat == expected)
    }

    @Test func streamOptionsAndDefaults() throws {
        let plain = try OpenAIChat.request(from: JSON.parse(#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#))
        #expect(!plain.stream)
        #expect(!plain.streamUsage)
        #expect(plain.maxTokens == nil)
        #expect(plain.otherFields.isEmpty)

        let streamed = try OpenAIChat.request(from: JSON.parse(
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":false}}"#))
        #expect(streamed.stream)
        #expect(!streamed.streamUsage)
    }

    @Test func olderFieldNamesAreRead() throws {
        let body = #"""
        {"model":"m","max_tokens":64,"messages":[
          {"role":"developer","content":"Be brief."},
          {"role":"user","content":[{"type":"image_url","image_url":"https://example.com/cat.png"}]},
          {"role":"assistant","content":[{"type":"refusal","refusal":"I can't."}]}]}
        """#
        let request = try OpenAIChat.request(from: JSON.parse(body))
        #expect(request.maxTokens == 64)
        #expect(request.messages[0].role == .system)
        #expect(request.messages[1].content == [.image(url: "https://example.com/cat.png", detail: nil)])
        #expect(request.messages[2].text == "I can't.")
    }

    @Test func maxCompletionTokensWinsOverMaxTokens() throws {
        let body = #"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":10,"max_completion_tokens":20}"#
        #expect(try OpenAIChat.request(from: JSON.parse(body)).maxTokens == 20)
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
        #"{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]}"#

    /// A request body with `messages` and the `extra` fields.
    static func body(messages: String = hi, _ extra: String = "") -> String {
        #"{"model":"m","messages":[\#(messages)]\#(extra.isEmpty ? "" : "," + extra)}"#
    }

    static let refusals: [Refusal] = [
        Refusal(label: "body not an object", body: "[]", param: "body"),
        Refusal(label: "model missing", body: #"{"messages":[\#(hi)]}"#, param: "model"),
        Refusal(label: "model not a string", body: #"{"model":4,"messages":[\#(hi)]}"#, param: "model"),
        Refusal(label: "messages missing", body: #"{"model":"m"}"#, param: "messages"),
        Refusal(label: "messages empty", body: #"{"model":"m","messages":[]}"#, param: "messages"),
        Refusal(label: "messages a string", body: #"{"model":"m","messages":"hi"}"#, param: "messages"),
        Refusal(label: "message not an object", body: body(messages: "42"), param: "messages[0]"),
        Refusal(label: "role missing", body: body(messages: #"{"content":"hi"}"#), param: "messages[0].role"),
        Refusal(label: "role invalid", body: body(messages: hi + #",{"role":"robot","content":"x"}"#), param: "messages[1].role"),
        Refusal(label: "user content missing", body: body(messages: #"{"role":"user"}"#), param: "messages[0].content"),
        Refusal(label: "content a number", body: body(messages: #"{"role":"user","content":7}"#), param: "messages[0].content"),
        Refusal(label: "content part not an object",
                body: body(messages: #"{"role":"user","content":["hi"]}"#), param: "messages[0].content[0]"),
        Refusal(label: "content part type unknown",
                body: body(messages: #"{"role":"user","content":[{"type":"input_audio"}]}"#), param: "messages[0].content[0].type"),
        Refusal(label: "text part without text",
                body: body(messages: #"{"role":"user","content":[{"type":"text"}]}"#), param: "messages[0].content[0].text"),
        Refusal(label: "image without url",
                body: body(messages: hi + #",{"role":"user","content":[{"type":"image_url","image_url":{"detail":"low"}}]}"#),
                param: "messages[1].content[0].image_url.url"),
        Refusal(label: "image in a system message",
                body: body(messages: #"{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}"#),
                param: "messages[0].content[0].type"),
        Refusal(label: "tool message without tool_call_id",
                body: body(messages: hi + "," + callingAssistant + #",{"role":"tool","content":"42"}"#),
                param: "messages[2].tool_call_id"),
        Refusal(label: "tool call without id",
                body: body(messages: hi + #",{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f"}}]}"#),
                param: "messages[1].tool_calls[0].id"),
        Refusal(label: "tool call without function",
                body: body(messages: hi + #",{"role":"assistant","tool_calls":[{"id":"c","type":"function"}]}"#),
                param: "messages[1].tool_calls[0].function"),
        Refusal(label: "tool call without name",
                body: body(messages: hi + #",{"role":"assistant","tool_calls":[{"id":"c","function":{"arguments":"{}"}}]}"#),
                param: "messages[1].tool_calls[0].function.name"),
        Refusal(label: "name not a string", body: body(messages: #"{"role":"user","content":"hi","name":1}"#), param: "messages[0].name"),
        Refusal(label: "temperature 3", body: body(#""temperature":3"#), param: "temperature"),
        Refusal(label: "temperature negative", body: body(#""temperature":-0.1"#), param: "temperature"),
        Refusal(label: "temperature a string", body: body(#""temperature":"hot""#), param: "temperature"),
        Refusal(label: "top_p 1.5", body: body(#""top_p":1.5"#), param: "top_p"),
        Refusal(label: "presence_penalty 2.5", body: body(#""presence_penalty":2.5"#), param: "presence_penalty"),
        Refusal(label: "frequency_penalty -3", body: body(#""frequency_penalty":-3"#), param: "frequency_penalty"),
        Refusal(label: "max_tokens 0", body: body(#""max_tokens":0"#), param: "max_tokens"),
        Refusal(label: "max_tokens fractional", body: body(#""max_tokens":1.5"#), param: "max_tokens"),
        Refusal(label: "max_completion_tokens negative", body: body(#""max_completion_tokens":-5"#), param: "max_completion_tokens"),
        Refusal(label: "n 0", body: body(#""n":0"#), param: "n"),
        Refusal(label: "seed fractional", body: body(#""seed":1.5"#), param: "seed"),
        Refusal(label: "stream a string", body: body(#""stream":"yes""#), param: "stream"),
        Refusal(label: "stream_options not an object", body: body(#""stream":true,"stream_options":true"#), param: "stream_options"),
        Refusal(label: "include_usage a string",
                body: body(#""stream":true,"stream_options":{"include_usage":"yes"}"#), param: "stream_options.include_usage"),
        Refusal(label: "parallel_tool_calls a string", body: body(#""parallel_tool_calls":"no""#), param: "parallel_tool_calls"),
        Refusal(label: "tools not an array", body: body(#""tools":{}"#), param: "tools"),
        Refusal(label: "tool not an object", body: body(#""tools":[1]"#), param: "tools[0]"),
        Refusal(label: "tool name missing", body: body(#""tools":[{"type":"function","function":{"parameters":{}}}]"#),
                param: "tools[0].function.name"),
        Refusal(label: "second tool's name missing",
                body: body(#""tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{}}]"#),
                param: "tools[1].function.name"),
        Refusal(label: "tool function missing", body: body(#""tools":[{"type":"function"}]"#), param: "tools[0].function"),
        Refusal(label: "tool type not function", body: body(#""tools":[{"type":"code_interpreter"}]"#), param: "tools[0].type"),
        Refusal(label: "tool parameters not a schema",
                body: body(#""tools":[{"type":"function","function":{"name":"a","parameters":"x"}}]"#),
                param: "tools[0].function.parameters"),
        Refusal(label: "tool_choice unknown word", body: body(#""tool_choice":"sometimes""#), param: "tool_choice"),
        Refusal(label: "tool_choice function without name", body: body(#""tool_choice":{"type":"function"}"#),
                param: "tool_choice.function.name"),
        Refusal(label: "stop a number", body: body(#""stop":5"#), param: "stop"),
        Refusal(label: "stop[1] not a string", body: body(#""stop":["a",1]"#), param: "stop[1]"),
        Refusal(label: "response_format type unknown", body: body(#""response_format":{"type":"yaml"}"#), param: "response_format.type"),
        Refusal(label: "json_schema missing", body: body(#""response_format":{"type":"json_schema"}"#),
                param: "response_format.json_schema"),
        Refusal(label: "json_schema name missing", body: body(#""response_format":{"type":"json_schema","json_schema":{"schema":{}}}"#),
                param: "response_format.json_schema.name"),
        Refusal(label: "user a number", body: body(#""user":42"#), param: "user"),
    ]

    @Test(arguments: refusals)
    func badRequestsNameTheField(refusal: Refusal) throws {
        let error = try openAIRequestError(refusal.body)
        #expect(error?.param == refusal.param)
        #expect(error?.kind == .invalidRequest)
        #expect(error?.status == 400)
        #expect(error?.message.hasPrefix(refusal.param + ": ") == true, "\(error?.message ?? "accepted")")
    }

    @Test func aRefusalReachesTheClientWithItsParam() throws {
        let error = try #require(try openAIRequestError(Self.body(messages: Self.hi + #",{"role":"robot","content":"x"}"#)))
        let (status, body) = OpenAIChat.errorBody(error)
        #expect(status == 400)
        #expect(body.text == #"{"error":{"message":"messages[1].role: must be one of system, developer, user, assistant, tool, not robot","type":"invalid_request_error","param":"messages[1].role","code":null}}"#)
    }

    @Test func rangeMessagesShowWholeNumbers() throws {
        let error = try #require(try openAIRequestError(Self.body(#""temperature":3"#)))
        #expect(error.message == "temperature: must be between 0 and 2")
    }

    // MARK: Writing

    @Test func requestBodyUsesTheDeploymentsModelAndAsksForUsage() throws {
        var request = ChatRequest(model: "my-alias", messages: [
            ChatMessage(role: .system, text: "Be brief."),
            ChatMessage(role: .user, text: "Hi"),
        ])
        request.stream = true
        request.streamUsage = false
        request.maxTokens = 100
        request.temperature = 0.7
        request.otherFields = ["logit_bias": ["50256": -100], "logprobs": true]
        #expect(OpenAIChat.requestBody(request, model: "gpt-4o-mini").text == #"{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"max_tokens":100,"temperature":0.7,"stream":true,"stream_options":{"include_usage":true},"logit_bias":{"50256":-100},"logprobs":true}"#)
    }

    @Test func aRequestNotStreamedHasNoStreamFields() {
        let request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        let body = OpenAIChat.requestBody(request, model: "gpt-4o")
        #expect(body["stream"] == nil)
        #expect(body["stream_options"] == nil)
        #expect(body.text == #"{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}"#)
    }

    @Test func theTokenLimitGoesInTheFieldTheServerWants() {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        request.maxTokens = 500
        let body = OpenAIChat.requestBody(request, model: "o3", maxTokensField: "max_completion_tokens")
        #expect(body["max_completion_tokens"] == 500)
        #expect(body["max_tokens"] == nil)
    }

    @Test func aRealisticRequestIsWrittenForTheServer() throws {
        let request = try OpenAIChat.request(from: JSON.parse(Self.realistic))
        let body = OpenAIChat.requestBody(request, model: "gpt-4o-2024-08-06")
        #expect(body["model"] == "gpt-4o-2024-08-06")
        #expect(body.object?.keys == [
            "model", "messages", "tools", "tool_choice", "parallel_tool_calls", "max_tokens", "temperature", "top_p",
            "stop", "seed", "n", "presence_penalty", "frequency_penalty", "response_format", "stream", "stream_options",
            "user", "logprobs", "top_logprobs", "metadata",
        ])
        let messages = try #require(body["messages"]?.array)
        #expect(messages[1].text == #"{"role":"user","content":[{"type":"text","text":"What is in this image, and the weather in Paris?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"low"}}],"name":"alice"}"#)
        #expect(messages[2].text == #"{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}"#)
        #expect(messages[3].text == #"{"role":"tool","content":"{\"temp_c\":18}","tool_call_id":"call_1"}"#)
        #expect(body["tools"]?.text == #"[{"type":"function","function":{"name":"get_weather","description":"Current weather in a city","parameters":{"type":"object","properties":{"unit":{"type":"string","enum":["c","f"]},"city":{"type":"string"}},"required":["city"]},"strict":true}}]"#)
        #expect(body["stop"] == ["\n\n", "END"])
        #expect(body["response_format"]?.text == #"{"type":"json_schema","json_schema":{"name":"weather","schema":{"type":"object","properties":{"temp":{"type":"number"},"city":{"type":"string"}}},"strict":true}}"#)
        #expect(body["stream_options"] == ["include_usage": true])
        #expect(body["metadata"] == ["team": "search"])
    }

    @Test func whatKonnectWritesReadsBackAsTheSameRequest() throws {
        let request = try OpenAIChat.request(from: JSON.parse(Self.realistic))
        let written = OpenAIChat.requestBody(request, model: request.model).buffer
        #expect(try OpenAIChat.request(from: JSON.parse(written)) == request)
    }

    @Test(arguments: [
        (ToolChoice.auto, #""auto""#),
        (ToolChoice.none, #""none""#),
        (ToolChoice.required, #""required""#),
        (ToolChoice.function("get_weather"), #"{"type":"function","function":{"name":"get_weather"}}"#),
    ])
    func toolChoiceIsWritten(choice: ToolChoice, json: String) {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        request.toolChoice = choice
        #expect(OpenAIChat.requestBody(request, model: "m")["tool_choice"]?.text == json)
    }

    /// Text parts are separate pieces of the prompt: joined without a break, "Summarize:" and
    /// "The report…" reach the model as "Summarize:The report…".
    @Test func textPartsReachTheServerApart() throws {
        let body = #"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"Summarize:"},{"type":"text","text":"The report says sales rose."}]}]}"#
        let request = try OpenAIChat.request(from: JSON.parse(body))
        #expect(request.messages[0].content == [.text("Summarize:"), .text("The report says sales rose.")])
        let written = OpenAIChat.requestBody(request, model: "gpt-4o")["messages"]?.array?.first?["content"]
        #expect(written == [["type": "text", "text": "Summarize:"], ["type": "text", "text": "The report says sales rose."]])
    }

    @Test func aSingleStopIsWrittenAsAString() {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        request.stop = ["END"]
        #expect(OpenAIChat.requestBody(request, model: "m")["stop"] == "END")
    }
}

// MARK: - Responses

@Suite struct OpenAIChatResponseTests {
    static let toolCallAnswer = #"""
    {
      "id": "chatcmpl-abc123",
      "object": "chat.completion",
      "created": 1741569952,
      "model": "gpt-4o-2024-08-06",
      "choices": [{
        "index": 0,
        "message": {
          "role": "assistant", "content": null, "refusal": null, "annotations": [],
          "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\":\"CET\"}"}}
          ]
        },
        "logprobs": null,
        "finish_reason": "tool_calls"
      }],
      "usage": {
        "prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 64, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
      },
      "service_tier": "default",
      "system_fingerprint": "fp_50cad350e4"
    }
    """#

    @Test func aToolCallAnswerIsRead() throws {
        let response = try OpenAIChat.response(from: JSON.parse(Self.toolCallAnswer))
        #expect(response.id == "chatcmpl-abc123")
        #expect(response.model == "gpt-4o-2024-08-06")
        #expect(response.created == 1_741_569_952)
        #expect(response.choices.count == 1)
        let choice = try #require(response.choices.first)
        #expect(choice.index == 0)
        #expect(choice.finishReason == .toolCalls)
        #expect(choice.message.role == .assistant)
        #expect(choice.message.content == [])
        #expect(choice.message.toolCalls == [
            ToolCall(id: "call_a", name: "get_weather", arguments: #"{"city":"Paris"}"#),
            ToolCall(id: "call_b", name: "get_time", arguments: #"{"tz":"CET"}"#),
        ])
        #expect(response.usage == Usage(inputTokens: 2006, outputTokens: 300, cachedInputTokens: 1920, reasoningTokens: 64))
    }

    @Test func aToolCallAnswerIsWrittenForTheClient() throws {
        let response = try OpenAIChat.response(from: JSON.parse(Self.toolCallAnswer))
        let body = OpenAIChat.responseBody(response)
        #expect(body.object?.keys == ["id", "object", "created", "model", "choices", "usage"])
        #expect(body["object"] == "chat.completion")
        #expect(body["created"]?.text == "1741569952")
        let choice = try #require(body["choices"]?.array?.first)
        #expect(choice["index"] == 0)
        #expect(choice["finish_reason"] == "tool_calls")
        // content is present and null, as OpenAI sends it with tool calls.
        #expect(choice["message"]?.object?.fields.first(where: { $0.key == "content" })?.value == .null)
        #expect(choice["message"]?["tool_calls"]?.text == #"[{"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{\"tz\":\"CET\"}"}}]"#)
        #expect(body["usage"]?.text == #"{"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,"prompt_tokens_details":{"cached_tokens":1920},"completion_tokens_details":{"reasoning_tokens":64}}"#)
    }

    @Test func responsesRoundTrip() throws {
        let toolCalls = try OpenAIChat.response(from: JSON.parse(Self.toolCallAnswer))
        var withReasoning = ChatResponse(id: "chatcmpl-2", model: "deepseek-reasoner", created: 1_700_000_000, choices: [
            ChatChoice(index: 0, message: ChatMessage(role: .assistant, content: [
                .thinking("The user greets me.", signature: nil), .text("Hello!"),
            ]), finishReason: .stop),
        ], usage: Usage(inputTokens: 10, outputTokens: 20, reasoningTokens: 15))
        withReasoning.choices.append(
            ChatChoice(index: 1, message: ChatMessage(role: .assistant, text: "Hi"), finishReason: .length))
        for response in [toolCalls, withReasoning] {
            let text = OpenAIChat.responseBody(response).text
            #expect(try OpenAIChat.response(from: JSON.parse(text)) == response, "\(text)")
        }
    }

    @Test(arguments: [
        ("stop", FinishReason.stop),
        ("length", FinishReason.length),
        ("tool_calls", FinishReason.toolCalls),
        ("function_call", FinishReason.toolCalls),
        ("content_filter", FinishReason.contentFilter),
        ("eos", FinishReason.other("eos")),
    ])
    func finishReasonsAreRead(word: String, reason: FinishReason) throws {
        let body = #"{"id":"x","model":"m","created":1,"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"\#(word)"}]}"#
        let response = try OpenAIChat.response(from: JSON.parse(body))
        #expect(response.choices.first?.finishReason == reason)
        #expect(response.choices.first?.message.text == "ok")
        #expect(response.usage == nil)
    }

    @Test func aRefusalIsReadAsText() throws {
        let body = #"{"id":"x","model":"m","created":1,"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}"#
        #expect(try OpenAIChat.response(from: JSON.parse(body)).choices.first?.message.text == "I can't help with that.")
    }

    @Test func anAnswerWithoutChoicesIsAProviderFailure() throws {
        let body = try JSON.parse(#"{"id":"x","object":"chat.completion"}"#)
        let error = #expect(throws: AIError.self) { try OpenAIChat.response(from: body) }
        #expect(error?.kind == .server)
        #expect(error?.allowsFallback == true)
    }

    @Test func usageWithCacheWritesIsWrittenWithThem() {
        let response = ChatResponse(id: "x", model: "m", created: 1, choices: [], usage:
            Usage(inputTokens: 100, outputTokens: 5, cachedInputTokens: 20, cacheCreationInputTokens: 30, estimated: true))
        #expect(OpenAIChat.responseBody(response)["usage"]?.text == #"{"prompt_tokens":100,"completion_tokens":5,"total_tokens":105,"prompt_tokens_details":{"cached_tokens":20,"cache_creation_tokens":30},"completion_tokens_details":{"reasoning_tokens":0},"estimated":true}"#)
    }

    // MARK: Errors

    @Test(arguments: [
        (AIError(.overloaded, "Overloaded"), 503, "service_unavailable_error"),
        (AIError(.unavailable, "No deployment answered"), 503, "service_unavailable_error"),
        (AIError(.rateLimited, "Slow down", code: "rate_limit_exceeded"), 429, "rate_limit_error"),
        (AIError(.authentication, "Bad key"), 401, "authentication_error"),
        (AIError(.permission, "Not allowed"), 403, "permission_error"),
        (AIError(.notFound, "No such model"), 404, "invalid_request_error"),
        (AIError(.requestTooLarge, "Too long"), 413, "invalid_request_error"),
        (AIError.invalid("messages", "is required"), 400, "invalid_request_error"),
        (AIError(.server, "Bad gateway"), 502, "server_error"),
        (AIError(.server, status: 500, "Internal"), 500, "server_error"),
        (AIError(.timeout, "Too slow"), 504, "server_error"),
    ] as [(AIError, Int, String)])
    func errorsAreWrittenInOpenAIsShape(error: AIError, status: Int, type: String) {
        let (written, body) = OpenAIChat.errorBody(error)
        #expect(written == status)
        #expect(body.object?.keys == ["error"])
        #expect(body["error"]?.object?.keys == ["message", "type", "param", "code"])
        #expect(body["error"]?["message"] == .string(error.message))
        #expect(body["error"]?["type"] == .string(type))
        #expect(body["error"]?["param"] == (error.param.map(JSON.string) ?? .null))
        #expect(body["error"]?["code"] == (error.code.map(JSON.string) ?? .null))
    }

    @Test func anOverloadedErrorIs503() {
        let (status, body) = OpenAIChat.errorBody(AIError(.overloaded, "Overloaded", code: "overloaded_error"))
        #expect(status == 503)
        #expect(body.text == #"{"error":{"message":"Overloaded","type":"service_unavailable_error","param":null,"code":"overloaded_error"}}"#)
    }

    @Test func aProvidersErrorAnswerIsRead() {
        let body = ByteBuffer(string: #"{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#)
        let error = OpenAIProvider().error(status: 429, headers: [("Retry-After-Ms", "1500"), ("retry-after", "2")], body: body)
        #expect(error.kind == .rateLimited)
        #expect(error.status == 429)
        #expect(error.message == "Rate limit reached for gpt-4o")
        #expect(error.code == "rate_limit_exceeded")
        #expect(error.retryAfter == 1.5)
        #expect(error.allowsFallback)
    }

    @Test func aNonJSONErrorAnswerKeepsItsText() {
        let error = OpenAIProvider().error(status: 502, headers: [("Retry-After", "3")], body: ByteBuffer(string: "<html>Bad Gateway</html>"))
        #expect(error.kind == .server)
        #expect(error.message == "The provider answered 502: <html>Bad Gateway</html>")
        #expect(error.retryAfter == 3)
    }
}

// MARK: - Provider

@Suite struct OpenAIProviderTests {
    @Test func theRequestGoesToChatCompletionsWithTheKey() throws {
        var request = ChatRequest(model: "my-alias", messages: [ChatMessage(role: .user, text: "Hi")])
        request.stream = true
        let sent = try OpenAIProvider().chatRequest(request, deployment: AIDeployment(provider: "openai", model: "gpt-4o", apiKey: "sk-test"))
        #expect(sent.method == "POST")
        #expect(sent.url == "https://api.openai.com/v1/chat/completions")
        #expect(sent.headers.contains { $0 == ("Authorization", "Bearer sk-test") })
        #expect(sent.headers.contains { $0 == ("Content-Type", "application/json") })
        let body = try JSON.parse(sent.body)
        #expect(body["model"] == "gpt-4o")
        #expect(body["stream_options"] == ["include_usage": true])
    }

    @Test func aSelfHostedServerIsReachedAtItsBaseURL() throws {
        let request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        let deployment = AIDeployment(provider: "openai", model: "llama-3.1-8b", baseURL: "http://localhost:8000/v1/")
        let sent = try OpenAIProvider().chatRequest(request, deployment: deployment)
        #expect(sent.url == "http://localhost:8000/v1/chat/completions")
        #expect(!sent.headers.contains { $0.0 == "Authorization" })
    }

    @Test func anAnswerThatIsNotJSONIsAProviderFailure() {
        let error = #expect(throws: AIError.self) { try OpenAIProvider().chatResponse(ByteBuffer(string: "<html>")) }
        #expect(error?.kind == .server)
    }
}

// MARK: - Streams

@Suite struct OpenAIChatStreamDecoderTests {
    static func chunk(choices: String, usage: String = "null") -> String {
        #"data: {"id":"chatcmpl-7","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_1","choices":\#(choices),"usage":\#(usage)}"#
            + "\n\n"
    }

    static func delta(_ delta: String, finish: String = "null") -> String {
        chunk(choices: #"[{"index":0,"delta":\#(delta),"logprobs":null,"finish_reason":\#(finish)}]"#)
    }

    static let roleChunk = delta(#"{"role":"assistant","content":"","refusal":null}"#)
    static let contentChunks = delta(#"{"content":"Let me "}"#) + delta(#"{"content":"check."}"#)
    static let toolCallChunks = [
        delta(#"{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]}"#),
        delta(#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]}"#),
        delta(#"{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":""}}]}"#),
        delta(#"{"tool_calls":[{"index":1,"function":{"arguments":"{\"tz\":"}}]}"#),
        delta(#"{"tool_calls":[{"index":0,"function":{"arguments":"ty\":\"Par"}}]}"#),
        delta(#"{"tool_calls":[{"index":1,"function":{"arguments":"\"CET\"}"}}]}"#),
        delta(#"{"tool_calls":[{"index":0,"function":{"arguments":"is\"}"}}]}"#),
    ].joined()
    static let finishChunk = delta("{}", finish: #""tool_calls""#)
    static let usageChunk = chunk(choices: "[]", usage: #"{"prompt_tokens":82,"completion_tokens":41,"total_tokens":123,"prompt_tokens_details":{"cached_tokens":64,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":12,"audio_tokens":0}}"#)

    static let stream = roleChunk + contentChunks + toolCallChunks + finishChunk + usageChunk + "data: [DONE]\n\n"

    static let expected: [ChatStreamEvent] = [
        .start(id: "chatcmpl-7", model: "gpt-4o-2024-08-06", usage: nil),
        .text("Let me "),
        .text("check."),
        .toolCallStart(index: 0, id: "call_a", name: "get_weather"),
        .toolCallArguments(index: 0, fragment: #"{"ci"#),
        .toolCallStart(index: 1, id: "call_b", name: "get_time"),
        .toolCallArguments(index: 1, fragment: #"{"tz":"#),
        .toolCallArguments(index: 0, fragment: #"ty":"Par"#),
        .toolCallArguments(index: 1, fragment: #""CET"}"#),
        .toolCallArguments(index: 0, fragment: #"is"}"#),
        .finish(.toolCalls),
        .usage(Usage(inputTokens: 82, outputTokens: 41, cachedInputTokens: 64, reasoningTokens: 12)),
    ]

    @Test func aRealisticStreamGivesItsEvents() throws {
        let events = try decodeOpenAIStream(Self.stream)
        #expect(events == Self.expected)
        #expect(toolArguments(events) == [0: #"{"city":"Paris"}"#, 1: #"{"tz":"CET"}"#])
    }

    @Test func oneByteAtATimeGivesTheSameEvents() throws {
        #expect(try decodeOpenAIStream(oneByteAtATime(Array(Self.stream.utf8))) == Self.expected)
    }

    @Test func crlfStreamsGiveTheSameEvents() throws {
        let crlf = Array(Self.stream.utf8).flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] }
        #expect(try decodeOpenAIStream([crlf]) == Self.expected)
    }

    @Test func keepAliveCommentsAreIgnored() throws {
        let stream = ": keep-alive\n\n" + Self.roleChunk + ": ping\n\n" + Self.contentChunks + Self.finishChunk + "data: [DONE]\n\n"
        #expect(try decodeOpenAIStream(stream) == [
            .start(id: "chatcmpl-7", model: "gpt-4o-2024-08-06", usage: nil), .text("Let me "), .text("check."), .finish(.toolCalls),
        ])
    }

    @Test func reasoningIsStreamedAsThinking() throws {
        let stream = Self.roleChunk + Self.delta(#"{"reasoning_content":"Hmm."}"#) + Self.delta(#"{"content":"Yes."}"#)
            + Self.delta("{}", finish: #""stop""#) + "data: [DONE]\n\n"
        #expect(try decodeOpenAIStream(stream) == [
            .start(id: "chatcmpl-7", model: "gpt-4o-2024-08-06", usage: nil), .thinking("Hmm."), .text("Yes."), .finish(.stop),
        ])
    }

    @Test func nothingAfterDoneIsRead() throws {
        let stream = Self.roleChunk + Self.finishChunk + "data: [DONE]\n\n" + Self.delta(#"{"content":"late"}"#)
        #expect(try decodeOpenAIStream(stream) == [
            .start(id: "chatcmpl-7", model: "gpt-4o-2024-08-06", usage: nil), .finish(.toolCalls),
        ])
    }

    static let cutStreams: [(String, String)] = [
        ("empty body", ""),
        ("after the role chunk", roleChunk),
        ("in the middle of a chunk", roleChunk + String(contentChunks.prefix(40))),
        ("in the middle of the tool calls", roleChunk + contentChunks + toolCallChunks),
        ("before the finish chunk's blank line", roleChunk + contentChunks + String(finishChunk.dropLast())),
    ]

    @Test(arguments: cutStreams)
    func aStreamCutBeforeItsFinishIsAnError(label: String, text: String) throws {
        let (_, error) = try decodeOpenAIStreamUntilFinish(text)
        #expect(error?.kind == .server, "\(label)")
        #expect(error?.allowsFallback == true)
    }

    @Test func aStreamCutAfterItsFinishIsComplete() throws {
        let (events, error) = try decodeOpenAIStreamUntilFinish(Self.roleChunk + Self.contentChunks + Self.finishChunk)
        #expect(error == nil)
        #expect(events.last == .finish(.toolCalls))
    }

    @Test func anErrorEventEndsTheStream() throws {
        let stream = Self.roleChunk + Self.delta(#"{"content":"Hi"}"#)
            + #"data: {"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"# + "\n\n"
            + Self.delta(#"{"content":"ignored"}"#)
        let (events, finishError) = try decodeOpenAIStreamUntilFinish(stream)
        #expect(finishError == nil)
        #expect(events.count == 3)
        #expect(Array(events.prefix(2)) == [.start(id: "chatcmpl-7", model: "gpt-4o-2024-08-06", usage: nil), .text("Hi")])
        guard case .error(let error)? = events.last else {
            Issue.record("expected an error event, got \(events)")
            return
        }
        #expect(error.message == "Rate limit reached")
        #expect(error.code == "rate_limit_exceeded")
    }

    @Test func anErrorAsTheFirstEventIsReported() throws {
        let stream = #"data: {"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}"# + "\n\n"
        let events = try decodeOpenAIStream(stream)
        guard events.count == 1, case .error(let error) = events[0] else {
            Issue.record("expected one error event, got \(events)")
            return
        }
        #expect(error.message == "The server had an error while processing your request.")
        #expect(error.kind == .server)
    }

    @Test func anEventThatIsNotJSONFailsTheStream() {
        let error = #expect(throws: AIError.self) { try decodeOpenAIStream(Self.roleChunk + "data: {oops\n\n") }
        #expect(error?.kind == .server)
    }
}

@Suite struct OpenAIChatStreamEncoderTests {
    static let events: [ChatStreamEvent] = [
        .start(id: "chatcmpl-9", model: "gpt-4o-2024-08-06", usage: nil),
        .thinking("Weather needs a tool."),
        .text("Let me "),
        .text("check.\n"),
        .toolCallStart(index: 0, id: "call_a", name: "get_weather"),
        .toolCallArguments(index: 0, fragment: #"{"city":"#),
        .toolCallStart(index: 1, id: "call_b", name: "get_time"),
        .toolCallArguments(index: 1, fragment: #"{"tz":"CET"}"#),
        .toolCallArguments(index: 0, fragment: #""Paris"}"#),
        .finish(.toolCalls),
        .usage(Usage(inputTokens: 82, outputTokens: 41, cachedInputTokens: 64, reasoningTokens: 12)),
    ]

    /// The encoder's output read back: each event's data, the last `[DONE]` apart.
    func readChunks(includeUsage: Bool) throws -> (chunks: [JSON], names: [String?], last: String?) {
        let out = encodeOpenAIStream(Self.events, includeUsage: includeUsage)
        let (events, pending) = try parseServerSentEvents([Array(out.readableBytesView)])
        #expect(!pending)
        let chunks = try events.dropLast().map { try JSON.parse($0.data) }
        return (chunks, events.map(\.name), events.last?.data)
    }

    @Test func chunksHaveOpenAIsShape() throws {
        let (chunks, names, last) = try readChunks(includeUsage: true)
        #expect(last == "[DONE]")
        #expect(names.allSatisfy { $0 == nil })
        #expect(chunks.count == 11)
        for chunk in chunks {
            #expect(chunk["id"] == "chatcmpl-9")
            #expect(chunk["object"] == "chat.completion.chunk")
            #expect(chunk["created"] == 1_741_569_952)
            #expect(chunk["model"] == "gpt-4o-2024-08-06")
        }
        let deltas = chunks.dropLast().map { $0["choices"]?.array?.first?["delta"] }
        #expect(deltas[0] == ["role": "assistant", "content": ""])
        #expect(deltas.dropFirst().allSatisfy { $0?["role"] == nil })
        #expect(deltas[1] == ["reasoning_content": "Weather needs a tool."])
        #expect(deltas[2] == ["content": "Let me "])
        #expect(deltas[3] == ["content": "check.\n"])
        #expect(chunks[4]["choices"]?.text == #"[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]"#)
        let callIndexes = deltas.compactMap { $0?["tool_calls"]?.array?.first?["index"]?.integer }
        #expect(callIndexes == [0, 0, 1, 1, 0])
        #expect(deltas[5] == ["tool_calls": [["index": 0, "function": ["arguments": #"{"city":"#]]]])
        #expect(deltas[6]?["tool_calls"]?.array?.first?["id"] == "call_b")
        #expect(deltas[6]?["tool_calls"]?.array?.first?["function"]?["name"] == "get_time")

        let finishReasons = chunks.dropLast().map { $0["choices"]?.array?.first?["finish_reason"] }
        #expect(finishReasons.dropLast().allSatisfy { $0 == .null })
        #expect(finishReasons.last == "tool_calls")
        #expect(deltas.last == [:])

        // While the client asked for usage, every chunk says so (null) and a last chunk carries it.
        #expect(chunks.dropLast().allSatisfy { $0["usage"] == .null })
        let usageChunk = try #require(chunks.last)
        #expect(usageChunk["choices"] == [])
        #expect(usageChunk["usage"]?.text == #"{"prompt_tokens":82,"completion_tokens":41,"total_tokens":123,"prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":12}}"#)
    }

    @Test func usageIsLeftOutUnlessAskedFor() throws {
        let (chunks, _, last) = try readChunks(includeUsage: false)
        #expect(last == "[DONE]")
        #expect(chunks.count == 10)
        #expect(chunks.allSatisfy { $0["usage"] == nil })
        #expect(chunks.allSatisfy { $0["choices"]?.array?.count == 1 })
    }

    @Test func usageGivenAtTheStartIsSentAtTheEnd() throws {
        var encoder = OpenAIChatStreamEncoder(includeUsage: true, created: 1)
        var out = ByteBuffer()
        encoder.encode(.start(id: "a", model: "m", usage: Usage(inputTokens: 7, outputTokens: 0)), into: &out)
        encoder.encode(.text("x"), into: &out)
        encoder.encode(.finish(.stop), into: &out)
        encoder.finish(into: &out)
        let events = try parseServerSentEvents([Array(out.readableBytesView)]).events
        #expect(events.last?.data == "[DONE]")
        let usage = try JSON.parse(events[events.count - 2].data)["usage"]
        #expect(usage?["prompt_tokens"] == 7)
    }

    @Test(arguments: [true, false])
    func whatTheEncoderWritesTheDecoderReadsBack(includeUsage: Bool) throws {
        let out = Array(encodeOpenAIStream(Self.events, includeUsage: includeUsage).readableBytesView)
        let expected = includeUsage ? Self.events : Self.events.filter { if case .usage = $0 { false } else { true } }
        #expect(try decodeOpenAIStream([out]) == expected)
        #expect(try decodeOpenAIStream(oneByteAtATime(out)) == expected)
    }

    @Test func theDecodersEventsReEncodeToTheSameEvents() throws {
        let decoded = try decodeOpenAIStream(OpenAIChatStreamDecoderTests.stream)
        let reencoded = Array(encodeOpenAIStream(decoded, includeUsage: true).readableBytesView)
        #expect(try decodeOpenAIStream([reencoded]) == decoded)
    }

    @Test func anErrorIsWrittenAsAnErrorEvent() throws {
        var encoder = OpenAIChatStreamEncoder(includeUsage: false, created: 1)
        var out = ByteBuffer()
        encoder.encode(.start(id: "a", model: "m", usage: nil), into: &out)
        encoder.encode(.error(AIError(.overloaded, "Overloaded", code: "overloaded_error")), into: &out)
        let events = try parseServerSentEvents([Array(out.readableBytesView)]).events
        #expect(events.last?.data == #"{"error":{"message":"Overloaded","type":"service_unavailable_error","param":null,"code":"overloaded_error"}}"#)

        let decoded = try decodeOpenAIStream([Array(out.readableBytesView)])
        guard case .error(let error)? = decoded.last else {
            Issue.record("expected an error event, got \(decoded)")
            return
        }
        #expect(error.message == "Overloaded")
        #expect(error.code == "overloaded_error")
    }

    @Test(arguments: [
        (FinishReason.stop, "stop"), (.length, "length"), (.toolCalls, "tool_calls"), (.contentFilter, "content_filter"),
        (.stopSequence("END"), "stop"), (.pauseTurn, "stop"), (.other("eos"), "eos"),
    ] as [(FinishReason, String)])
    func finishReasonsAreWrittenInOpenAIsWords(reason: FinishReason, word: String) throws {
        var encoder = OpenAIChatStreamEncoder(includeUsage: false, created: 1)
        var out = ByteBuffer()
        encoder.encode(.start(id: "a", model: "m", usage: nil), into: &out)
        encoder.encode(.finish(reason), into: &out)
        let events = try parseServerSentEvents([Array(out.readableBytesView)]).events
        #expect(try JSON.parse(events[1].data)["choices"]?.array?.first?["finish_reason"] == .string(word))
    }
}
