import NIOCore

/// Ollama's native API (`POST {base}/api/chat`, `http://localhost:11434` by default): one string
/// of content per message, images as bare base64, tool arguments as JSON objects, sampling
/// settings under `options`, and streams as lines of JSON (NDJSON) rather than server-sent
/// events. No key by default; a deployment's key goes in `Authorization: Bearer` (Ollama's cloud,
/// or a proxy in front of a server).
public struct OllamaProvider: AIProvider {
    public let name = "ollama"
    /// Ollama streams newline-delimited JSON (`application/x-ndjson`).
    public let streamContentType = "ndjson"
    /// Fields of Ollama's own that a client may add; they pass on as they are.
    static let ollamaFields: Set<String> = ["keep_alive", "think"]

    public init() {}

    public func chatRequest(_ request: ChatRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        var headers = [("Content-Type", "application/json")]
        if let key = deployment.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        return ProviderRequest(url: deployment.base(or: "http://localhost:11434") + "/api/chat", headers: headers,
                               body: try Self.requestBody(request, model: deployment.model).buffer)
    }

    /// The `/api/chat` body for `request`. Fails, naming the field, for what Ollama cannot do:
    /// images by URL (it takes image bytes only), forcing a tool call, several choices.
    static func requestBody(_ request: ChatRequest, model: String) throws(AIError) -> JSON {
        if let choices = request.choices, choices > 1 {
            throw AIError.invalid("n", "Ollama answers with one choice only")
        }
        if let field = request.otherFields.keys.first(where: { !ollamaFields.contains($0) }) {
            throw AIError.invalid(field, "is not supported by Ollama")
        }
        var body: JSONObject = ["model": .string(model)]
        var messages: [JSON] = []
        for (index, message) in request.messages.enumerated() {
            messages.append(try messageJSON(message, at: index, in: request.messages))
        }
        body["messages"] = .array(messages)
        switch request.toolChoice {
        case nil, .auto?: break
        case ToolChoice.none?: break  // the tools are left out below
        case .required?, .function?:
            throw AIError.invalid("tool_choice", "Ollama cannot be made to call a tool; use auto or none")
        }
        if !request.tools.isEmpty, request.toolChoice != ToolChoice.none {
            body["tools"] = .array(request.tools.map { tool in
                var function: JSONObject = ["name": .string(tool.name)]
                if let description = tool.description { function["description"] = .string(description) }
                if let parameters = tool.parameters { function["parameters"] = parameters }
                return ["type": "function", "function": .object(function)]
            })
        }
        // Ollama streams unless told not to.
        body["stream"] = .bool(request.stream)
        switch request.responseFormat {
        case nil, .text?: break
        case .jsonObject?: body["format"] = "json"
        case .jsonSchema(_, let schema, _)?: body["format"] = schema
        }
        var options = JSONObject()
        if let temperature = request.temperature { options["temperature"] = .number(temperature) }
        if let topP = request.topP { options["top_p"] = .number(topP) }
        if let topK = request.topK { options["top_k"] = .number(Double(topK)) }
        if let maxTokens = request.maxTokens { options["num_predict"] = .number(Double(maxTokens)) }
        if !request.stop.isEmpty { options["stop"] = .array(request.stop.map(JSON.string)) }
        if let seed = request.seed { options["seed"] = .number(Double(seed)) }
        if let penalty = request.presencePenalty { options["presence_penalty"] = .number(penalty) }
        if let penalty = request.frequencyPenalty { options["frequency_penalty"] = .number(penalty) }
        if !options.isEmpty { body["options"] = .object(options) }
        for field in request.otherFields.fields where body[field.key] == nil { body[field.key] = field.value }
        return .object(body)
    }

    /// One message: its text parts joined by a blank line (Ollama takes one string), images as
    /// bare base64, tool calls with object arguments, a tool's answer with the tool's name.
    static func messageJSON(_ message: ChatMessage, at index: Int, in messages: [ChatMessage]) throws(AIError) -> JSON {
        var object: JSONObject = ["role": .string(message.role.rawValue)]
        var texts: [String] = []
        var thinking = ""
        var images: [JSON] = []
        for (partIndex, part) in message.content.enumerated() {
            switch part {
            case .text(let text): texts.append(text)
            case .thinking(let text, _): thinking += text
            case .image(let url, _):
                let image = try ContentPart.inlineImage(url, at: "messages[\(index)].content[\(partIndex)].image_url.url",
                                                        provider: "ollama")
                images.append(.string(String(image.data)))
            }
        }
        object["content"] = .string(texts.joined(separator: "\n\n"))
        if !thinking.isEmpty { object["thinking"] = .string(thinking) }
        if !images.isEmpty { object["images"] = .array(images) }
        if !message.toolCalls.isEmpty {
            var calls: [JSON] = []
            for (callIndex, call) in message.toolCalls.enumerated() {
                let path = "messages[\(index)].tool_calls[\(callIndex)].function.arguments"
                let arguments: JSON
                if call.arguments.isEmpty {
                    arguments = .object([:])
                } else {
                    guard let parsed = try? JSON.parse(call.arguments), parsed.object != nil else {
                        throw AIError.invalid(path, "Ollama takes a call's arguments as a JSON object")
                    }
                    arguments = parsed
                }
                calls.append(["function": ["name": .string(call.name), "arguments": arguments]])
            }
            object["tool_calls"] = .array(calls)
        }
        if message.role == .tool, let name = toolName(answeredBy: message, at: index, in: messages) {
            object["tool_name"] = .string(name)
        }
        return .object(object)
    }

    /// The name of the function a tool message answers: the nearest earlier call with its id
    /// (Ollama's own call ids are `call_0`, `call_1` … in every answer), else the message's name.
    static func toolName(answeredBy message: ChatMessage, at index: Int, in messages: [ChatMessage]) -> String? {
        if let id = message.toolCallID {
            for earlier in messages[..<index].reversed() {
                if let call = earlier.toolCalls.first(where: { $0.id == id }) { return call.name }
            }
        }
        return message.name
    }

    public func chatResponse(_ body: ByteBuffer) throws(AIError) -> ChatResponse {
        let json = try JSON.answer(body)
        if let message = json["error"]?.string { throw AIError(.server, message) }
        guard let message = json["message"]?.object else { throw AIError(.server, "The provider's answer has no message") }
        var content: [ContentPart] = []
        if let thinking = message["thinking"]?.string, !thinking.isEmpty { content.append(.thinking(thinking, signature: nil)) }
        if let text = message["content"]?.string, !text.isEmpty { content.append(.text(text)) }
        let calls = (message["tool_calls"]?.array ?? []).enumerated().map { index, call in
            Self.toolCall(call, index: index)
        }
        let reason = Self.finishReason(json["done_reason"]?.string, toolCalls: !calls.isEmpty)
        return ChatResponse(
            id: Self.newID(), model: json["model"]?.string ?? "", created: 0,
            choices: [ChatChoice(index: 0, message: ChatMessage(role: .assistant, content: content, toolCalls: calls),
                                 finishReason: reason)],
            usage: Self.usage(json))
    }

    /// A call of Ollama's, with the id `call_<index>` (Ollama gives none) and its arguments object
    /// as JSON text.
    static func toolCall(_ call: JSON, index: Int) -> ToolCall {
        ToolCall(id: "call_\(index)", name: call["function"]?["name"]?.string ?? "",
                 arguments: (call["function"]?["arguments"] ?? .object([:])).text)
    }

    /// `done_reason`: `stop` (a tool call when the answer calls tools), `length`; any other
    /// (`load`, `unload` …) as Ollama wrote it.
    static func finishReason(_ reason: String?, toolCalls: Bool) -> FinishReason {
        switch reason {
        case nil, "stop"?: toolCalls ? .toolCalls : .stop
        case "length"?: .length
        case let other?: .other(other)
        }
    }

    /// Tokens from `prompt_eval_count` and `eval_count` (Ollama leaves out a count of zero).
    static func usage(_ json: JSON) -> Usage? {
        let input = json["prompt_eval_count"]?.tokenCount
        let output = json["eval_count"]?.tokenCount
        guard input != nil || output != nil else { return nil }
        return Usage(inputTokens: input ?? 0, outputTokens: output ?? 0)
    }

    /// Ollama's answers have no id; clients of OpenAI's format expect one.
    static func newID() -> String {
        let digits: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        var random = SystemRandomNumberGenerator()
        let characters = (0..<24).map { _ in digits.utf8Start[Int(random.next(upperBound: UInt8(62)))] }
        return "chatcmpl-" + String(decoding: characters, as: UTF8.self)
    }

    public func error(status: Int, headers: [(String, String)], body: ByteBuffer) -> AIError {
        // Ollama's errors are `{"error": "…"}`, which OpenAI's reader also takes.
        OpenAIChat.error(status: status, body: body, retryAfter: RetryAfter.seconds(in: headers))
    }

    public func streamDecoder() -> any ChatStreamDecoder { OllamaChatStreamDecoder() }

    /// `/api/embed`: `{model, input, dimensions}` → `{model, embeddings, prompt_eval_count}`.
    public func embeddingsRequest(_ request: EmbeddingsRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        try request.refuseOtherFields(provider: name)
        var headers = [("Content-Type", "application/json")]
        if let key = deployment.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        var body: JSONObject = ["model": .string(deployment.model), "input": .array(request.inputs.map(JSON.string))]
        if let dimensions = request.dimensions { body["dimensions"] = .number(Double(dimensions)) }
        return ProviderRequest(url: deployment.base(or: "http://localhost:11434") + "/api/embed", headers: headers,
                               body: JSON.object(body).buffer)
    }

    public func embeddingsResponse(_ body: ByteBuffer) throws(AIError) -> EmbeddingsResponse {
        guard let json = try? JSON.parse(body), let vectors = json["embeddings"]?.array else {
            throw AIError(.server, "The provider's answer has no embeddings")
        }
        return EmbeddingsResponse(
            model: json["model"]?.string ?? "",
            vectors: vectors.map { ($0.array ?? []).map { Float($0.number ?? 0) } },
            usage: Usage(inputTokens: json["prompt_eval_count"]?.tokenCount ?? 0, outputTokens: 0))
    }
}

/// Reads Ollama's streamed answer: one JSON object a line, lines split anywhere by the bytes.
/// The first line starts the answer; `message.thinking` and `message.content` are deltas; tool
/// calls come whole (the arguments object in one piece); the line with `done: true` has the
/// finish reason and the token counts. An `{"error": "…"}` line, first or mid-stream, ends it.
public struct OllamaChatStreamDecoder: ChatStreamDecoder {
    /// A line longer than this is refused: a server that never ends a line must not grow memory
    /// without end.
    public static let maximumLineBytes = 16 << 20

    private var line: [UInt8] = []
    private var started = false
    /// A `done` line or an error was read; what follows is ignored.
    private var ended = false
    private var toolCalls = 0

    public init() {}

    public mutating func decode(_ bytes: ByteBuffer) throws(AIError) -> [ChatStreamEvent] {
        var events: [ChatStreamEvent] = []
        for byte in bytes.readableBytesView where !ended {
            if byte == UInt8(ascii: "\n") {
                try read(into: &events)
            } else {
                line.append(byte)
                guard line.count <= Self.maximumLineBytes else {
                    throw AIError(.server, "The provider sent a stream line larger than \(Self.maximumLineBytes) bytes")
                }
            }
        }
        return events
    }

    public mutating func finish() throws(AIError) -> [ChatStreamEvent] {
        var events: [ChatStreamEvent] = []
        if !ended { try read(into: &events) }  // a last line without its newline
        guard ended else { throw AIError(.server, "The provider's stream ended before the answer was complete") }
        return events
    }

    /// Reads the line gathered so far.
    private mutating func read(into events: inout [ChatStreamEvent]) throws(AIError) {
        defer { line.removeAll(keepingCapacity: true) }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard line.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return }
        guard let chunk = try? JSON.parse(line) else {
            throw AIError(.server, "The provider sent a stream line that is not JSON")
        }
        if let error = chunk["error"], !error.isNull {
            events.append(.error(AIError(.server, error.string ?? error["message"]?.string ?? error.text)))
            ended = true
            return
        }
        if !started {
            started = true
            events.append(.start(id: OllamaProvider.newID(), model: chunk["model"]?.string ?? "", usage: nil))
        }
        let message = chunk["message"]
        if let thinking = message?["thinking"]?.string, !thinking.isEmpty { events.append(.thinking(thinking)) }
        if let text = message?["content"]?.string, !text.isEmpty { events.append(.text(text)) }
        for call in message?["tool_calls"]?.array ?? [] {
            let toolCall = OllamaProvider.toolCall(call, index: toolCalls)
            events.append(.toolCallStart(index: toolCalls, id: toolCall.id, name: toolCall.name))
            events.append(.toolCallArguments(index: toolCalls, fragment: toolCall.arguments))
            toolCalls += 1
        }
        if chunk["done"]?.bool == true {
            ended = true
            events.append(.finish(OllamaProvider.finishReason(chunk["done_reason"]?.string, toolCalls: toolCalls > 0)))
            if let usage = OllamaProvider.usage(chunk) { events.append(.usage(usage)) }
        }
    }
}
