import NIOCore

/// Writes a stream of events as OpenAI `chat.completion.chunk` server-sent events, ending with
/// `data: [DONE]`. Usage goes in a last chunk of its own, only when the client asked for it.
public struct OpenAIChatStreamEncoder: Sendable {
    private let includeUsage: Bool
    private var id = ""
    private var model = ""
    private let created: Int
    private var usage: Usage?
    /// An error event ends the stream: nothing follows it, not even `[DONE]`.
    private var failed = false

    public init(includeUsage: Bool, created: Int) {
        self.includeUsage = includeUsage
        self.created = created
    }

    public mutating func encode(_ event: ChatStreamEvent, into out: inout ByteBuffer) {
        guard !failed else { return }
        switch event {
        case .start(let id, let model, let usage):
            self.id = id
            self.model = model
            if let usage { self.usage = usage }
            chunk(["role": "assistant", "content": ""], into: &out)
        case .text(let text):
            chunk(["content": .string(text)], into: &out)
        case .thinking(let text):
            chunk(["reasoning_content": .string(text)], into: &out)
        case .thinkingSignature:
            break
        case .toolCallStart(let index, let id, let name):
            chunk(["tool_calls": [["index": .number(Double(index)), "id": .string(id), "type": "function",
                                   "function": ["name": .string(name), "arguments": ""]]]], into: &out)
        case .toolCallArguments(let index, let fragment):
            chunk(["tool_calls": [["index": .number(Double(index)), "function": ["arguments": .string(fragment)]]]],
                  into: &out)
        case .finish(let reason):
            chunk([:], finishReason: reason, into: &out)
        case .usage(let usage):
            self.usage = usage
        case .error(let error):
            out.writeServerSentEvent(json: OpenAIChat.errorBody(error).body)
            failed = true
        }
    }

    /// The stream's end: the usage chunk (when asked for) and `[DONE]`.
    public mutating func finish(into out: inout ByteBuffer) {
        guard !failed else { return }
        if includeUsage, let usage {
            var object = header()
            object["choices"] = .array([])
            object["usage"] = OpenAIChat.usageJSON(usage)
            out.writeServerSentEvent(json: .object(object))
        }
        out.writeStaticString("data: [DONE]\n\n")
    }

    private func header() -> JSONObject {
        ["id": .string(id), "object": "chat.completion.chunk", "created": .number(Double(created)), "model": .string(model)]
    }

    private func chunk(_ delta: JSONObject, finishReason: FinishReason? = nil, into out: inout ByteBuffer) {
        var object = header()
        object["choices"] = [["index": 0, "delta": .object(delta),
                              "finish_reason": finishReason.map { .string($0.openAI) } ?? .null]]
        if includeUsage { object["usage"] = .null }
        out.writeServerSentEvent(json: .object(object))
    }
}

/// Reads an OpenAI-format server's stream of `chat.completion.chunk` events.
public struct OpenAIChatStreamDecoder: ChatStreamDecoder {
    private var parser = ServerSentEventParser()
    private var started = false
    private var done = false
    private var finished = false
    /// Tool-call indexes whose start has been reported.
    private var startedCalls: Set<Int> = []

    public init() {}

    public mutating func decode(_ bytes: ByteBuffer) throws(AIError) -> [ChatStreamEvent] {
        var events: [ChatStreamEvent] = []
        for event in try parser.parse(bytes) where !done {
            if event.data == "[DONE]" {
                done = true
                break
            }
            guard let chunk = try? JSON.parse(event.data) else {
                throw AIError(.server, "The provider sent a stream event that is not JSON")
            }
            if let error = chunk["error"], !error.isNull {
                events.append(.error(OpenAIChat.error(status: Self.status(of: error),
                                                      body: JSON.object(["error": error]).buffer, retryAfter: nil)))
                done = true
                break
            }
            // Azure's first chunk has no id and no choices (its prompt filter results): the
            // answer starts with the first chunk that says something.
            if !started, !(chunk["id"]?.string ?? "").isEmpty || chunk["choices"]?.array?.isEmpty == false {
                started = true
                events.append(.start(id: chunk["id"]?.string ?? "", model: chunk["model"]?.string ?? "", usage: nil))
            }
            if let choice = chunk["choices"]?.array?.first(where: { ($0["index"]?.integer ?? 0) == 0 }) {
                let delta = choice["delta"]
                if let reasoning = delta?["reasoning_content"]?.string, !reasoning.isEmpty { events.append(.thinking(reasoning)) }
                if let text = delta?["content"]?.string, !text.isEmpty { events.append(.text(text)) }
                for call in delta?["tool_calls"]?.array ?? [] {
                    let index = call["index"]?.integer ?? 0
                    if !startedCalls.contains(index) {
                        startedCalls.insert(index)
                        events.append(.toolCallStart(index: index, id: call["id"]?.string ?? "",
                                                     name: call["function"]?["name"]?.string ?? ""))
                    }
                    if let fragment = call["function"]?["arguments"]?.string, !fragment.isEmpty {
                        events.append(.toolCallArguments(index: index, fragment: fragment))
                    }
                }
                if let reason = choice["finish_reason"]?.string {
                    finished = true
                    events.append(.finish(FinishReason(openAI: reason)))
                }
            }
            if let usage = chunk["usage"].flatMap(OpenAIChat.usage) { events.append(.usage(usage)) }
        }
        return events
    }

    /// The HTTP status an error event stands for: its numeric code, or what its type or code says.
    static func status(of error: JSON) -> Int {
        if let code = error["code"]?.integer { return code }
        switch error["code"]?.string ?? error["type"]?.string {
        case "rate_limit_exceeded", "rate_limit_error", "requests", "tokens", "insufficient_quota": return 429
        case "invalid_request_error": return 400
        case "server_overloaded", "overloaded_error", "service_unavailable_error": return 503
        default: return 500
        }
    }

    public mutating func finish() throws(AIError) -> [ChatStreamEvent] {
        _ = parser.finish()
        guard done || finished else { throw AIError(.server, "The provider's stream ended before the answer was complete") }
        return []
    }
}
