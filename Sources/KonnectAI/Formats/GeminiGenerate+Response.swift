import NIOCore

extension GeminiGenerate {
    /// Reads Gemini's whole answer (a `GenerateContentResponse`).
    ///
    /// Gemini gives function calls no id: each gets `call_<responseId>_<n>` (`call_<n>` when the
    /// answer has no `responseId`), unique across a conversation, so a client or another
    /// provider that keys calls by id never sees two alike. A prompt Gemini blocked before
    /// answering is an empty answer stopped by the content filter.
    public static func response(from body: JSON) throws(AIError) -> ChatResponse {
        guard body.object != nil else { throw AIError(.server, "The provider's answer is not a JSON object") }
        let responseID = body["responseId"]?.string
        var response = ChatResponse(id: responseID ?? generatedID(), model: body["modelVersion"]?.string ?? "",
                                    created: 0, choices: [], usage: usage(body["usageMetadata"]))
        let candidates = body["candidates"]?.array ?? []
        guard !candidates.isEmpty else {
            guard body["promptFeedback"]?["blockReason"]?.string != nil else {
                throw AIError(.server, "The provider's answer has no candidates")
            }
            response.choices = [ChatChoice(index: 0, message: ChatMessage(role: .assistant, content: []),
                                           finishReason: .contentFilter)]
            return response
        }
        for (position, candidate) in candidates.enumerated() {
            var reader = PartReader(responseID: responseID)
            for part in candidate["content"]?["parts"]?.array ?? [] { reader.read(part) }
            response.choices.append(ChatChoice(
                index: candidate["index"]?.integer ?? position, message: reader.message,
                finishReason: candidate["finishReason"]?.string.map { finishReason($0, calledFunctions: reader.calls > 0) }))
        }
        return response
    }

    /// Gathers one candidate's parts into an assistant message.
    struct PartReader {
        let responseID: String?
        var text = ""
        var hasText = false
        var thoughts = ""
        var signature: String?
        var toolCalls: [ToolCall] = []
        var calls: Int { toolCalls.count }

        init(responseID: String?) {
            self.responseID = responseID
        }

        mutating func read(_ part: JSON) {
            if let call = part["functionCall"] {
                toolCalls.append(GeminiGenerate.toolCall(call, part: part, number: toolCalls.count, responseID: responseID))
                if let signature = part["thoughtSignature"]?.string { self.signature = signature }
            } else if let piece = part["text"]?.string {
                if part["thought"]?.bool == true {
                    thoughts += piece
                    if let signature = part["thoughtSignature"]?.string { self.signature = signature }
                } else {
                    text += piece
                    hasText = true
                }
            }
        }

        /// Reasoning first (with the signature Gemini wants back with the calls), then the text.
        var message: ChatMessage {
            var content: [ContentPart] = []
            if !thoughts.isEmpty || signature != nil { content.append(.thinking(thoughts, signature: signature)) }
            if hasText { content.append(.text(text)) }
            return ChatMessage(role: .assistant, content: content, toolCalls: toolCalls)
        }
    }

    /// A `functionCall` as a tool call: its own id when Gemini gave one, else a generated one.
    static func toolCall(_ call: JSON, part: JSON, number: Int, responseID: String?) -> ToolCall {
        let id = call["id"]?.string ?? part["id"]?.string ?? callID(number, responseID: responseID)
        return ToolCall(id: id, name: call["name"]?.string ?? "", arguments: (call["args"] ?? .object([:])).text)
    }

    static func callID(_ number: Int, responseID: String?) -> String {
        if let responseID, !responseID.isEmpty { return "call_\(responseID)_\(number)" }
        return "call_\(number)"
    }

    /// An id for an answer Gemini gave none.
    static func generatedID() -> String {
        "gemini-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    /// Gemini's finish reason in Konnect's terms. Gemini says `STOP` after function calls too;
    /// reasons with no counterpart (`MALFORMED_FUNCTION_CALL`, `OTHER` …) are kept, lower-cased.
    static func finishReason(_ reason: String, calledFunctions: Bool) -> FinishReason {
        switch reason {
        case "STOP": calledFunctions ? .toolCalls : .stop
        case "MAX_TOKENS": .length
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT":
            .contentFilter
        default: .other(reason.lowercased())
        }
    }

    /// Reads `usageMetadata`. Gemini's prompt count includes cached tokens, as Konnect's does;
    /// thinking tokens are counted apart from the answer's, and billed as output.
    static func usage(_ value: JSON?) -> Usage? {
        guard let value, value.object != nil else { return nil }
        let thoughts = value["thoughtsTokenCount"]?.tokenCount ?? 0
        return Usage(
            inputTokens: (value["promptTokenCount"]?.tokenCount ?? 0) + (value["toolUsePromptTokenCount"]?.tokenCount ?? 0),
            outputTokens: (value["candidatesTokenCount"]?.tokenCount ?? 0) + thoughts,
            cachedInputTokens: value["cachedContentTokenCount"]?.tokenCount ?? 0,
            reasoningTokens: thoughts)
    }

    // MARK: Errors

    /// Reads Gemini's error answer, `{"error":{"code","message","status","details"}}` (also
    /// wrapped in an array, as Gemini's non-SSE streaming endpoint sends it).
    public static func error(status: Int, body: ByteBuffer, retryAfter: Double?) -> AIError {
        let json = try? JSON.parse(body)
        guard let error = json?["error"] ?? json?.array?.first?["error"], error.object != nil else {
            let shown = body.readableBytes > 0 ? ": " + String(buffer: body).prefix(200) : ""
            return AIError(AIError.kind(forStatus: status), status: status, "The provider answered \(status)\(shown)",
                           retryAfter: retryAfter)
        }
        return self.error(error, status: status, retryAfter: retryAfter)
    }

    /// One error object, the HTTP status it came with, and the wait the headers asked for.
    static func error(_ error: JSON, status: Int, retryAfter: Double?) -> AIError {
        let code = error["status"]?.string
        let details = error["details"]?.array ?? []
        var kind = code.flatMap(kind(ofStatus:)) ?? AIError.kind(forStatus: status)
        var status = status
        // A wrong key is a 400 INVALID_ARGUMENT to Gemini; it is an authentication failure.
        if details.contains(where: { $0["reason"]?.string == "API_KEY_INVALID" }) {
            kind = .authentication
            status = 401
        }
        let message = error["message"]?.string ?? "The provider answered \(status)\(code.map { " (\($0))" } ?? "")"
        return AIError(kind, status: status, message, code: code, retryAfter: retryAfter ?? retryDelay(in: details))
    }

    /// The kind of a `google.rpc.Code` name.
    static func kind(ofStatus status: String) -> AIError.Kind? {
        switch status {
        case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE": .invalidRequest
        case "UNAUTHENTICATED": .authentication
        case "PERMISSION_DENIED": .permission
        case "NOT_FOUND": .notFound
        case "RESOURCE_EXHAUSTED": .rateLimited
        case "UNAVAILABLE": .overloaded
        case "DEADLINE_EXCEEDED": .timeout
        case "INTERNAL", "UNKNOWN", "DATA_LOSS": .server
        default: nil
        }
    }

    /// The HTTP status a `google.rpc.Code` name stands for (for errors that arrive in a stream).
    static func httpStatus(ofStatus status: String?) -> Int {
        switch status {
        case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE": 400
        case "UNAUTHENTICATED": 401
        case "PERMISSION_DENIED": 403
        case "NOT_FOUND": 404
        case "RESOURCE_EXHAUSTED": 429
        case "UNAVAILABLE": 503
        case "DEADLINE_EXCEEDED": 504
        default: 500
        }
    }

    /// The wait a `google.rpc.RetryInfo` detail asks for (`"retryDelay": "37s"`), in seconds.
    static func retryDelay(in details: [JSON]) -> Double? {
        for detail in details where detail["@type"]?.string?.hasSuffix("google.rpc.RetryInfo") == true {
            if let delay = detail["retryDelay"]?.string, delay.hasSuffix("s"), let seconds = RetryAfter.sane(Double(delay.dropLast())) {
                return seconds
            }
        }
        return nil
    }
}
