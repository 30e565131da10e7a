import NIOCore

/// Mistral's chat completions API: OpenAI's format with Mistral's differences. `seed` is
/// `random_seed`, `tool_choice: "required"` is `"any"`, the token limit is `max_tokens`, tool call
/// ids are nine letters and digits, and reasoning models (Magistral) answer with `thinking` chunks
/// in `content`. Mistral refuses every field it does not know (422 `extra_forbidden`), so such
/// fields are refused here first, by name; `stream_options` is never sent, because Mistral puts
/// the usage in the last chunk of every stream anyway.
public struct MistralProvider: AIProvider {
    public let name = "mistral"
    /// Fields of Mistral's own that a client may add; they pass on as they are.
    static let mistralFields: Set<String> = ["safe_prompt", "prediction", "prompt_mode", "random_seed"]

    public init() {}

    public func chatRequest(_ request: ChatRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        try Self.check(request)
        var request = request
        request.messages = request.messages.map(Self.withMistralToolCallIDs)
        // Mistral has no end-user field; the id is for abuse tracking and does not change the answer.
        request.user = nil
        var headers = [("Content-Type", "application/json")]
        if let key = deployment.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        var body = JSONObject()
        if case .object(let written) = OpenAIChat.requestBody(request, model: deployment.model, maxTokensField: "max_tokens") {
            for (key, value) in written.fields {
                switch key {
                case "seed": body["random_seed"] = value
                case "stream_options": continue
                case "tool_choice" where value == "required": body[key] = "any"
                default: body[key] = value
                }
            }
        }
        return ProviderRequest(url: deployment.base(or: "https://api.mistral.ai/v1") + "/chat/completions",
                               headers: headers, body: JSON.object(body).buffer)
    }

    /// Refuses what Mistral would refuse, naming the field.
    static func check(_ request: ChatRequest) throws(AIError) {
        if request.topK != nil { throw AIError.invalid("top_k", "is not supported by Mistral") }
        for (index, message) in request.messages.enumerated() where message.name != nil && message.role != .tool {
            throw AIError.invalid("messages[\(index)].name", "Mistral takes no participant names (only tool messages carry one)")
        }
        if let field = request.otherFields.keys.first(where: { !mistralFields.contains($0) }) {
            throw AIError.invalid(field, "is not supported by Mistral")
        }
    }

    /// Mistral accepts only tool call ids of nine letters and digits; ids from other providers
    /// (`call_…`, `toolu_…`) are replaced by nine characters derived from them, the same in the
    /// assistant's call and in the tool's answer.
    static func withMistralToolCallIDs(_ message: ChatMessage) -> ChatMessage {
        var message = message
        for index in message.toolCalls.indices { message.toolCalls[index].id = mistralToolCallID(message.toolCalls[index].id) }
        message.toolCallID = message.toolCallID.map(mistralToolCallID)
        return message
    }

    static func mistralToolCallID(_ id: String) -> String {
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        if id.utf8.count == 9, id.utf8.allSatisfy(isAlphanumeric) { return id }
        // FNV-1a, then nine base-62 digits (62^9 < 2^64).
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let digits: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        var characters: [UInt8] = []
        for _ in 0..<9 {
            characters.append(digits.utf8Start[Int(hash % 62)])
            hash /= 62
        }
        return String(decoding: characters, as: UTF8.self)
    }

    public func chatResponse(_ body: ByteBuffer) throws(AIError) -> ChatResponse {
        let json = try JSON.answer(body)
        var response = try OpenAIChat.response(from: Self.flattened(json, messageKey: "message"))
        for index in response.choices.indices {
            response.choices[index].finishReason = response.choices[index].finishReason.map(Self.finishReason)
        }
        return response
    }

    /// Mistral's errors come in several shapes: `{"object": "error", "message": "…", "type",
    /// "code"}`, the same with a validation `detail` list as the message (or beside it), and a
    /// bare `{"detail": "Unauthorized"}` or `{"message": "Unauthorized"}`.
    public func error(status: Int, headers: [(String, String)], body: ByteBuffer) -> AIError {
        let retryAfter = RetryAfter.seconds(in: headers)
        guard let json = try? JSON.parse(body), json["error"] == nil else {
            return OpenAIChat.error(status: status, body: body, retryAfter: retryAfter)
        }
        var message: String?
        var param: String?
        // A validation failure: each field's location (`["body", "messages", 0, "name"]`) and message.
        let details = json["message"]?["detail"]?.array ?? json["message"]?.array ?? json["detail"]?.array ?? []
        if !details.isEmpty {
            let problems = details.map { detail -> (field: String, text: String) in
                let location = (detail["loc"]?.array ?? []).dropFirst().map { $0.string ?? $0.integer.map(String.init) ?? "" }
                return (location.joined(separator: "."), detail["msg"]?.string ?? "invalid")
            }
            param = problems[0].field.isEmpty ? nil : problems[0].field
            message = problems.map { $0.field.isEmpty ? $0.text : "\($0.field): \($0.text)" }.joined(separator: "; ")
        }
        message = message ?? json["message"]?.string ?? json["detail"]?.string
        guard let message else { return OpenAIChat.error(status: status, body: body, retryAfter: retryAfter) }
        let code = json["code"]?.string ?? json["code"]?.integer.map(String.init) ?? json["type"]?.string
        return AIError(AIError.kind(forStatus: status), status: status, message, param: param ?? json["param"]?.string,
                       code: code, retryAfter: retryAfter)
    }

    public func streamDecoder() -> any ChatStreamDecoder { MistralChatStreamDecoder() }

    /// `POST {base}/embeddings`: `{model, input, output_dimension, encoding_format: "float"}`, the
    /// answer in OpenAI's shape (`data[].embedding`, `usage.prompt_tokens`). The client's
    /// `dimensions` is Mistral's `output_dimension`. Mistral's request has no `user` (it would
    /// refuse one, 422 `extra_forbidden`), so, as in chat, the end-user id is left out: it is for
    /// abuse tracking and does not change the vectors.
    public func embeddingsRequest(_ request: EmbeddingsRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        try request.refuseOtherFields(provider: name)
        var headers = [("Content-Type", "application/json")]
        if let key = deployment.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        var body: JSONObject = ["model": .string(deployment.model), "input": .array(request.inputs.map(JSON.string))]
        if let dimensions = request.dimensions { body["output_dimension"] = .number(Double(dimensions)) }
        // Floats whatever the client asked for: its encoding is applied on the way back.
        body["encoding_format"] = "float"
        return ProviderRequest(url: deployment.base(or: "https://api.mistral.ai/v1") + "/embeddings", headers: headers,
                               body: JSON.object(body).buffer)
    }

    public func embeddingsResponse(_ body: ByteBuffer) throws(AIError) -> EmbeddingsResponse {
        try OpenAIChat.embeddingsResponse(from: JSON.answer(body))
    }

    /// `model_length` (the model's context was full) is OpenAI's `length`.
    static func finishReason(_ reason: FinishReason) -> FinishReason {
        reason == .other("model_length") ? .length : reason
    }

    /// `body` with each choice's `messageKey` (`message`, or `delta` in a stream) in OpenAI's
    /// shape: Mistral's content chunks become the `content` text and the `reasoning_content`.
    static func flattened(_ body: JSON, messageKey: String) -> JSON {
        guard case .object(var object) = body, case .array(var choices)? = object["choices"] else { return body }
        for index in choices.indices {
            guard case .object(var choice) = choices[index], case .object(var message)? = choice[messageKey],
                  case .array(let chunks)? = message["content"]
            else { continue }
            var text = ""
            var thinking = ""
            for chunk in chunks {
                switch chunk["type"]?.string {
                case "text": text += chunk["text"]?.string ?? ""
                case "thinking": for part in chunk["thinking"]?.array ?? [] { thinking += part["text"]?.string ?? "" }
                default: break
                }
            }
            message["content"] = .string(text)
            if !thinking.isEmpty { message["reasoning_content"] = .string(thinking) }
            choice[messageKey] = .object(message)
            choices[index] = .object(choice)
        }
        object["choices"] = .array(choices)
        return .object(object)
    }
}

/// Reads Mistral's stream: OpenAI's chunks, where a reasoning model's deltas carry content
/// chunks (`thinking`, `text`) instead of a string. A failure after the stream began comes as
/// an event holding Mistral's error object (`{"object": "error", "message", "type", "code"}`,
/// with no `error` key for OpenAI's reader to see); it ends the stream with that error.
public struct MistralChatStreamDecoder: ChatStreamDecoder {
    private var parser = ServerSentEventParser()
    private var chunks = OpenAIChatStreamDecoder()
    /// An error event was read; what follows is ignored.
    private var failed = false

    public init() {}

    public mutating func decode(_ bytes: ByteBuffer) throws(AIError) -> [ChatStreamEvent] {
        var events: [ChatStreamEvent] = []
        for event in try parser.parse(bytes) where !failed {
            if let error = Self.error(in: event.data) {
                events.append(.error(error))
                failed = true
                break
            }
            var data = event.data
            if data.contains(#""content":["#) || data.contains(#""content": ["#), let chunk = try? JSON.parse(data) {
                data = MistralProvider.flattened(chunk, messageKey: "delta").text
            }
            var openAI = ByteBuffer()
            for line in data.split(separator: "\n", omittingEmptySubsequences: false) {
                openAI.writeString("data: ")
                openAI.writeSubstring(line)
                openAI.writeString("\n")
            }
            openAI.writeString("\n")
            events += try chunks.decode(openAI).map { event in
                if case .finish(let reason) = event { return .finish(MistralProvider.finishReason(reason)) }
                return event
            }
        }
        return events
    }

    public mutating func finish() throws(AIError) -> [ChatStreamEvent] {
        _ = parser.finish()
        if failed { return [] }
        return try chunks.finish()
    }

    /// The error an event's `data` reports in Mistral's shape, or nil. Its status is the
    /// `raw_status_code` Mistral adds to newer errors, else what the `type` says.
    static func error(in data: String) -> AIError? {
        guard data.contains(#""object""#), let json = try? JSON.parse(data),
              json["object"]?.string?.lowercased() == "error", json["choices"] == nil
        else { return nil }
        let status = json["raw_status_code"]?.integer ?? {
            switch json["type"]?.string {
            case "rate_limited"?: 429
            case "invalid_request_error"?, "invalid_function_call"?: 400
            default: 500
            }
        }()
        return MistralProvider().error(status: status, headers: [], body: json.buffer)
    }
}
