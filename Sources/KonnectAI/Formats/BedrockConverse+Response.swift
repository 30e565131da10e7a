import NIOCore

extension BedrockConverse {
    /// Reads Converse's whole answer: `output.message`, `stopReason`, `usage`.
    ///
    /// Converse names neither the answer nor the model: the answer gets a generated id, and the
    /// model is left empty for the gateway to fill in with the deployment's.
    public static func response(from body: JSON) throws(AIError) -> ChatResponse {
        guard body.object != nil else { throw AIError(.server, "The provider's answer is not a JSON object") }
        guard let message = body["output"]?["message"], message.object != nil else {
            throw AIError(.server, "The provider's answer has no output.message")
        }
        var reader = ContentReader()
        for block in message["content"]?.array ?? [] { reader.read(block) }
        let reason = body["stopReason"]?.string.map {
            finishReason($0, stopSequence: body["additionalModelResponseFields"]?["stop_sequence"]?.string)
        }
        return ChatResponse(id: generatedID(), model: "", created: 0,
                            choices: [ChatChoice(index: 0, message: reader.message, finishReason: reason)],
                            usage: usage(body["usage"]))
    }

    /// Gathers an answer's content blocks into an assistant message.
    struct ContentReader {
        var text = ""
        var hasText = false
        var reasoning = ""
        var signature: String?
        var hasReasoning = false
        var toolCalls: [ToolCall] = []

        mutating func read(_ block: JSON) {
            if let piece = block["text"]?.string {
                text += piece
                hasText = true
            } else if let use = block["toolUse"], use.object != nil {
                toolCalls.append(ToolCall(id: use["toolUseId"]?.string ?? "", name: use["name"]?.string ?? "",
                                          arguments: (use["input"] ?? .object([:])).text))
            } else if let reasoningText = block["reasoningContent"]?["reasoningText"], reasoningText.object != nil {
                reasoning += reasoningText["text"]?.string ?? ""
                if let signature = reasoningText["signature"]?.string { self.signature = signature }
                hasReasoning = true
            }
        }

        var message: ChatMessage {
            var content: [ContentPart] = []
            if hasReasoning { content.append(.thinking(reasoning, signature: signature)) }
            if hasText { content.append(.text(text)) }
            return ChatMessage(role: .assistant, content: content, toolCalls: toolCalls)
        }
    }

    /// An id for an answer (Converse gives none).
    static func generatedID() -> String {
        "bedrock-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    /// Converse's stop reason in Konnect's terms: a guardrail's or the content filter's stop is
    /// a content filter stop; a reason with no counterpart is kept as Bedrock wrote it.
    static func finishReason(_ reason: String, stopSequence: String? = nil) -> FinishReason {
        switch reason {
        case "end_turn": .stop
        case "tool_use": .toolCalls
        case "max_tokens": .length
        case "stop_sequence": .stopSequence(stopSequence)
        case "model_context_window_exceeded": .contextWindowExceeded
        case "guardrail_intervened", "content_filtered": .contentFilter
        default: .other(reason)
        }
    }

    /// Reads `usage`. Bedrock's `inputTokens` counts only the prompt tokens neither read from
    /// nor written to the cache (its prompt-caching guide: total input = inputTokens +
    /// cacheReadInputTokens + cacheWriteInputTokens), while Konnect's input counts them all.
    static func usage(_ value: JSON?) -> Usage? {
        guard let value, value.object != nil else { return nil }
        let read = value["cacheReadInputTokens"]?.tokenCount ?? 0
        let written = value["cacheWriteInputTokens"]?.tokenCount ?? 0
        return Usage(inputTokens: (value["inputTokens"]?.tokenCount ?? 0) + read + written,
                     outputTokens: value["outputTokens"]?.tokenCount ?? 0,
                     cachedInputTokens: read, cacheCreationInputTokens: written)
    }

    // MARK: Errors

    /// Reads Bedrock's error answer: the type in the `x-amzn-errortype` header
    /// (`ValidationException:http://…`) or the body's `__type`, the text in `message`.
    public static func error(status: Int, headers: [(String, String)], body: ByteBuffer) -> AIError {
        let retryAfter = RetryAfter.seconds(in: headers)
        let json = try? JSON.parse(body)
        let type = errorType(headers.first { $0.0.lowercased() == "x-amzn-errortype" }?.1 ?? json?["__type"]?.string)
        let named = type.map { " (\($0))" } ?? ""
        let shown = body.readableBytes > 0 ? ": " + String(buffer: body).prefix(200) : ""
        let message = json?["message"]?.string ?? json?["Message"]?.string ?? "The provider answered \(status)\(named)\(shown)"
        return AIError(kind(ofError: type) ?? AIError.kind(forStatus: status), status: clientStatus(ofError: type) ?? status,
                       message, code: type, retryAfter: retryAfter)
    }

    /// An error type alone: `ValidationException:http://internal.amazon.com/coral/…` and
    /// `com.amazon.coral.validate#ValidationException` are `ValidationException`.
    static func errorType(_ raw: String?) -> String? {
        guard var type = raw?[...] else { return nil }
        if let colon = type.firstIndex(of: ":") { type = type[..<colon] }
        if let hash = type.lastIndex(of: "#") { type = type[type.index(after: hash)...] }
        return type.isEmpty ? nil : String(type)
    }

    /// An exception sent inside an event stream (`:exception-type` `throttlingException` …),
    /// with its payload's `message`.
    static func streamError(type: String, payload: ByteBuffer) -> AIError {
        let json = try? JSON.parse(payload)
        let message = json?["message"]?.string ?? json?["Message"]?.string
            ?? "The provider's stream failed (\(type))"
        let kind = kind(ofError: type) ?? .server
        return AIError(kind, status: clientStatus(ofError: type) ?? kind.defaultStatus, message, code: type)
    }

    /// The kind of a Bedrock (or AWS authentication) error type, however its first letter is cased.
    static func kind(ofError type: String?) -> AIError.Kind? {
        switch type?.lowercased() {
        case "validationexception": .invalidRequest
        case "accessdeniedexception": .permission
        case "unrecognizedclientexception", "invalidsignatureexception", "incompletesignatureexception",
             "missingauthenticationtokenexception", "expiredtokenexception", "invalidclienttokenid",
             "signaturedoesnotmatch":
            .authentication
        case "resourcenotfoundexception": .notFound
        case "throttlingexception", "servicequotaexceededexception": .rateLimited
        case "serviceunavailableexception": .overloaded
        case "modelnotreadyexception": .unavailable
        case "modeltimeoutexception": .timeout
        case "internalserverexception", "modelerrorexception", "modelstreamerrorexception": .server
        default: nil
        }
    }

    /// The status a client gets for a Bedrock error type, where it differs from AWS's: a bad
    /// signature is AWS's 403 but an authentication failure (401); a failing model is AWS's 424
    /// but a bad gateway (502); a model timeout is AWS's 408 but a gateway timeout (504).
    static func clientStatus(ofError type: String?) -> Int? {
        switch type?.lowercased() {
        case "validationexception": 400
        case "accessdeniedexception": 403
        case "unrecognizedclientexception", "invalidsignatureexception", "incompletesignatureexception",
             "missingauthenticationtokenexception", "expiredtokenexception", "invalidclienttokenid",
             "signaturedoesnotmatch":
            401
        case "resourcenotfoundexception": 404
        case "throttlingexception", "servicequotaexceededexception": 429
        case "serviceunavailableexception", "modelnotreadyexception": 503
        case "modeltimeoutexception": 504
        case "internalserverexception": 500
        case "modelerrorexception", "modelstreamerrorexception": 502
        default: nil
        }
    }
}
