import NIOCore

extension CohereChat {
    /// Reads Cohere's whole answer: `{id, finish_reason, message{role, content, tool_plan,
    /// tool_calls, citations}, usage}`.
    ///
    /// Reasoning (`thinking` content, and the `tool_plan` Cohere writes before its tool calls)
    /// becomes thinking content, so a client sees it and sends it back; the text follows.
    /// Citations are not carried. Cohere names no model: the caller fills it in.
    public static func response(from body: JSON) throws(AIError) -> ChatResponse {
        guard body.object != nil else { throw AIError(.server, "The provider's answer is not a JSON object") }
        guard let message = body["message"], message.object != nil else {
            throw AIError(.server, "The provider's answer has no message")
        }
        var content: [ContentPart] = []
        var text = ""
        var hasText = false
        for item in message["content"]?.array ?? [] {
            switch item["type"]?.string {
            case "thinking":
                if let thinking = item["thinking"]?.string, !thinking.isEmpty { content.append(.thinking(thinking, signature: nil)) }
            case "text":
                text += item["text"]?.string ?? ""
                hasText = true
            default:
                continue
            }
        }
        if let plan = message["tool_plan"]?.string, !plan.isEmpty { content.append(.thinking(plan, signature: nil)) }
        if hasText { content.append(.text(text)) }
        let toolCalls = (message["tool_calls"]?.array ?? []).map { call in
            ToolCall(id: call["id"]?.string ?? "", name: call["function"]?["name"]?.string ?? "",
                     arguments: arguments(call["function"]?["arguments"]?.string))
        }
        let choice = ChatChoice(index: 0, message: ChatMessage(role: .assistant, content: content, toolCalls: toolCalls),
                                finishReason: body["finish_reason"]?.string.map(finishReason))
        return ChatResponse(id: body["id"]?.string ?? body["generation_id"]?.string ?? generatedID(), model: "",
                            created: 0, choices: [choice], usage: usage(body["usage"]))
    }

    /// A call's argument text; Cohere writes `null` (or nothing) for a function without parameters.
    static func arguments(_ text: String?) -> String {
        guard let text, !text.isEmpty, text != "null" else { return "{}" }
        return text
    }

    /// An id for an answer Cohere gave none.
    static func generatedID() -> String {
        "cohere-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    /// Cohere's finish reason in Konnect's terms; `ERROR`, `TIMEOUT` and reasons added later are
    /// kept, lower-cased, never passed off as a normal stop.
    static func finishReason(_ reason: String) -> FinishReason {
        switch reason {
        case "COMPLETE": .stop
        case "STOP_SEQUENCE": .stopSequence(nil)
        case "MAX_TOKENS": .length
        case "TOOL_CALL": .toolCalls
        default: .other(reason.lowercased())
        }
    }

    /// Reads `usage`: the model's own counts (`tokens`) when Cohere gives them, else the billed
    /// ones (`billed_units`, which leave out the tokens Cohere adds itself). `cached_tokens`
    /// counts prompt tokens, so it is kept only beside `tokens`.
    static func usage(_ value: JSON?) -> Usage? {
        guard let value, value.object != nil else { return nil }
        if let tokens = value["tokens"], tokens.object != nil {
            let input = tokens["input_tokens"]?.tokenCount ?? 0
            return Usage(inputTokens: input, outputTokens: tokens["output_tokens"]?.tokenCount ?? 0,
                         cachedInputTokens: min(value["cached_tokens"]?.tokenCount ?? 0, input))
        }
        if let billed = value["billed_units"], billed.object != nil {
            return Usage(inputTokens: billed["input_tokens"]?.tokenCount ?? 0, outputTokens: billed["output_tokens"]?.tokenCount ?? 0)
        }
        return nil
    }

    // MARK: Errors

    /// Reads Cohere's error answer, `{"message": "…"}` (sometimes with the request's `id`).
    public static func error(status: Int, body: ByteBuffer, retryAfter: Double?) -> AIError {
        let (errorKind, clientStatus) = Self.kind(forStatus: status)
        guard let message = (try? JSON.parse(body))?["message"]?.string else {
            let shown = body.readableBytes > 0 ? ": " + String(buffer: body).prefix(200) : ""
            return AIError(errorKind, status: clientStatus, "The provider answered \(status)\(shown)", retryAfter: retryAfter)
        }
        return AIError(errorKind, status: clientStatus, message, retryAfter: retryAfter)
    }

    /// The kind of Cohere's status, and the status a client gets. Cohere's own statuses: 402
    /// (the account is out of credit: another deployment may answer, as after OpenAI's
    /// `insufficient_quota` 429), 498 (an invalid key) and 499 (Cohere cancelled the request).
    static func kind(forStatus status: Int) -> (AIError.Kind, Int) {
        switch status {
        case 402: (.rateLimited, 402)
        case 498: (.authentication, 401)
        case 499: (.server, 502)
        default: (AIError.kind(forStatus: status), status)
        }
    }
}
