import KonnectAI
import NIOCore
import Testing

// MARK: - Helpers

/// The Gemini request body for what an OpenAI client sent.
private func geminiBody(fromOpenAI text: String) throws -> JSON {
    try GeminiGenerate.requestBody(OpenAIChat.request(from: JSON.parse(text)))
}

/// The error writing `request` for Gemini gives, or nil when it writes one.
private func geminiBodyError(_ request: ChatRequest) -> AIError? {
    return thrownAIError { () throws(AIError) in
        _ = try GeminiGenerate.requestBody(request)
    }
}

/// Gemini's answer read, from its text.
private func geminiResponse(_ text: String) throws -> ChatResponse {
    try GeminiProvider().chatResponse(ByteBuffer(string: text))
}

/// Feeds `pieces` to a new Gemini stream decoder, then finishes it.
private func decodeGeminiStream(_ pieces: [[UInt8]]) throws(AIError) -> [ChatStreamEvent] {
    try decodeStream(GeminiProvider().streamDecoder(), pieces)
}

private func decodeGeminiStream(_ text: String) throws(AIError) -> [ChatStreamEvent] {
    try decodeGeminiStream([Array(text.utf8)])
}

/// The events a decoder gives for `text` before its end, and the error `finish()` throws.
private func decodeGeminiStreamUntilFinish(_ text: String) throws -> (events: [ChatStreamEvent], finishError: AIError?) {
    try decodeStreamUntilFinish(GeminiGenerateStreamDecoder(), text)
}

/// One event of Gemini's `alt=sse` stream as Gemini writes it (CRLF line ends).
private func geminiEvent(_ data: String) -> String { "data: \(data)\r\n\r\n" }

// MARK: - Requests

@Suite struct GeminiRequestTests {
    /// What an OpenAI client sends for a conversation Gemini answers.
    static let openAIConversation = #"""
    {
      "model": "gemini-via-openai",
      "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": [
          {"type": "text", "text": "What is in this image, and how warm is it in Paris and Lyon?"},
          {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"}}
        ]},
        {"role": "developer", "content": "Use metric units."},
        {"role": "assistant", "content": "A cat. Checking both cities.", "tool_calls": [
          {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
          {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{\"tz\":\"CET\"}"}}
        ]},
        {"role": "tool", "tool_call_id": "call_2", "content": "14:05"},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp_c\":18,\"sky\":\"clear\"}"},
        {"role": "user", "content": "Which is warmer?"}
      ],
      "tools": [
        {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
                         "required": ["city"], "additionalProperties": false}, "strict": true}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}}
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

    @Test func anOpenAIConversationIsWrittenForGemini() throws {
        let body = try geminiBody(fromOpenAI: Self.openAIConversation)
        #expect(body.object?.keys == ["systemInstruction", "contents", "tools", "toolConfig", "generationConfig"])
        // Every system and developer message, wherever it was, in the one system instruction.
        #expect(body["systemInstruction"]?.text == #"{"parts":[{"text":"You are terse."},{"text":"Use metric units."}]}"#)

        let contents = try #require(body["contents"]?.array)
        #expect(contents.map { $0["role"]?.string } == ["user", "model", "user"])
        #expect(contents[0].text == #"{"role":"user","parts":[{"text":"What is in this image, and how warm is it in Paris and Lyon?"},{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}]}"#)
        // Arguments' text becomes the args object; the first call carries the signature Gemini 3
        // requires (Google's documented stand-in, as an OpenAI client never saw the real one).
        #expect(contents[1].text == #"{"role":"model","parts":[{"text":"A cat. Checking both cities."},{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"skip_thought_signature_validator"},{"functionCall":{"name":"get_time","args":{"tz":"CET"}}}]}"#)
        // Both results and the question are one user turn; each result is named by the function
        // its call named; a JSON object result stays an object.
        #expect(contents[2].text == #"{"role":"user","parts":[{"functionResponse":{"name":"get_time","response":{"result":"14:05"}}},{"functionResponse":{"name":"get_weather","response":{"result":{"temp_c":18,"sky":"clear"}}}},{"text":"Which is warmer?"}]}"#)

        // The schemas reach Gemini as JSON Schema, unchanged (additionalProperties included).
        #expect(body["tools"]?.text == #"[{"functionDeclarations":[{"name":"get_weather","description":"Current weather in a city","parametersJsonSchema":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["c","f"]}},"required":["city"],"additionalProperties":false}},{"name":"get_time","parametersJsonSchema":{"type":"object","properties":{"tz":{"type":"string"}}}}]}]"#)
        #expect(body["toolConfig"]?.text == #"{"functionCallingConfig":{"mode":"ANY"}}"#)
        #expect(body["generationConfig"]?.text == #"{"temperature":0.2,"topP":0.8,"topK":40,"candidateCount":1,"maxOutputTokens":300,"stopSequences":["END"],"seed":7,"presencePenalty":0.5,"frequencyPenalty":0.25}"#)
    }

    @Test func aPlainRequestIsWrittenPlainly() throws {
        let body = try geminiBody(fromOpenAI: #"{"model":"m","messages":[{"role":"user","content":"Hi"}],"stream":true}"#)
        #expect(body.text == #"{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}"#)
    }

    @Test(arguments: [
        (ToolChoice.auto, #"{"functionCallingConfig":{"mode":"AUTO"}}"#),
        (ToolChoice.none, #"{"functionCallingConfig":{"mode":"NONE"}}"#),
        (ToolChoice.required, #"{"functionCallingConfig":{"mode":"ANY"}}"#),
        (ToolChoice.function("get_weather"), #"{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]}}"#),
    ])
    func toolChoiceIsWrittenAsAFunctionCallingMode(choice: ToolChoice, written: String) throws {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Weather?")])
        request.tools = [ToolDefinition(name: "get_weather")]
        request.toolChoice = choice
        let body = try GeminiGenerate.requestBody(request)
        #expect(body["toolConfig"]?.text == written)
        // A function without parameters is declared without them.
        #expect(body["tools"]?.text == #"[{"functionDeclarations":[{"name":"get_weather"}]}]"#)
    }

    @Test func withoutToolsNoToolConfigIsSent() throws {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        request.toolChoice = ToolChoice.none
        #expect(try GeminiGenerate.requestBody(request)["toolConfig"] == nil)
    }

    @Test(arguments: [
        (ResponseFormat.text, nil),
        (ResponseFormat.jsonObject, #"{"responseMimeType":"application/json"}"#),
        (ResponseFormat.jsonSchema(name: "weather", schema: ["type": "object", "properties": ["temp": ["type": "number"]],
                                                              "additionalProperties": false], strict: true),
         #"{"responseMimeType":"application/json","responseJsonSchema":{"type":"object","properties":{"temp":{"type":"number"}},"additionalProperties":false}}"#),
    ] as [(ResponseFormat, String?)])
    func responseFormatsAskForJSON(format: ResponseFormat, written: String?) throws {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Weather?")])
        request.responseFormat = format
        #expect(try GeminiGenerate.requestBody(request)["generationConfig"]?.text == written)
    }

    @Test func aToolResultIsNamedByTheLatestCallWithItsID() throws {
        // Ids Konnect generated for Gemini repeat across answers when Gemini gives no response id.
        var failed = ChatMessage(role: .tool, content: [.text("Station offline")], toolCallID: "call_0")
        failed.isError = true
        let request = ChatRequest(model: "m", messages: [
            ChatMessage(role: .user, text: "Weather?"),
            ChatMessage(role: .assistant, content: [], toolCalls: [ToolCall(id: "call_0", name: "find_station", arguments: "{}")]),
            ChatMessage(role: .tool, content: [.text("LFPG")], toolCallID: "call_0"),
            ChatMessage(role: .assistant, content: [], toolCalls: [ToolCall(id: "call_0", name: "read_station", arguments: #"{"id":"LFPG"}"#)]),
            failed,
        ])
        let contents = try #require(try GeminiGenerate.requestBody(request)["contents"]?.array)
        #expect(contents.map { $0["role"]?.string } == ["user", "model", "user", "model", "user"])
        #expect(contents[2]["parts"]?.text == #"[{"functionResponse":{"name":"find_station","response":{"result":"LFPG"}}}]"#)
        // A failed tool's text goes under `error`, as Google's convention has it.
        #expect(contents[4]["parts"]?.text == #"[{"functionResponse":{"name":"read_station","response":{"error":"Station offline"}}}]"#)
    }

    @Test func consecutiveUserMessagesAreOneTurn() throws {
        let body = try geminiBody(fromOpenAI: #"""
        {"model":"m","messages":[{"role":"user","content":"Summarize:"},{"role":"user","content":"The report says sales rose."},
          {"role":"assistant","content":""},{"role":"user","content":"Shorter."}]}
        """#)
        // The empty assistant message has nothing to send: Gemini refuses a turn without parts.
        #expect(body["contents"]?.text == #"[{"role":"user","parts":[{"text":"Summarize:"},{"text":"The report says sales rose."},{"text":"Shorter."}]}]"#)
    }

    @Test(arguments: [
        ("", "{}"),
        (#"{"filters":{"unit":"c","days":[1,2]},"city":"Paris"}"#, #"{"filters":{"unit":"c","days":[1,2]},"city":"Paris"}"#),
    ])
    func toolCallArgumentsBecomeTheArgsObject(arguments: String, args: String) throws {
        let request = ChatRequest(model: "m", messages: [
            ChatMessage(role: .user, text: "Weather?"),
            ChatMessage(role: .assistant, content: [], toolCalls: [ToolCall(id: "call_1", name: "w", arguments: arguments)]),
        ])
        let call = try GeminiGenerate.requestBody(request)["contents"]?.array?.last?["parts"]?.array?.first
        #expect(call?["functionCall"]?["args"]?.text == args)
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
        Refusal(label: "a field Konnect does not model",
                body: #"{"model":"m","messages":[{"role":"user","content":"hi"}],"logprobs":true}"#, param: "logprobs"),
        Refusal(label: "an image Gemini would have to fetch",
                body: #"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}"#,
                param: "messages[0].content[1].image_url.url"),
        Refusal(label: "an image URL that is neither data: nor http(s)",
                body: #"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://example.com/cat.png"}}]}]}"#,
                param: "messages[0].content[0].image_url.url"),
        Refusal(label: "tool call arguments that are not JSON",
                body: #"{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"city\":"}}]}]}"#,
                param: "messages[1].tool_calls[0].function.arguments"),
        Refusal(label: "tool call arguments that are not an object",
                body: #"{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1,2]"}}]}]}"#,
                param: "messages[1].tool_calls[0].function.arguments"),
        Refusal(label: "a tool result answering no call",
                body: #"{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"call_9","content":"18C"}]}"#,
                param: "messages[1].tool_call_id"),
        Refusal(label: "only a system message",
                body: #"{"model":"m","messages":[{"role":"system","content":"Be brief."}]}"#, param: "messages"),
        Refusal(label: "an Anthropic client's thinking settings",
                body: #"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"thinking":{"type":"enabled","budget_tokens":1024}}"#,
                anthropic: true, param: "thinking"),
        Refusal(label: "an image in a tool result",
                body: #"{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"Chart?"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"chart","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}]}]}"#,
                anthropic: true, param: "messages[2].content[0]"),
    ]

    @Test(arguments: refusals)
    func requestsGeminiCannotHonourNameTheField(refusal: Refusal) throws {
        let json = try JSON.parse(refusal.body)
        let request = try refusal.anthropic ? AnthropicMessages.request(from: json) : OpenAIChat.request(from: json)
        let error = geminiBodyError(request)
        #expect(error?.param == refusal.param)
        #expect(error?.kind == .invalidRequest)
        #expect(error?.status == 400)
        #expect(error?.allowsFallback == false)
        #expect(error?.message.hasPrefix(refusal.param + ": ") == true, "\(error?.message ?? "accepted")")
    }

    @Test func anImageURLRefusalSaysHowToSendIt() throws {
        let request = ChatRequest(model: "m", messages: [
            ChatMessage(role: .user, content: [.image(url: "https://example.com/cat.png", detail: nil)]),
        ])
        #expect(geminiBodyError(request)?.message
            == "messages[0].content[0].image_url.url: gemini does not fetch image URLs; send the image inline as a base64 data: URL")
    }
}

// MARK: - Responses

@Suite struct GeminiResponseTests {
    static let functionCallAnswer = #"""
    {
      "candidates": [
        {
          "content": {
            "parts": [
              {"text": "Checking both cities."},
              {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQB0e2Kb3xSig=="},
              {"functionCall": {"name": "get_weather", "args": {"city": "Lyon", "unit": "c"}}}
            ],
            "role": "model"
          },
          "finishReason": "STOP",
          "index": 0
        }
      ],
      "usageMetadata": {
        "promptTokenCount": 2006,
        "candidatesTokenCount": 36,
        "totalTokenCount": 2142,
        "cachedContentTokenCount": 1920,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 2006}],
        "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 1920}],
        "thoughtsTokenCount": 100
      },
      "modelVersion": "gemini-2.5-flash",
      "responseId": "mT1oaJHnNvKHz7IPkqWC2Ag"
    }
    """#

    @Test func aFunctionCallAnswerIsRead() throws {
        let response = try geminiResponse(Self.functionCallAnswer)
        #expect(response.id == "mT1oaJHnNvKHz7IPkqWC2Ag")
        #expect(response.model == "gemini-2.5-flash")
        let choice = try #require(response.choices.first)
        #expect(response.choices.count == 1)
        // Gemini says STOP after function calls; the client hears tool_calls.
        #expect(choice.finishReason == .toolCalls)
        #expect(choice.message.text == "Checking both cities.")
        // Gemini gives no call ids: each gets one, unique to this answer.
        #expect(choice.message.toolCalls == [
            ToolCall(id: "call_mT1oaJHnNvKHz7IPkqWC2Ag_0", name: "get_weather", arguments: #"{"city":"Paris"}"#),
            ToolCall(id: "call_mT1oaJHnNvKHz7IPkqWC2Ag_1", name: "get_weather", arguments: #"{"city":"Lyon","unit":"c"}"#),
        ])
        // The call's signature is kept, for the conversation's next turn.
        #expect(choice.message.content.first == .thinking("", signature: "CiQB0e2Kb3xSig=="))
        // The prompt count includes the cached tokens; thinking is output.
        #expect(response.usage == Usage(inputTokens: 2006, outputTokens: 136, cachedInputTokens: 1920, reasoningTokens: 100))
    }

    @Test func anOpenAIClientSeesToolCallsAndUsage() throws {
        let body = OpenAIChat.responseBody(try geminiResponse(Self.functionCallAnswer))
        let choice = try #require(body["choices"]?.array?.first)
        #expect(choice["finish_reason"] == "tool_calls")
        #expect(choice["message"]?["content"] == "Checking both cities.")
        #expect(choice["message"]?["reasoning_content"] == nil)
        #expect(choice["message"]?["tool_calls"]?.array?.map { $0["id"]?.string } == ["call_mT1oaJHnNvKHz7IPkqWC2Ag_0", "call_mT1oaJHnNvKHz7IPkqWC2Ag_1"])
        #expect(body["usage"]?.text == #"{"prompt_tokens":2006,"completion_tokens":136,"total_tokens":2142,"prompt_tokens_details":{"cached_tokens":1920},"completion_tokens_details":{"reasoning_tokens":100}}"#)
    }

    @Test func theSignatureGoesBackToGeminiWithAnAnthropicClientsNextTurn() throws {
        // An Anthropic client keeps the thinking block (with its signature) and sends it back.
        let answer = AnthropicMessages.responseBody(try geminiResponse(Self.functionCallAnswer))
        let content = try #require(answer["content"]?.array)
        let nextTurn: JSON = ["model": "m", "max_tokens": 100, "messages": [
            ["role": "user", "content": "Weather in Paris and Lyon?"],
            ["role": "assistant", "content": .array(content)],
            ["role": "user", "content": [
                ["type": "tool_result", "tool_use_id": "call_mT1oaJHnNvKHz7IPkqWC2Ag_0", "content": "18C"],
                ["type": "tool_result", "tool_use_id": "call_mT1oaJHnNvKHz7IPkqWC2Ag_1", "content": "21C"],
            ]],
        ]]
        let body = try GeminiGenerate.requestBody(AnthropicMessages.request(from: nextTurn))
        let contents = try #require(body["contents"]?.array)
        #expect(contents[1].text == #"{"role":"model","parts":[{"text":"Checking both cities."},{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"CiQB0e2Kb3xSig=="},{"functionCall":{"name":"get_weather","args":{"city":"Lyon","unit":"c"}}}]}"#)
        #expect(contents[2].text == #"{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"result":"18C"}}},{"functionResponse":{"name":"get_weather","response":{"result":"21C"}}}]}"#)
    }

    @Test func aThinkingAnswerIsRead() throws {
        let response = try geminiResponse(#"""
        {"candidates":[{"content":{"parts":[
            {"text":"**Comparing**\nParis 18, Lyon 21.","thought":true},
            {"text":"Lyon is warmer"},{"text":" (21C)."}],"role":"model"},"finishReason":"STOP","index":0}],
         "usageMetadata":{"promptTokenCount":58,"candidatesTokenCount":12,"totalTokenCount":169,"thoughtsTokenCount":99},
         "modelVersion":"gemini-2.5-pro","responseId":"r-2"}
        """#)
        let choice = try #require(response.choices.first)
        #expect(choice.message.content == [.thinking("**Comparing**\nParis 18, Lyon 21.", signature: nil), .text("Lyon is warmer (21C).")])
        #expect(choice.finishReason == .stop)
        #expect(response.usage == Usage(inputTokens: 58, outputTokens: 111, reasoningTokens: 99))
    }

    @Test func aFunctionCallWithItsOwnIDKeepsIt() throws {
        let response = try geminiResponse(#"""
        {"candidates":[{"content":{"parts":[{"functionCall":{"id":"fc-7a1","name":"get_time","args":{}}}],"role":"model"},"finishReason":"STOP"}]}
        """#)
        #expect(response.choices.first?.message.toolCalls == [ToolCall(id: "fc-7a1", name: "get_time", arguments: "{}")])
        #expect(response.usage == nil)
        // Without a response id, the answer still has one.
        #expect(response.id.hasPrefix("gemini-"))
    }

    @Test func callsWithoutAResponseIDAreNumbered() throws {
        let response = try geminiResponse(#"""
        {"candidates":[{"content":{"parts":[{"functionCall":{"name":"a"}},{"functionCall":{"name":"b","args":{"x":1}}}],"role":"model"},"finishReason":"STOP"}]}
        """#)
        #expect(response.choices.first?.message.toolCalls == [
            ToolCall(id: "call_0", name: "a", arguments: "{}"), ToolCall(id: "call_1", name: "b", arguments: #"{"x":1}"#),
        ])
    }

    @Test(arguments: [
        ("STOP", FinishReason.stop, "stop"),
        ("MAX_TOKENS", .length, "length"),
        ("SAFETY", .contentFilter, "content_filter"),
        ("RECITATION", .contentFilter, "content_filter"),
        ("BLOCKLIST", .contentFilter, "content_filter"),
        ("PROHIBITED_CONTENT", .contentFilter, "content_filter"),
        ("SPII", .contentFilter, "content_filter"),
        ("IMAGE_SAFETY", .contentFilter, "content_filter"),
        ("MALFORMED_FUNCTION_CALL", .other("malformed_function_call"), "malformed_function_call"),
        ("UNEXPECTED_TOOL_CALL", .other("unexpected_tool_call"), "unexpected_tool_call"),
        ("LANGUAGE", .other("language"), "language"),
        ("OTHER", .other("other"), "other"),
    ] as [(String, FinishReason, String)])
    func finishReasonsAreKeptAsPreciseAsGeminiSaidThem(word: String, reason: FinishReason, openAIWord: String) throws {
        let response = try geminiResponse(#"""
        {"candidates":[{"content":{"parts":[{"text":"ok"}],"role":"model"},"finishReason":"\#(word)","index":0}],"modelVersion":"gemini-2.5-flash","responseId":"r"}
        """#)
        #expect(response.choices.first?.finishReason == reason)
        #expect(response.choices.first?.message.text == "ok")
        // A malformed call is not passed off as a normal stop.
        #expect(OpenAIChat.responseBody(response)["choices"]?.array?.first?["finish_reason"] == .string(openAIWord))
    }

    @Test func aBlockedPromptIsAnEmptyAnswerStoppedByTheFilter() throws {
        let response = try geminiResponse(#"""
        {"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":12,"totalTokenCount":12},"modelVersion":"gemini-2.5-flash","responseId":"b-1"}
        """#)
        #expect(response.choices == [ChatChoice(index: 0, message: ChatMessage(role: .assistant, content: []), finishReason: .contentFilter)])
        #expect(response.usage == Usage(inputTokens: 12, outputTokens: 0))
        #expect(OpenAIChat.responseBody(response)["choices"]?.array?.first?["finish_reason"] == "content_filter")
    }

    @Test func aSafetyStopWithoutContentIsAnEmptyFilteredAnswer() throws {
        let response = try geminiResponse(#"{"candidates":[{"finishReason":"SAFETY","index":0,"safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"HIGH","blocked":true}]}],"responseId":"s"}"#)
        #expect(response.choices.first?.message.content == [])
        #expect(response.choices.first?.finishReason == .contentFilter)
    }

    @Test(arguments: ["{}", #"{"candidates":[]}"#, "[]", "<html>"])
    func anAnswerWithoutCandidatesIsAProviderFailure(body: String) {
        let error = #expect(throws: AIError.self) { try geminiResponse(body) }
        #expect(error?.kind == .server)
        #expect(error?.allowsFallback == true)
    }
}

// MARK: - Streams

@Suite struct GeminiStreamDecoderTests {
    static let textChunks = [
        geminiEvent(#"{"candidates": [{"content": {"parts": [{"text": "**Comparing**\nParis 18, Lyon 21.","thought": true}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 58,"totalTokenCount": 58,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 58}]},"modelVersion": "gemini-2.5-flash","responseId": "2K5kaMXkBvKHz7IPpu2_oQI"}"#),
        geminiEvent(#"{"candidates": [{"content": {"parts": [{"text": "Lyon is warmer"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 58,"candidatesTokenCount": 3,"totalTokenCount": 160,"thoughtsTokenCount": 99},"modelVersion": "gemini-2.5-flash","responseId": "2K5kaMXkBvKHz7IPpu2_oQI"}"#),
        geminiEvent(#"{"candidates": [{"content": {"parts": [{"text": " (21C against 18C)."}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 58,"candidatesTokenCount": 12,"totalTokenCount": 169,"cachedContentTokenCount": 32,"thoughtsTokenCount": 99},"modelVersion": "gemini-2.5-flash","responseId": "2K5kaMXkBvKHz7IPpu2_oQI"}"#),
    ]
    static let textStream = textChunks.joined()

    static let textEvents: [ChatStreamEvent] = [
        .start(id: "2K5kaMXkBvKHz7IPpu2_oQI", model: "gemini-2.5-flash", usage: nil),
        .thinking("**Comparing**\nParis 18, Lyon 21."),
        .usage(Usage(inputTokens: 58, outputTokens: 0)),
        .text("Lyon is warmer"),
        .usage(Usage(inputTokens: 58, outputTokens: 102, reasoningTokens: 99)),
        .text(" (21C against 18C)."),
        .finish(.stop),
        .usage(Usage(inputTokens: 58, outputTokens: 111, cachedInputTokens: 32, reasoningTokens: 99)),
    ]

    static let callStream = [
        geminiEvent(#"{"candidates": [{"content": {"parts": [{"text": "Checking both."}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 80,"totalTokenCount": 80},"modelVersion": "gemini-3-pro-preview","responseId": "r-9"}"#),
        geminiEvent(#"{"candidates": [{"content": {"parts": [{"functionCall": {"name": "get_weather","args": {"city": "Paris"}},"thoughtSignature": "CiQB0e2Kb3xSig=="},{"functionCall": {"name": "get_time","args": {"tz": "CET"}}}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 80,"candidatesTokenCount": 30,"totalTokenCount": 150,"thoughtsTokenCount": 40},"modelVersion": "gemini-3-pro-preview","responseId": "r-9"}"#),
    ].joined()

    static let callEvents: [ChatStreamEvent] = [
        .start(id: "r-9", model: "gemini-3-pro-preview", usage: nil),
        .text("Checking both."),
        .usage(Usage(inputTokens: 80, outputTokens: 0)),
        .thinkingSignature("CiQB0e2Kb3xSig=="),
        .toolCallStart(index: 0, id: "call_r-9_0", name: "get_weather"),
        .toolCallArguments(index: 0, fragment: #"{"city":"Paris"}"#),
        .toolCallStart(index: 1, id: "call_r-9_1", name: "get_time"),
        .toolCallArguments(index: 1, fragment: #"{"tz":"CET"}"#),
        .finish(.toolCalls),
        .usage(Usage(inputTokens: 80, outputTokens: 70, reasoningTokens: 40)),
    ]

    @Test func aRealisticStreamGivesItsEvents() throws {
        #expect(try decodeGeminiStream(Self.textStream) == Self.textEvents)
    }

    @Test func oneByteAtATimeGivesTheSameEvents() throws {
        #expect(try decodeGeminiStream(oneByteAtATime(Array(Self.textStream.utf8))) == Self.textEvents)
        #expect(try decodeGeminiStream(oneByteAtATime(Array(Self.callStream.utf8))) == Self.callEvents)
    }

    @Test func lfStreamsGiveTheSameEvents() throws {
        let lf = Array(Self.textStream.utf8).filter { $0 != 0x0D }
        #expect(try decodeGeminiStream([lf]) == Self.textEvents)
    }

    @Test func functionCallsArriveWhole() throws {
        let events = try decodeGeminiStream(Self.callStream)
        #expect(events == Self.callEvents)
        #expect(toolArguments(events) == [0: #"{"city":"Paris"}"#, 1: #"{"tz":"CET"}"#])
    }

    @Test func anOpenAIClientSeesTheCallsFinishAndUsage() throws {
        var encoder = OpenAIChatStreamEncoder(includeUsage: true, created: 1)
        var out = ByteBuffer()
        for event in try decodeGeminiStream(Self.callStream) { encoder.encode(event, into: &out) }
        encoder.finish(into: &out)
        let events = try parseServerSentEvents([Array(out.readableBytesView)]).events
        #expect(events.last?.data == "[DONE]")
        let chunks = try events.dropLast().map { try JSON.parse($0.data) }
        let calls = chunks.compactMap { $0["choices"]?.array?.first?["delta"]?["tool_calls"]?.array?.first }
        #expect(calls.map { $0["id"]?.string } == ["call_r-9_0", nil, "call_r-9_1", nil])
        #expect(chunks.compactMap { $0["choices"]?.array?.first?["finish_reason"]?.string } == ["tool_calls"])
        #expect(chunks.last?["usage"]?["completion_tokens"] == 70)
    }

    @Test func aMalformedCallIsNotPassedOffAsAStop() throws {
        let stream = geminiEvent(#"{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"MALFORMED_FUNCTION_CALL","index":0}],"modelVersion":"gemini-2.5-flash","responseId":"m"}"#)
        #expect(try decodeGeminiStream(stream) == [
            .start(id: "m", model: "gemini-2.5-flash", usage: nil), .finish(.other("malformed_function_call")),
        ])
    }

    @Test func aBlockedPromptEndsTheStreamFiltered() throws {
        let stream = geminiEvent(#"{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9},"modelVersion":"gemini-2.5-flash","responseId":"b"}"#)
        #expect(try decodeGeminiStream(stream) == [
            .start(id: "b", model: "gemini-2.5-flash", usage: nil), .finish(.contentFilter), .usage(Usage(inputTokens: 9, outputTokens: 0)),
        ])
    }

    static let cutStreams: [(String, String)] = [
        ("empty body", ""),
        ("after the first chunk", textChunks[0]),
        ("inside the finishing chunk", String(textStream.dropLast(40))),
        // "\r\n" is one Character: this drops the blank line only.
        ("before the finishing chunk's blank line", String(textStream.dropLast(1))),
    ]

    @Test(arguments: cutStreams)
    func aStreamCutBeforeItsFinishIsAnError(label: String, text: String) throws {
        let (_, error) = try decodeGeminiStreamUntilFinish(text)
        #expect(error?.kind == .server, "\(label)")
        #expect(error?.allowsFallback == true)
    }

    @Test func anErrorInTheStreamEndsIt() throws {
        let stream = Self.textChunks[0]
            + geminiEvent(#"{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}"#)
            + geminiEvent(#"{"candidates":[{"content":{"parts":[{"text":"ignored"}]},"finishReason":"STOP"}]}"#)
        let (events, finishError) = try decodeGeminiStreamUntilFinish(stream)
        #expect(finishError == nil)
        #expect(events.count == 4)
        guard case .error(let error)? = events.last else {
            Issue.record("expected an error event, got \(events)")
            return
        }
        #expect(error.message == "The model is overloaded. Please try again later.")
        #expect(error.kind == .overloaded)
        #expect(error.status == 503)
        #expect(error.code == "UNAVAILABLE")
    }

    @Test func anEventThatIsNotJSONFailsTheStream() {
        let error = #expect(throws: AIError.self) { try decodeGeminiStream(geminiEvent("{oops")) }
        #expect(error?.kind == .server)
    }
}

// MARK: - Errors

@Suite struct GeminiErrorTests {
    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var label: String
        var status: Int
        var body: String
        var kind: AIError.Kind
        var clientStatus: Int
        var code: String?
        var message: String
        var testDescription: String { label }
    }

    static let cases: [ErrorCase] = [
        ErrorCase(label: "invalid argument", status: 400,
                  body: #"{"error":{"code":400,"message":"* GenerateContentRequest.contents: contents is not specified\n","status":"INVALID_ARGUMENT"}}"#,
                  kind: .invalidRequest, clientStatus: 400, code: "INVALID_ARGUMENT",
                  message: "* GenerateContentRequest.contents: contents is not specified\n"),
        ErrorCase(label: "a wrong key", status: 400,
                  body: #"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#,
                  kind: .authentication, clientStatus: 401, code: "INVALID_ARGUMENT",
                  message: "API key not valid. Please pass a valid API key."),
        ErrorCase(label: "permission denied", status: 403,
                  body: #"{"error":{"code":403,"message":"Method doesn't allow unregistered callers.","status":"PERMISSION_DENIED"}}"#,
                  kind: .permission, clientStatus: 403, code: "PERMISSION_DENIED", message: "Method doesn't allow unregistered callers."),
        ErrorCase(label: "no such model", status: 404,
                  body: #"{"error":{"code":404,"message":"models/gemini-9 is not found for API version v1beta.","status":"NOT_FOUND"}}"#,
                  kind: .notFound, clientStatus: 404, code: "NOT_FOUND", message: "models/gemini-9 is not found for API version v1beta."),
        ErrorCase(label: "quota", status: 429,
                  body: #"{"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED"}}"#,
                  kind: .rateLimited, clientStatus: 429, code: "RESOURCE_EXHAUSTED", message: "You exceeded your current quota."),
        ErrorCase(label: "internal", status: 500,
                  body: #"{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}"#,
                  kind: .server, clientStatus: 500, code: "INTERNAL", message: "An internal error has occurred."),
        ErrorCase(label: "overloaded", status: 503,
                  body: #"{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}"#,
                  kind: .overloaded, clientStatus: 503, code: "UNAVAILABLE", message: "The model is overloaded. Please try again later."),
        ErrorCase(label: "deadline", status: 504,
                  body: #"{"error":{"code":504,"message":"Deadline expired before operation could complete.","status":"DEADLINE_EXCEEDED"}}"#,
                  kind: .timeout, clientStatus: 504, code: "DEADLINE_EXCEEDED", message: "Deadline expired before operation could complete."),
        ErrorCase(label: "wrapped in an array", status: 429,
                  body: #"[{"error":{"code":429,"message":"Resource exhausted.","status":"RESOURCE_EXHAUSTED"}}]"#,
                  kind: .rateLimited, clientStatus: 429, code: "RESOURCE_EXHAUSTED", message: "Resource exhausted."),
        ErrorCase(label: "not JSON", status: 502, body: "<html>Bad Gateway</html>",
                  kind: .server, clientStatus: 502, code: nil, message: "The provider answered 502: <html>Bad Gateway</html>"),
    ]

    @Test(arguments: cases)
    func errorsAreReadByTheirStatus(errorCase: ErrorCase) {
        let error = GeminiProvider().error(status: errorCase.status, headers: [], body: ByteBuffer(string: errorCase.body))
        #expect(error.kind == errorCase.kind)
        #expect(error.status == errorCase.clientStatus)
        #expect(error.code == errorCase.code)
        #expect(error.message == errorCase.message)
        #expect(error.retryAfter == nil)
    }

    @Test func aRateLimitKeepsGeminisRetryDelay() {
        let body = #"{"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}]}}"#
        let error = GeminiProvider().error(status: 429, headers: [], body: ByteBuffer(string: body))
        #expect(error.retryAfter == 37)
        #expect(error.allowsFallback)
        // A Retry-After header wins.
        #expect(GeminiProvider().error(status: 429, headers: [("Retry-After", "5")], body: ByteBuffer(string: body)).retryAfter == 5)
    }

    @Test func aClientsMistakeAllowsNoFallbackButAnOverloadDoes() {
        let invalid = GeminiProvider().error(status: 400, headers: [], body: ByteBuffer(string: #"{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}"#))
        let overloaded = GeminiProvider().error(status: 503, headers: [], body: ByteBuffer(string: #"{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}"#))
        #expect(!invalid.allowsFallback)
        #expect(overloaded.allowsFallback)
        // An OpenAI client gets the status Gemini gave.
        #expect(OpenAIChat.errorBody(overloaded).status == 503)
    }
}

// MARK: - Provider

@Suite struct GeminiProviderTests {
    @Test func itIsRegisteredAsGemini() {
        #expect(AIProviders.named("gemini")?.name == "gemini")
    }

    @Test(arguments: [
        (false, "gemini-2.5-flash", nil, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"),
        (true, "gemini-2.5-flash", nil, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
        (false, "models/gemini-2.5-pro", nil, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent"),
        (true, "tunedModels/weather-bot-7", nil, "https://generativelanguage.googleapis.com/v1beta/tunedModels/weather-bot-7:streamGenerateContent?alt=sse"),
        (false, "gemini-2.5-flash", "http://localhost:9090/", "http://localhost:9090/v1beta/models/gemini-2.5-flash:generateContent"),
    ] as [(Bool, String, String?, String)])
    func theRequestGoesToTheModelsMethod(stream: Bool, model: String, baseURL: String?, url: String) throws {
        var request = ChatRequest(model: "my-alias", messages: [ChatMessage(role: .user, text: "Hi")])
        request.stream = stream
        let sent = try GeminiProvider().chatRequest(
            request, deployment: AIDeployment(provider: "gemini", model: model, baseURL: baseURL, apiKey: "AIza-test"))
        #expect(sent.method == "POST")
        #expect(sent.url == url)
        #expect(sent.headers.contains { $0 == ("x-goog-api-key", "AIza-test") })
        #expect(sent.headers.contains { $0 == ("Content-Type", "application/json") })
        #expect(!sent.headers.contains { $0.0 == "Authorization" })
        // Streaming is the URL's business: the body is the same either way.
        #expect(try JSON.parse(sent.body).text == #"{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}"#)
    }

    @Test func withoutAKeyNoKeyHeaderIsSent() throws {
        let request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        let sent = try GeminiProvider().chatRequest(request, deployment: AIDeployment(provider: "gemini", model: "gemini-2.5-flash"))
        #expect(!sent.headers.contains { $0.0 == "x-goog-api-key" })
    }

    @Test func aRequestGeminiCannotHonourIsRefusedBeforeSending() {
        var request = ChatRequest(model: "m", messages: [ChatMessage(role: .user, text: "Hi")])
        request.otherFields = ["logit_bias": ["50256": -100]]
        let error = #expect(throws: AIError.self) {
            try GeminiProvider().chatRequest(request, deployment: AIDeployment(provider: "gemini", model: "gemini-2.5-flash"))
        }
        #expect(error?.param == "logit_bias")
        #expect(error?.message == "logit_bias: is not supported by gemini")
    }

    @Test func anAnswerThatIsNotJSONIsAProviderFailure() {
        let error = #expect(throws: AIError.self) { try GeminiProvider().chatResponse(ByteBuffer(string: "<html>")) }
        #expect(error?.kind == .server)
    }
}

// MARK: - Embeddings

@Suite struct GeminiEmbeddingsTests {
    @Test func severalInputsAreOneBatchOfRequestsNamingTheModel() throws {
        let request = EmbeddingsRequest(model: "my-embedder", inputs: ["hello there", "hi"], dimensions: 768, encoding: .base64,
                                        user: "user-7")
        let sent = try GeminiProvider().embeddingsRequest(
            request, deployment: AIDeployment(provider: "gemini", model: "gemini-embedding-001", apiKey: "AIza-test"))
        #expect(sent.method == "POST")
        #expect(sent.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents")
        #expect(sent.headers.map(\.0) == ["Content-Type", "x-goog-api-key"])
        #expect(sent.headers[0].1 == "application/json")
        #expect(sent.headers[1].1 == "AIza-test")
        // Floats whatever the client's encoding (applied on the way back); no end-user field.
        #expect(String(buffer: sent.body) == #"{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"hello there"}]},"outputDimensionality":768},{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"hi"}]},"outputDimensionality":768}]}"#)
    }

    @Test(arguments: [
        ("text-embedding-004", nil, "https://generativelanguage.googleapis.com/v1beta/models/text-embedding-004:batchEmbedContents",
         "models/text-embedding-004"),
        ("models/gemini-embedding-001", "http://localhost:9090/", "http://localhost:9090/v1beta/models/gemini-embedding-001:batchEmbedContents",
         "models/gemini-embedding-001"),
    ] as [(String, String?, String, String)])
    func theRequestGoesToTheModelsBatchMethod(model: String, baseURL: String?, url: String, resource: String) throws {
        let sent = try GeminiProvider().embeddingsRequest(
            EmbeddingsRequest(model: "alias", inputs: ["hello"]), deployment: AIDeployment(provider: "gemini", model: model, baseURL: baseURL))
        #expect(sent.url == url)
        // Without a key, no key header; without dimensions, none asked for.
        #expect(sent.headers.map(\.0) == ["Content-Type"])
        #expect(String(buffer: sent.body) == #"{"requests":[{"model":"\#(resource)","content":{"parts":[{"text":"hello"}]}}]}"#)
    }

    @Test func theVectorsAreReadInOrderAndTheUsageIsLeftToEstimate() throws {
        let answer = try GeminiProvider().embeddingsResponse(ByteBuffer(string: #"""
        {"embeddings": [{"values": [0.25, -0.5, 3]}, {"values": [1e-3, 0, -2.5]}]}
        """#))
        #expect(answer.vectors == [[0.25, -0.5, 3], [0.001, 0, -2.5]])
        #expect(answer.model == "")
        #expect(answer.usage == Usage(inputTokens: 0, outputTokens: 0, estimated: true))
    }

    @Test(arguments: [
        ("{}", "The provider's answer has no embeddings"),
        (#"{"embeddings": {"values": [1]}}"#, "The provider's answer has no embeddings"),
        (#"{"embeddings": [{"value": [1]}]}"#, "The provider's answer has no vector at embeddings[0].values"),
        (#"{"embeddings": [{"values": [1]}, {"values": [1, "2"]}]}"#,
         "The provider's answer has a string at embeddings[1].values[1] instead of a number"),
        (#"{"embeddings": [{"values": [null]}]}"#, "The provider's answer has a null at embeddings[0].values[0] instead of a number"),
        ("<html>", "The provider's answer is not JSON"),
    ])
    func aMalformedAnswerIsAProviderFailure(body: String, message: String) {
        let error = #expect(throws: AIError.self) { try GeminiProvider().embeddingsResponse(ByteBuffer(string: body)) }
        #expect(error?.kind == .server)
        #expect(error?.message == message)
        #expect(error?.allowsFallback == true)
    }
}
