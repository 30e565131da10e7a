import NIOCore

extension OpenAIChat {
    /// A whole answer as a client receives it (`chat.completion`).
    public static func responseBody(_ response: ChatResponse) -> JSON {
        var body: JSONObject = [
            "id": .string(response.id),
            "object": "chat.completion",
            "created": .number(Double(response.created)),
            "model": .string(response.model),
        ]
        body["choices"] = .array(response.choices.map { choice in
            var message: JSONObject = ["role": "assistant"]
            let text = choice.message.text
            message["content"] = text.isEmpty && !choice.message.toolCalls.isEmpty ? .null : .string(text)
            if !choice.message.toolCalls.isEmpty {
                message["tool_calls"] = .array(choice.message.toolCalls.map { call in
                    ["id": .string(call.id), "type": "function",
                     "function": ["name": .string(call.name), "arguments": .string(call.arguments)]]
                })
            }
            let reasoning = choice.message.content.reduce(into: "") { text, part in
                if case .thinking(let piece, _) = part { text += piece }
            }
            if !reasoning.isEmpty { message["reasoning_content"] = .string(reasoning) }
            return ["index": .number(Double(choice.index)), "message": .object(message),
                    "finish_reason": choice.finishReason.map { .string($0.openAI) } ?? .null]
        })
        if let usage = response.usage { body["usage"] = usageJSON(usage) }
        return .object(body)
    }

    static func usageJSON(_ usage: Usage) -> JSON {
        var object: JSONObject = [
            "prompt_tokens": .number(Double(usage.inputTokens)),
            "completion_tokens": .number(Double(usage.outputTokens)),
            "total_tokens": .number(Double(usage.totalTokens)),
            "prompt_tokens_details": ["cached_tokens": .number(Double(usage.cachedInputTokens))],
            "completion_tokens_details": ["reasoning_tokens": .number(Double(usage.reasoningTokens))],
        ]
        if usage.cacheCreationInputTokens > 0 {
            object["prompt_tokens_details"] = [
                "cached_tokens": .number(Double(usage.cachedInputTokens)),
                "cache_creation_tokens": .number(Double(usage.cacheCreationInputTokens)),
            ]
        }
        if usage.estimated { object["estimated"] = true }
        return .object(object)
    }

    /// Reads an OpenAI-format server's whole answer.
    public static func response(from body: JSON) throws(AIError) -> ChatResponse {
        guard let choices = body["choices"]?.array else {
            throw AIError(.server, "The provider's answer has no choices")
        }
        var response = ChatResponse(
            id: body["id"]?.string ?? "", model: body["model"]?.string ?? "",
            created: body["created"]?.integer ?? 0, choices: [], usage: body["usage"].flatMap(usage))
        for (position, choice) in choices.enumerated() {
            let message = choice["message"]
            var content: [ContentPart] = []
            if let reasoning = message?["reasoning_content"]?.string, !reasoning.isEmpty {
                content.append(.thinking(reasoning, signature: nil))
            }
            if let text = message?["content"]?.string { content.append(.text(text)) }
            if let refusal = message?["refusal"]?.string, !refusal.isEmpty { content.append(.text(refusal)) }
            var calls: [ToolCall] = []
            for call in message?["tool_calls"]?.array ?? [] {
                calls.append(ToolCall(id: call["id"]?.string ?? "", name: call["function"]?["name"]?.string ?? "",
                                      arguments: call["function"]?["arguments"]?.string ?? ""))
            }
            response.choices.append(ChatChoice(
                index: choice["index"]?.integer ?? position,
                message: ChatMessage(role: .assistant, content: content, toolCalls: calls),
                finishReason: choice["finish_reason"]?.string.map(FinishReason.init(openAI:))))
        }
        return response
    }

    static func usage(_ value: JSON) -> Usage? {
        guard let input = value["prompt_tokens"]?.tokenCount, let output = value["completion_tokens"]?.tokenCount else {
            return nil
        }
        return Usage(
            inputTokens: input, outputTokens: output,
            cachedInputTokens: value["prompt_tokens_details"]?["cached_tokens"]?.tokenCount ?? 0,
            cacheCreationInputTokens: value["prompt_tokens_details"]?["cache_creation_tokens"]?.tokenCount ?? 0,
            reasoningTokens: value["completion_tokens_details"]?["reasoning_tokens"]?.tokenCount ?? 0)
    }

    // MARK: Errors

    /// The error object OpenAI's clients expect, and the status to send it with. Anthropic's 529
    /// becomes 503, a status OpenAI clients know.
    public static func errorBody(_ error: AIError) -> (status: Int, body: JSON) {
        let type: String = switch error.kind {
        case .invalidRequest, .requestTooLarge, .notFound: "invalid_request_error"
        case .authentication: "authentication_error"
        case .permission: "permission_error"
        case .rateLimited: "rate_limit_error"
        case .overloaded, .unavailable: "service_unavailable_error"
        case .server, .timeout: "server_error"
        }
        let body: JSON = ["error": [
            "message": .string(error.message), "type": .string(type),
            "param": error.param.map(JSON.string) ?? .null, "code": error.code.map(JSON.string) ?? .null,
        ]]
        return (error.status == 529 ? 503 : error.status, body)
    }

    /// Reads an OpenAI-format server's error answer.
    public static func error(status: Int, body: ByteBuffer, retryAfter: Double?) -> AIError {
        let json = try? JSON.parse(body)
        let error = json?["error"]
        let message = error?["message"]?.string ?? error?.string
            ?? "The provider answered \(status)\(body.readableBytes > 0 ? ": " + String(buffer: body).prefix(200) : "")"
        return AIError(AIError.kind(forStatus: status), status: status, message,
                       param: error?["param"]?.string, code: error?["code"]?.string ?? error?["type"]?.string,
                       retryAfter: retryAfter)
    }
}
