import KonnectAI
import NIOCore
import Testing

// MARK: - Helpers

private let llama = AIDeployment(provider: "ollama", model: "llama3.2:3b")

/// The `/api/chat` request a client's OpenAI-format `body` becomes.
private func ollamaRequest(_ body: String, _ deployment: AIDeployment = llama) throws -> (request: ProviderRequest, body: JSON) {
    let sent = try OllamaProvider().chatRequest(OpenAIChat.request(from: JSON.parse(body)), deployment: deployment)
    return (sent, try JSON.parse(sent.body))
}

/// The error Ollama's translation refuses the client's `body` with, or nil when it is sent.
private func ollamaRefusal(_ body: String) throws -> AIError? {
    let request = try OpenAIChat.request(from: JSON.parse(body))
    do throws(AIError) {
        _ = try OllamaProvider().chatRequest(request, deployment: llama)
        return nil
    } catch {
        return error
    }
}

/// Ollama's answers have no id, so Konnect makes one per answer; events compare without it.
private func withoutID(_ events: [ChatStreamEvent]) -> [ChatStreamEvent] {
    events.map { event in
        if case .start(_, let model, let usage) = event { return .start(id: "", model: model, usage: usage) }
        return event
    }
}

/// Feeds `pieces` to a new Ollama stream decoder, then finishes it.
private func decodeOllamaStream(_ pieces: [[UInt8]]) throws(AIError) -> [ChatStreamEvent] {
    var decoder = OllamaProvider().streamDecoder()
    var events: [ChatStreamEvent] = []
    for piece in pieces { events += try decoder.decode(ByteBuffer(bytes: piece)) }
    events += try decoder.finish()
    return events
}

private func decodeOllamaStream(_ text: String) throws(AIError) -> [ChatStreamEvent] {
    try decodeOllamaStream([Array(text.utf8)])
}

/// One NDJSON line of a streamed answer.
private func line(_ message: String, done: String = #""done":false"#, model: String = "llama3.2:3b") -> String {
    #"{"model":"\#(model)","created_at":"2025-06-01T10:00:00.385406455Z","message":\#(message),\#(done)}"# + "\n"
}

// MARK: - Requests

@Suite struct OllamaRequestTests {
    static let realistic = #"""
    {"model":"local","messages":[
      {"role":"system","content":"You are terse."},
      {"role":"user","content":[
        {"type":"text","text":"What is in this image?"},
        {"type":"text","text":"And what is the weather in Paris?"},
        {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]},
      {"role":"assistant","content":null,"tool_calls":[
        {"id":"call_0","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"days\":2}"}}]},
      {"role":"tool","tool_call_id":"call_0","content":"{\"temp_c\":18}"}],
     "tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather in a city",
       "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":true}}],
     "tool_choice":"auto","max_tokens":256,"temperature":0.7,"top_p":0.9,"top_k":40,"stop":"END","seed":42,
     "presence_penalty":0.5,"frequency_penalty":0.25,
     "response_format":{"type":"json_schema","json_schema":{"name":"weather","schema":{"type":"object","properties":{"temp":{"type":"number"}}}}},
     "stream":true,"stream_options":{"include_usage":true},"user":"u-1","keep_alive":"10m"}
    """#

    @Test func aRealisticRequestIsWrittenInOllamasShape() throws {
        let (request, body) = try ollamaRequest(Self.realistic)
        #expect(request.url == "http://localhost:11434/api/chat")
        #expect(body.text == #"{"model":"llama3.2:3b","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"What is in this image?\n\nAnd what is the weather in Paris?","images":["iVBORw0KGgo="]},{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris","days":2}}}]},{"role":"tool","content":"{\"temp_c\":18}","tool_name":"get_weather"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],"stream":true,"format":{"type":"object","properties":{"temp":{"type":"number"}}},"options":{"temperature":0.7,"top_p":0.9,"top_k":40,"num_predict":256,"stop":["END"],"seed":42,"presence_penalty":0.5,"frequency_penalty":0.25},"keep_alive":"10m"}"#)
    }

    /// Ollama streams unless told not to, so a request that does not stream says so.
    @Test func streamIsAlwaysSent() throws {
        let body = try ollamaRequest(#"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#).body
        #expect(body.text == #"{"model":"llama3.2:3b","messages":[{"role":"user","content":"Hi"}],"stream":false}"#)
    }

    @Test(arguments: [
        (#"{"type":"json_object"}"#, #""json""#),
        (#"{"type":"text"}"#, nil),
    ] as [(String, String?)])
    func jsonModeIsTheFormat(format: String, written: String?) throws {
        let body = try ollamaRequest(#"{"model":"m","messages":[{"role":"user","content":"Hi"}],"response_format":\#(format)}"#).body
        #expect(body["format"]?.text == written)
    }

    @Test func toolChoiceNoneLeavesTheToolsOut() throws {
        let body = try ollamaRequest(#"""
        {"model":"m","messages":[{"role":"user","content":"Hi"}],"tool_choice":"none",
         "tools":[{"type":"function","function":{"name":"f"}}]}
        """#).body
        #expect(body["tools"] == nil)
    }

    /// Ollama's own call ids repeat in every answer (`call_0` …): a tool message gets the name of
    /// the nearest earlier call with its id.
    @Test func aToolAnswerIsNamedAfterItsNearestCall() throws {
        let body = try ollamaRequest(#"""
        {"model":"m","messages":[{"role":"user","content":"Hi"},
          {"role":"assistant","content":null,"tool_calls":[{"id":"call_0","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
          {"role":"tool","tool_call_id":"call_0","content":"18C"},
          {"role":"assistant","content":null,"tool_calls":[{"id":"call_0","type":"function","function":{"name":"get_time","arguments":""}}]},
          {"role":"tool","tool_call_id":"call_0","content":"10:00"}]}
        """#).body
        let messages = try #require(body["messages"]?.array)
        #expect(messages[2]["tool_name"] == "get_weather")
        #expect(messages[4]["tool_name"] == "get_time")
        #expect(messages[3]["tool_calls"]?.text == #"[{"function":{"name":"get_time","arguments":{}}}]"#)
    }

    @Test func aKeyIsSentAsBearerAndABaseURLIsUsed() throws {
        let (local, _) = try ollamaRequest(#"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#)
        #expect(!local.headers.contains { $0.0 == "Authorization" })

        let cloud = AIDeployment(provider: "ollama", model: "gpt-oss:120b", baseURL: "https://ollama.com/", apiKey: "ol-key")
        let (request, _) = try ollamaRequest(#"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#, cloud)
        #expect(request.url == "https://ollama.com/api/chat")
        #expect(request.headers.contains { $0 == ("Authorization", "Bearer ol-key") })
    }

    @Test func streamsAreLinesOfJSON() {
        #expect(OllamaProvider().streamContentType == "ndjson")
        #expect(OpenAIProvider().streamContentType == "event-stream")
        #expect(AnthropicProvider().streamContentType == "event-stream")
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var label: String
        var body: String
        var param: String
        var testDescription: String { label }
    }

    static func body(_ messages: String, _ extra: String = "") -> String {
        #"{"model":"m","messages":[\#(messages)]\#(extra.isEmpty ? "" : "," + extra)}"#
    }

    static let hi = #"{"role":"user","content":"Hi"}"#

    static func calling(_ arguments: String) -> String {
        hi + #",{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"\#(arguments)"}}]}"#
    }

    static let refusals: [Refusal] = [
        Refusal(label: "an image by URL",
                body: body(#"{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}"#),
                param: "messages[0].content[1].image_url.url"),
        Refusal(label: "a data URL that is not base64",
                body: body(#"{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/svg+xml,<svg/>"}}]}"#),
                param: "messages[0].content[0].image_url.url"),
        Refusal(label: "tool_choice required", body: body(hi, #""tool_choice":"required""#), param: "tool_choice"),
        Refusal(label: "tool_choice a function",
                body: body(hi, #""tool_choice":{"type":"function","function":{"name":"f"}}"#), param: "tool_choice"),
        Refusal(label: "several choices", body: body(hi, #""n":2"#), param: "n"),
        Refusal(label: "arguments an array", body: body(calling("[1,2]")), param: "messages[1].tool_calls[0].function.arguments"),
        Refusal(label: "arguments not JSON", body: body(calling("city=Paris")), param: "messages[1].tool_calls[0].function.arguments"),
        Refusal(label: "a field Ollama does not know", body: body(hi, #""logprobs":true"#), param: "logprobs"),
    ]

    @Test(arguments: refusals)
    func whatOllamaCannotDoIsRefusedByName(_ expected: Refusal) throws {
        let error = try #require(try ollamaRefusal(expected.body))
        #expect(error.param == expected.param)
        #expect(error.kind == .invalidRequest)
    }
}

// MARK: - Answers

@Suite struct OllamaResponseTests {
    static let toolCallAnswer = #"""
    {"model":"qwen3:8b","created_at":"2025-06-01T10:00:00.123456Z",
     "message":{"role":"assistant","content":"Let me check.","thinking":"The user wants the weather and the time.",
       "tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris","unit":"c"}}},
                     {"function":{"name":"get_time","arguments":{"tz":"CET"}}}]},
     "done_reason":"stop","done":true,"total_duration":885095291,"load_duration":3753500,
     "prompt_eval_count":122,"prompt_eval_duration":328493000,"eval_count":33,"eval_duration":552222000}
    """#

    @Test func aToolCallAnswerIsRead() throws {
        let response = try OllamaProvider().chatResponse(ByteBuffer(string: Self.toolCallAnswer))
        #expect(response.id.hasPrefix("chatcmpl-"))
        #expect(response.model == "qwen3:8b")
        let choice = try #require(response.choices.first)
        #expect(response.choices.count == 1)
        #expect(choice.message.content == [.thinking("The user wants the weather and the time.", signature: nil), .text("Let me check.")])
        #expect(choice.message.toolCalls == [
            ToolCall(id: "call_0", name: "get_weather", arguments: #"{"city":"Paris","unit":"c"}"#),
            ToolCall(id: "call_1", name: "get_time", arguments: #"{"tz":"CET"}"#),
        ])
        #expect(choice.finishReason == .toolCalls)
        #expect(response.usage == Usage(inputTokens: 122, outputTokens: 33))
    }

    @Test func aToolCallAnswerReachesOpenAIClientsWithStringArguments() throws {
        let response = try OllamaProvider().chatResponse(ByteBuffer(string: Self.toolCallAnswer))
        let choice = try #require(OpenAIChat.responseBody(response)["choices"]?.array?.first)
        #expect(choice["finish_reason"] == "tool_calls")
        #expect(choice["message"]?["tool_calls"]?.text == #"[{"id":"call_0","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"unit\":\"c\"}"}},{"id":"call_1","type":"function","function":{"name":"get_time","arguments":"{\"tz\":\"CET\"}"}}]"#)
    }

    @Test func eachAnswerHasItsOwnID() throws {
        let first = try OllamaProvider().chatResponse(ByteBuffer(string: Self.toolCallAnswer))
        let second = try OllamaProvider().chatResponse(ByteBuffer(string: Self.toolCallAnswer))
        #expect(first.id != second.id)
    }

    @Test(arguments: [
        (#","done_reason":"stop""#, false, FinishReason.stop),
        (#","done_reason":"stop""#, true, .toolCalls),
        (#","done_reason":"length""#, false, .length),
        (#","done_reason":"length""#, true, .length),
        (#","done_reason":"load""#, false, .other("load")),
        ("", false, .stop),
    ] as [(String, Bool, FinishReason)])
    func finishReasonsAreRead(doneReason: String, toolCalls: Bool, reason: FinishReason) throws {
        let calls = toolCalls ? #","tool_calls":[{"function":{"name":"f","arguments":{}}}]"# : ""
        let body = #"{"model":"m","created_at":"2025-06-01T10:00:00Z","message":{"role":"assistant","content":"x"\#(calls)},"done":true\#(doneReason),"prompt_eval_count":1,"eval_count":2}"#
        #expect(try OllamaProvider().chatResponse(ByteBuffer(string: body)).choices.first?.finishReason == reason)
    }

    @Test(arguments: [
        (#","prompt_eval_count":26,"eval_count":298"#, Usage(inputTokens: 26, outputTokens: 298)),
        // A prompt Ollama had cached has no prompt_eval_count.
        (#","eval_count":12"#, Usage(inputTokens: 0, outputTokens: 12)),
        ("", nil),
    ] as [(String, Usage?)])
    func usageComesFromTheEvalCounts(counts: String, usage: Usage?) throws {
        let body = #"{"model":"m","created_at":"2025-06-01T10:00:00Z","message":{"role":"assistant","content":"Hello!"},"done":true\#(counts)}"#
        let response = try OllamaProvider().chatResponse(ByteBuffer(string: body))
        #expect(response.usage == usage)
        #expect(response.choices.first?.message.content == [.text("Hello!")])
    }

    @Test func anAnswerThatIsNotAChatAnswerIsAProviderFailure() {
        let notJSON = #expect(throws: AIError.self) { try OllamaProvider().chatResponse(ByteBuffer(string: "<html>")) }
        #expect(notJSON?.kind == .server)
        let error = #expect(throws: AIError.self) {
            try OllamaProvider().chatResponse(ByteBuffer(string: #"{"error":"llama runner process has terminated"}"#))
        }
        #expect(error?.message == "llama runner process has terminated")
        #expect(error?.allowsFallback == true)
    }

    @Test(arguments: [
        (404, #"{"error":"model \"llama9\" not found, try pulling it first"}"#, AIError.Kind.notFound, #"model "llama9" not found, try pulling it first"#),
        (400, #"{"error":"registry.ollama.ai/library/llama3.2:3b does not support tools"}"#, .invalidRequest,
         "registry.ollama.ai/library/llama3.2:3b does not support tools"),
        (500, #"{"error":"llama runner process has terminated: exit status 2"}"#, .server, "llama runner process has terminated: exit status 2"),
    ])
    func errorAnswersAreRead(status: Int, body: String, kind: AIError.Kind, message: String) {
        let error = OllamaProvider().error(status: status, headers: [], body: ByteBuffer(string: body))
        #expect(error.kind == kind)
        #expect(error.status == status)
        #expect(error.message == message)
    }
}

// MARK: - Streams

@Suite struct OllamaStreamDecoderTests {
    static let stream = line(#"{"role":"assistant","content":"The"}"#)
        + line(#"{"role":"assistant","content":" sky"}"#)
        + line(#"{"role":"assistant","content":" is blue."}"#)
        + line(#"{"role":"assistant","content":""}"#,
               done: #""done_reason":"stop","done":true,"total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000"#)

    static let expected: [ChatStreamEvent] = [
        .start(id: "", model: "llama3.2:3b", usage: nil),
        .text("The"), .text(" sky"), .text(" is blue."),
        .finish(.stop),
        .usage(Usage(inputTokens: 26, outputTokens: 282)),
    ]

    @Test func aStreamGivesItsEvents() throws {
        let events = try decodeOllamaStream(Self.stream)
        #expect(withoutID(events) == Self.expected)
        guard case .start(let id, _, _)? = events.first else {
            Issue.record("expected a start event, got \(events)")
            return
        }
        #expect(id.hasPrefix("chatcmpl-"))
    }

    @Test func oneByteAtATimeGivesTheSameEvents() throws {
        #expect(withoutID(try decodeOllamaStream(Array(Self.stream.utf8).map { [$0] })) == Self.expected)
    }

    @Test func crlfLinesAndBlankLinesGiveTheSameEvents() throws {
        let crlf = Self.stream.split(separator: "\n").map { $0 + "\r\n\r\n" }.joined()
        #expect(withoutID(try decodeOllamaStream(crlf)) == Self.expected)
    }

    @Test func aLastLineWithoutItsNewlineIsRead() throws {
        #expect(withoutID(try decodeOllamaStream(String(Self.stream.dropLast()))) == Self.expected)
    }

    @Test func thinkingAndToolCallsAreStreamed() throws {
        let stream = line(#"{"role":"assistant","content":"","thinking":"Weather needs "}"#, model: "qwen3:8b")
            + line(#"{"role":"assistant","content":"","thinking":"a tool."}"#, model: "qwen3:8b")
            + line(#"{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]}"#, model: "qwen3:8b")
            + line(#"{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_time","arguments":{"tz":"CET"}}}]}"#, model: "qwen3:8b")
            + line(#"{"role":"assistant","content":""}"#, done: #""done_reason":"stop","done":true,"prompt_eval_count":90,"eval_count":20"#, model: "qwen3:8b")
        let events = try decodeOllamaStream(stream)
        #expect(withoutID(events) == [
            .start(id: "", model: "qwen3:8b", usage: nil),
            .thinking("Weather needs "), .thinking("a tool."),
            .toolCallStart(index: 0, id: "call_0", name: "get_weather"),
            .toolCallArguments(index: 0, fragment: #"{"city":"Paris"}"#),
            .toolCallStart(index: 1, id: "call_1", name: "get_time"),
            .toolCallArguments(index: 1, fragment: #"{"tz":"CET"}"#),
            .finish(.toolCalls),
            .usage(Usage(inputTokens: 90, outputTokens: 20)),
        ])
        // An OpenAI client gets the calls with their arguments as text.
        let reencoded = try decodeOpenAIStream([Array(encodeOpenAIStream(events, includeUsage: true).readableBytesView)])
        #expect(toolArguments(reencoded) == [0: #"{"city":"Paris"}"#, 1: #"{"tz":"CET"}"#])
    }

    @Test func anErrorLineMidStreamEndsTheStream() throws {
        let stream = line(#"{"role":"assistant","content":"Hel"}"#)
            + #"{"error":"an error was encountered while running the model: unexpected EOF"}"# + "\n"
            + line(#"{"role":"assistant","content":"ignored"}"#)
        let events = try decodeOllamaStream(stream)
        #expect(events.count == 3)
        #expect(withoutID(Array(events.prefix(2))) == [.start(id: "", model: "llama3.2:3b", usage: nil), .text("Hel")])
        guard case .error(let error)? = events.last else {
            Issue.record("expected an error event, got \(events)")
            return
        }
        #expect(error.message == "an error was encountered while running the model: unexpected EOF")
        #expect(error.kind == .server)
    }

    @Test func anErrorAsTheFirstLineIsReported() throws {
        let events = try decodeOllamaStream(#"{"error":"model requires more system memory (5.6 GiB) than is available (3.1 GiB)"}"# + "\n")
        guard events.count == 1, case .error(let error) = events[0] else {
            Issue.record("expected one error event, got \(events)")
            return
        }
        #expect(error.message == "model requires more system memory (5.6 GiB) than is available (3.1 GiB)")
    }

    static let cutStreams: [(String, String)] = [
        ("empty body", ""),
        ("after the first line", line(#"{"role":"assistant","content":"The"}"#)),
        ("in the middle of a line", line(#"{"role":"assistant","content":"The"}"#) + String(line(#"{"role":"assistant","content":" sky"}"#).prefix(30))),
        ("before the done line", String(stream.split(separator: "\n").dropLast().map { $0 + "\n" }.joined())),
    ]

    @Test(arguments: cutStreams)
    func aStreamCutBeforeItsDoneLineIsAnError(label: String, text: String) {
        let error = #expect(throws: AIError.self, "\(label)") { try decodeOllamaStream(text) }
        #expect(error?.kind == .server)
        #expect(error?.allowsFallback == true)
    }

    @Test func aLineThatIsNotJSONFailsTheStream() {
        let error = #expect(throws: AIError.self) { try decodeOllamaStream(line(#"{"role":"assistant","content":"The"}"#) + "{oops\n") }
        #expect(error?.kind == .server)
    }
}
