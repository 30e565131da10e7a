import NIOCore

extension AnthropicMessages {
    /// A whole answer as Anthropic's clients receive it (`type: message`).
    public static func responseBody(_ response: ChatResponse) -> JSON {
        let choice = response.choices.first
        var content: [JSON] = []
        for part in choice?.message.content ?? [] {
            switch part {
            case .thinking(let text, let signature):
                content.append(["type": "thinking", "thinking": .string(text), "signature": .string(signature ?? "")])
            case .text(let text) where !text.isEmpty:
                content.append(["type": "text", "text": .string(text)])
            case .text, .image:
                continue
            }
        }
        for call in choice?.message.toolCalls ?? [] {
            content.append(["type": "tool_use", "id": .string(call.id), "name": .string(call.name),
                            "input": toolInput(call.arguments)])
        }
        var stopSequence: JSON = .null
        if case .stopSequence(let sequence)? = choice?.finishReason { stopSequence = sequence.map(JSON.string) ?? .null }
        return [
            "id": .string(response.id), "type": "message", "role": "assistant", "model": .string(response.model),
            "content": .array(content),
            "stop_reason": choice?.finishReason.map { .string($0.anthropic) } ?? .null,
            "stop_sequence": stopSequence,
            "usage": usageJSON(response.usage ?? Usage(inputTokens: 0, outputTokens: 0)),
        ]
    }

    /// A tool call's argument text as the object Anthropic's format carries; text that is not
    /// a JSON object (a model's malformed call) is kept under `arguments` rather than lost.
    static func toolInput(_ arguments: String) -> JSON {
        if arguments.isEmpty { return .object([:]) }
        if let input = try? JSON.parse(arguments), input.object != nil { return input }
        return ["arguments": .string(arguments)]
    }

    /// Anthropic counts uncached input apart from cache reads and writes.
    static func usageJSON(_ usage: Usage) -> JSON {
        [
            "input_tokens": .number(Double(max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheCreationInputTokens))),
            "cache_creation_input_tokens": .number(Double(usage.cacheCreationInputTokens)),
            "cache_read_input_tokens": .number(Double(usage.cachedInputTokens)),
            "output_tokens": .number(Double(usage.outputTokens)),
        ]
    }

    /// Reads Anthropic's usage object; `previous` supplies what a stream's later usage leaves out.
    static func usage(_ value: JSON?, previous: Usage? = nil) -> Usage? {
        guard let value, value.object != nil else { return previous }
        let uncached = value["input_tokens"]?.tokenCount
        let read = value["cache_read_input_tokens"]?.tokenCount ?? previous?.cachedInputTokens ?? 0
        let written = value["cache_creation_input_tokens"]?.tokenCount ?? previous?.cacheCreationInputTokens ?? 0
        let input = uncached.map { $0 + read + written } ?? previous?.inputTokens ?? 0
        return Usage(inputTokens: input, outputTokens: value["output_tokens"]?.tokenCount ?? previous?.outputTokens ?? 0,
                     cachedInputTokens: read, cacheCreationInputTokens: written)
    }

    static func finishReason(_ reason: String, stopSequence: String?) -> FinishReason {
        switch reason {
        case "end_turn": .stop
        case "stop_sequence": .stopSequence(stopSequence)
        case "max_tokens": .length
        case "model_context_window_exceeded": .contextWindowExceeded
        case "tool_use": .toolCalls
        case "refusal": .contentFilter
        case "pause_turn": .pauseTurn
        default: .other(reason)
        }
    }

    /// Reads Anthropic's whole answer.
    public static func response(from body: JSON) throws(AIError) -> ChatResponse {
        guard body["type"]?.string == "message", let blocks = body["content"]?.array else {
            throw AIError(.server, "The provider's answer is not a message")
        }
        var message = ChatMessage(role: .assistant, content: [])
        for block in blocks {
            switch block["type"]?.string {
            case "text": message.content.append(.text(block["text"]?.string ?? ""))
            case "thinking": message.content.append(.thinking(block["thinking"]?.string ?? "", signature: block["signature"]?.string))
            case "tool_use":
                message.toolCalls.append(ToolCall(id: block["id"]?.string ?? "", name: block["name"]?.string ?? "",
                                                  arguments: (block["input"] ?? .object([:])).text))
            default: continue
            }
        }
        let reason = body["stop_reason"]?.string.map { finishReason($0, stopSequence: body["stop_sequence"]?.string) }
        return ChatResponse(id: body["id"]?.string ?? "", model: body["model"]?.string ?? "", created: 0,
                            choices: [ChatChoice(index: 0, message: message, finishReason: reason)],
                            usage: usage(body["usage"]))
    }

    // MARK: Errors

    /// The error object Anthropic's clients expect, and its status.
    public static func errorBody(_ error: AIError) -> (status: Int, body: JSON) {
        ((error.status), ["type": "error", "error": ["type": .string(errorType(error.kind)), "message": .string(error.message)]])
    }

    static func errorType(_ kind: AIError.Kind) -> String {
        switch kind {
        case .invalidRequest: "invalid_request_error"
        case .authentication: "authentication_error"
        case .permission: "permission_error"
        case .notFound: "not_found_error"
        case .requestTooLarge: "request_too_large"
        case .rateLimited: "rate_limit_error"
        case .overloaded, .unavailable: "overloaded_error"
        case .server, .timeout: "api_error"
        }
    }

    static func kind(ofErrorType type: String?) -> AIError.Kind? {
        switch type {
        case "invalid_request_error": .invalidRequest
        case "authentication_error": .authentication
        case "permission_error": .permission
        case "not_found_error": .notFound
        case "request_too_large": .requestTooLarge
        case "rate_limit_error": .rateLimited
        case "overloaded_error": .overloaded
        case "api_error": .server
        default: nil
        }
    }

    /// Reads Anthropic's error answer.
    public static func error(status: Int, body: ByteBuffer, retryAfter: Double?) -> AIError {
        let error = (try? JSON.parse(body))?["error"]
        let message = error?["message"]?.string
            ?? "The provider answered \(status)\(body.readableBytes > 0 ? ": " + String(buffer: body).prefix(200) : "")"
        return AIError(kind(ofErrorType: error?["type"]?.string) ?? AIError.kind(forStatus: status), status: status,
                       message, code: error?["type"]?.string, retryAfter: retryAfter)
    }
}
