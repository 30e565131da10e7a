import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// An in-process model provider for tests, speaking OpenAI's chat completions
/// (`POST /v1/chat/completions`, key `test-openai-key`) and Anthropic's Messages
/// (`POST /v1/messages`, key `test-anthropic-key`) as the real services do: the same request
/// checks, answers, stream event sequences, errors and usage reports.
///
/// It reads JSON with Foundation, not with Konnect's parser, so a parsing mistake in Konnect
/// cannot hide behind the same mistake here. What it answers depends on the last user message:
/// - `fail <status>`: that error, in the provider's shape (429 with `retry-after: 1`);
/// - `garbage`: 200 with an HTML page; `truncate`: a stream cut off without its end;
/// - `midstream error`: a stream that starts, then reports an overload;
/// - `weather` (with tools): a call of the first tool with `{"city":"Paris"}`; `two calls`:
///   two parallel calls of it;
/// - `slow`: a long stream, one word every 50 ms (for cancellation);
/// - anything else: `Echo: <text>`.
/// A path under `/fail/<status>/` (a deployment's `base_url`) fails with that status whatever the
/// request says, so tests can give one deployment of a model a broken provider.
/// Usage: one prompt token per word of every message, one output token per word answered.
///
/// It also speaks Gemini (`…:generateContent`, `…:streamGenerateContent`, `…:batchEmbedContents`),
/// Ollama (`/api/chat`, `/api/embed`), Cohere (`/v2/chat`, `/v2/embed`), Bedrock
/// (`/model/{id}/converse`, `…/converse-stream`, `…/invoke` for embeddings),
/// Azure OpenAI (`/openai/deployments/{id}/chat/completions`, `…/embeddings`) and Mistral
/// (`/mistral/v1/chat/completions`, `/mistral/v1/embeddings`) with the same commands, each in
/// that provider's own wire format (MockGemini.swift, MockOllama.swift, MockCohere.swift,
/// MockBedrock.swift, MockAzure.swift, MockMistral.swift).
final class MockAIProvider: Sendable {
    static let openAIKey = "test-openai-key"
    static let anthropicKey = "test-anthropic-key"

    struct Request: Sendable {
        var path: String
        var headers: [(String, String)]
        var bodyBytes: Data

        /// The JSON body, read with Foundation.
        var body: [String: Any] {
            (try? JSONSerialization.jsonObject(with: bodyBytes)) as? [String: Any] ?? [:]
        }

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    let port: Int
    private let channel: any Channel
    private let state: NIOLockedValueBox<State>

    struct State {
        var requests: [Request] = []
        /// Streams whose client went away before the stream ended.
        var abandonedStreams = 0
    }

    init(group: any EventLoopGroup) async throws {
        let state = NIOLockedValueBox(State())
        self.state = state
        channel = try await ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MockAIHandler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
    }

    var requests: [Request] { state.withLockedValue { $0.requests } }
    var abandonedStreams: Int { state.withLockedValue { $0.abandonedStreams } }

    func close() async throws { try await channel.close() }
}

/// Runs `body` with a mock provider on a loop group of its own, shut down afterwards.
func withMockAIProvider<T>(_ body: (MockAIProvider) async throws -> T) async throws -> T {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let provider = try await MockAIProvider(group: group)
    do {
        let result = try await body(provider)
        try await provider.close()
        try await group.shutdownGracefully()
        return result
    } catch {
        try? await provider.close()
        try? await group.shutdownGracefully()
        throw error
    }
}

/// What the mock answers: a whole body, or a stream of pieces.
enum MockAnswer {
    case json(status: Int, body: Any, headers: [(String, String)] = [])
    case raw(status: Int, contentType: String, body: String)
    /// Server-sent events.
    case stream([String], interval: TimeAmount = .zero, cut: Bool = false)
    /// A stream of another content type (Ollama's lines of JSON, Bedrock's binary frames).
    case bytesStream(contentType: String, [[UInt8]], interval: TimeAmount = .zero, cut: Bool = false)
}

private final class MockAIHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let state: NIOLockedValueBox<MockAIProvider.State>
    var head: HTTPRequestHead?
    var body = ByteBuffer()
    var streaming = false

    init(state: NIOLockedValueBox<MockAIProvider.State>) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            guard let head else { return }
            let bytes = Data(body.readableBytesView)
            let json = (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any]
            let request = MockAIProvider.Request(path: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                                                 bodyBytes: bytes)
            state.withLockedValue { $0.requests.append(request) }
            let answer: MockAnswer
            let forced = head.uri.split(separator: "/").drop { $0 != "fail" }.dropFirst().first.flatMap { Int($0) }
            // The other providers' endpoints, by path (the query aside).
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            let gemini = path.hasSuffix(":generateContent") || path.hasSuffix(":streamGenerateContent")
                || path.hasSuffix(":batchEmbedContents")
            let ollama = path.hasSuffix("/api/chat") || path.hasSuffix("/api/embed")
            let cohere = path.hasSuffix("/v2/chat") || path.hasSuffix("/v2/embed")
            let bedrock = path.hasSuffix("/converse") || path.hasSuffix("/converse-stream") || path.hasSuffix("/invoke")
            let azure = path.contains("/openai/deployments/")
            let mistral = path.contains("/mistral/v1/")
            if let status = forced {
                answer = if head.uri.hasSuffix("/v1/messages") {
                    MockAnthropic.error(status, status == 429 ? "rate_limit_error" : "api_error", "forced failure")
                } else if gemini {
                    MockGemini.failure(status)
                } else if ollama {
                    MockOllama.error(status, "forced failure")
                } else if cohere {
                    MockCohere.failure(status)
                } else if bedrock {
                    MockBedrock.failure(status)
                } else if azure {
                    MockAzure.failure(status)
                } else if mistral {
                    MockMistral.failure(status)
                } else {
                    MockOpenAI.error(status, "forced failure", type: "server_error")
                }
            } else if gemini {
                answer = MockGemini.answer(head: head, body: json)
            } else if path.hasSuffix("/api/chat") {
                answer = MockOllama.chat(head: head, body: json)
            } else if path.hasSuffix("/api/embed") {
                answer = MockOllama.embed(head: head, body: json)
            } else if cohere {
                answer = MockCohere.answer(head: head, body: json)
            } else if bedrock {
                answer = MockBedrock.answer(head: head, body: json)
            } else if azure {
                answer = MockAzure.answer(head: head, body: json)
            } else if mistral {
                answer = MockMistral.answer(head: head, body: json)
            } else if head.uri.hasSuffix("/v1/embeddings") {
                answer = MockOpenAI.embeddings(head: head, body: json)
            } else if head.uri.hasSuffix("/chat/completions") {
                answer = MockOpenAI.answer(head: head, body: json)
            } else if head.uri.hasSuffix("/v1/messages") {
                answer = MockAnthropic.answer(head: head, body: json)
            } else {
                answer = .json(status: 404, body: ["error": ["message": "no such endpoint \(head.uri)"]])
            }
            send(answer, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if streaming { state.withLockedValue { $0.abandonedStreams += 1 } }
        context.fireChannelInactive()
    }

    private func send(_ answer: MockAnswer, context: ChannelHandlerContext) {
        switch answer {
        case .json(let status, let body, let extra):
            let data = (try? JSONSerialization.data(withJSONObject: body)) ?? Data()
            write(status: status, contentType: "application/json", body: String(decoding: data, as: UTF8.self),
                  extra: extra, context: context)
        case .raw(let status, let contentType, let body):
            write(status: status, contentType: contentType, body: body, extra: [], context: context)
        case .stream(let pieces, let interval, let cut):
            streaming = true
            let headers = HTTPHeaders([("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                                  promise: nil)
            sendPieces(pieces.map { ByteBuffer(string: $0) }[...], interval: interval, cut: cut, context: context)
        case .bytesStream(let contentType, let pieces, let interval, let cut):
            streaming = true
            let headers = HTTPHeaders([("Content-Type", contentType)])
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                                  promise: nil)
            sendPieces(pieces.map { ByteBuffer(bytes: $0) }[...], interval: interval, cut: cut, context: context)
        }
    }

    private func sendPieces(_ pieces: ArraySlice<ByteBuffer>, interval: TimeAmount, cut: Bool, context: ChannelHandlerContext) {
        guard let piece = pieces.first else {
            if cut {
                streaming = false
                context.close(promise: nil)
            } else {
                streaming = false
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
            return
        }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(piece))), promise: nil)
        let rest = pieces.dropFirst()
        if interval == .zero {
            sendPieces(rest, interval: interval, cut: cut, context: context)
        } else {
            context.eventLoop.assumeIsolated().scheduleTask(in: interval) {
                guard context.channel.isActive else { return }
                self.sendPieces(rest, interval: interval, cut: cut, context: context)
            }
        }
    }

    private func write(status: Int, contentType: String, body: String, extra: [(String, String)], context: ChannelHandlerContext) {
        var headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", String(body.utf8.count))])
        for (name, value) in extra { headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers))),
                      promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// What the last user message asks the mock to do, and the words it answers with.
struct Script {
    let command: String
    let promptTokens: Int

    init(texts: [String], last: String) {
        command = last.trimmingCharacters(in: .whitespaces).lowercased()
        promptTokens = texts.reduce(0) { $0 + $1.split(whereSeparator: \.isWhitespace).count }
    }

    /// The script of an OpenAI-shaped conversation, commanded by its last user or tool message;
    /// `last` is that message's text.
    static func openAI(_ messages: [[String: Any]]) -> (script: Script, last: String) {
        let lastUser = messages.last { $0["role"] as? String == "user" || $0["role"] as? String == "tool" }
        let text = contentText(lastUser?["content"])
        return (Script(texts: messages.map { contentText($0["content"]) }, last: text), text)
    }

    var failure: Int? {
        command.hasPrefix("fail ") ? Int(command.dropFirst(5)) : nil
    }

    /// How many calls of the first tool the answer makes, when the request offers one.
    func calls(offering toolName: String?) -> Int {
        guard toolName != nil else { return 0 }
        return command == "weather" ? 1 : command == "two calls" ? 2 : 0
    }

    /// The answer's words, each with the space that precedes it.
    func words(for text: String) -> [String] {
        if command == "slow" { return (1...100).map { $0 == 1 ? "w\($0)" : " w\($0)" } }
        let reply = "Echo: \(text)"
        return reply.split(separator: " ", omittingEmptySubsequences: false).enumerated().map { index, word in
            index == 0 ? String(word) : " " + word
        }
    }
}

/// The deltas that stream `calls` (OpenAI's `tool_calls` items) as OpenAI's API does: each
/// call's id and name, then its arguments in fragments of `fragment` characters.
func openAIToolCallDeltas(_ calls: [[String: Any]], fragment: Int) -> [[String: Any]] {
    var deltas: [[String: Any]] = []
    for (index, call) in calls.enumerated() {
        let function = call["function"] as! [String: Any]
        deltas.append(["tool_calls": [["index": index, "id": call["id"]!, "type": "function",
                                       "function": ["name": function["name"]!, "arguments": ""]]]])
        let arguments = function["arguments"] as! String
        var start = arguments.startIndex
        while start < arguments.endIndex {
            let end = arguments.index(start, offsetBy: fragment, limitedBy: arguments.endIndex) ?? arguments.endIndex
            deltas.append(["tool_calls": [["index": index, "function": ["arguments": String(arguments[start..<end])]]]])
            start = end
        }
    }
    return deltas
}

/// A text's words, as the mocks count tokens: one a word.
func mockWords(_ text: String) -> Int { text.split(whereSeparator: \.isWhitespace).count }

/// Every mock's embedding of a text: [its words, its characters, 0.5].
func mockEmbedding(_ text: String) -> [Double] { [Double(mockWords(text)), Double(text.count), 0.5] }

/// OpenAI's embeddings `data` items for `inputs` (vectors cut to `dimensions` when given), as
/// float arrays or little-endian float32 in base64; and their prompt tokens.
func openAIEmbeddingItems(_ inputs: [String], base64: Bool, dimensions: Int? = nil) -> (items: [[String: Any]], tokens: Int) {
    let items: [[String: Any]] = inputs.enumerated().map { index, text in
        var vector = mockEmbedding(text).map(Float.init)
        if let dimensions { vector = Array(vector.prefix(dimensions)) }
        let embedding: Any = base64
            ? Data(vector.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }).base64EncodedString()
            : vector.map(Double.init)
        return ["object": "embedding", "index": index, "embedding": embedding]
    }
    return (items, inputs.reduce(0) { $0 + mockWords($1) })
}

/// The text of an OpenAI or Anthropic message's content (a string, or text parts/blocks).
func contentText(_ content: Any?) -> String {
    if let text = content as? String { return text }
    guard let parts = content as? [[String: Any]] else { return "" }
    return parts.compactMap { part in
        if let text = part["text"] as? String { return text }
        if part["type"] as? String == "tool_result" { return contentText(part["content"]) }
        return nil
    }.joined(separator: " ")
}

func sse(_ object: Any, event: String? = nil) -> String {
    let data = String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data(), as: UTF8.self)
    return (event.map { "event: \($0)\n" } ?? "") + "data: \(data)\n\n"
}

// MARK: OpenAI

private enum MockOpenAI {
    static func error(_ status: Int, _ message: String, type: String, param: String? = nil, code: String? = nil) -> MockAnswer {
        let headers: [(String, String)] = status == 429 ? [("retry-after", "1")] : []
        return .json(status: status, body: ["error": ["message": message, "type": type, "param": param as Any? ?? NSNull(),
                                                      "code": code as Any? ?? NSNull()]], headers: headers)
    }

    /// The fields OpenAI's embeddings endpoint takes; it refuses any other.
    static let embeddingsFields: Set<String> = ["input", "model", "encoding_format", "dimensions", "user"]

    /// `/v1/embeddings`: each input's vector is [its words, its characters, 0.5]; one prompt token
    /// per word; float arrays, or little-endian float32 in base64 when asked. Under `/vllm/`, a
    /// server that takes fields of its own (as vLLM does), like `truncate_prompt_tokens`.
    static func embeddings(head: HTTPRequestHead, body: [String: Any]?) -> MockAnswer {
        guard head.headers.first(name: "authorization") == "Bearer \(MockAIProvider.openAIKey)" else {
            return error(401, "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key")
        }
        guard let body, let model = body["model"] as? String else {
            return error(400, "you must provide a model parameter", type: "invalid_request_error", param: "model")
        }
        if !head.uri.hasPrefix("/vllm/"), let unknown = body.keys.sorted().first(where: { !embeddingsFields.contains($0) }) {
            return error(400, "Unrecognized request argument supplied: \(unknown)", type: "invalid_request_error")
        }
        let inputs = (body["input"] as? [String]) ?? (body["input"] as? String).map { [$0] } ?? []
        guard !inputs.isEmpty else { return error(400, "'input' is a required property", type: "invalid_request_error", param: "input") }
        let base64 = body["encoding_format"] as? String == "base64"
        let (data, tokens) = openAIEmbeddingItems(inputs, base64: base64)
        return .json(status: 200, body: ["object": "list", "data": data, "model": model,
                                         "usage": ["prompt_tokens": tokens, "total_tokens": tokens]])
    }

    static func answer(head: HTTPRequestHead, body: [String: Any]?) -> MockAnswer {
        guard head.headers.first(name: "authorization") == "Bearer \(MockAIProvider.openAIKey)" else {
            return error(401, "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key")
        }
        guard let body else { return error(400, "We could not parse the JSON body of your request.", type: "invalid_request_error") }
        guard let model = body["model"] as? String else {
            return error(400, "you must provide a model parameter", type: "invalid_request_error", param: "model")
        }
        guard let messages = body["messages"] as? [[String: Any]], !messages.isEmpty else {
            return error(400, "[] is too short - 'messages'", type: "invalid_request_error", param: "messages")
        }
        var callIDs: Set<String> = []
        for (index, message) in messages.enumerated() {
            let role = message["role"] as? String ?? ""
            guard ["system", "developer", "user", "assistant", "tool"].contains(role) else {
                return error(400, "Invalid value: '\(role)'.", type: "invalid_request_error", param: "messages[\(index)].role")
            }
            for call in message["tool_calls"] as? [[String: Any]] ?? [] {
                if let id = call["id"] as? String { callIDs.insert(id) }
                guard let arguments = (call["function"] as? [String: Any])?["arguments"] as? String else {
                    return error(400, "arguments must be a string", type: "invalid_request_error",
                                 param: "messages[\(index)].tool_calls")
                }
                _ = arguments
            }
            if role == "tool", !callIDs.contains(message["tool_call_id"] as? String ?? "") {
                return error(400, "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
                             type: "invalid_request_error", param: "messages.[\(index)].role")
            }
        }
        let stream = body["stream"] as? Bool ?? false
        if body["stream_options"] != nil, !stream {
            return error(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                         type: "invalid_request_error", param: "stream_options")
        }
        if let temperature = body["temperature"] as? Double, !(0...2).contains(temperature) {
            return error(400, "Invalid 'temperature': decimal above maximum value.", type: "invalid_request_error", param: "temperature")
        }
        let (script, text) = Script.openAI(messages)
        if let status = script.failure {
            return error(status, status == 429 ? "Rate limit reached for requests" : "The server had an error",
                         type: status == 429 ? "requests" : "server_error", code: status == 429 ? "rate_limit_exceeded" : nil)
        }
        if script.command == "garbage" { return .raw(status: 200, contentType: "text/html", body: "<html>oops</html>") }
        let tools = body["tools"] as? [[String: Any]] ?? []
        let toolName = (tools.first?["function"] as? [String: Any])?["name"] as? String
        let calls = script.calls(offering: toolName)
        let words = calls > 0 ? [] : script.words(for: text)
        let usage: [String: Any] = [
            "prompt_tokens": script.promptTokens, "completion_tokens": calls > 0 ? 8 * calls : words.count,
            "total_tokens": script.promptTokens + (calls > 0 ? 8 * calls : words.count),
            "prompt_tokens_details": ["cached_tokens": 0], "completion_tokens_details": ["reasoning_tokens": 0],
        ]
        let id = "chatcmpl-mock\(Int.random(in: 1000...9999))"
        let callList: [[String: Any]] = (0..<calls).map { index in
            ["id": "call_mock\(index)", "type": "function",
             "function": ["name": toolName ?? "", "arguments": "{\"city\": \"\(index == 0 ? "Paris" : "Rome")\"}"]]
        }
        guard stream else {
            var message: [String: Any] = ["role": "assistant", "content": calls > 0 ? NSNull() : words.joined(), "refusal": NSNull()]
            if calls > 0 { message["tool_calls"] = callList }
            return .json(status: 200, body: [
                "id": id, "object": "chat.completion", "created": 1_760_000_000, "model": model,
                "choices": [["index": 0, "message": message, "logprobs": NSNull(), "finish_reason": calls > 0 ? "tool_calls" : "stop"]],
                "usage": usage, "system_fingerprint": "fp_mock",
            ])
        }
        let includeUsage = (body["stream_options"] as? [String: Any])?["include_usage"] as? Bool ?? false
        func chunk(_ delta: [String: Any], finish: String? = nil) -> String {
            var object: [String: Any] = [
                "id": id, "object": "chat.completion.chunk", "created": 1_760_000_000, "model": model,
                "system_fingerprint": "fp_mock",
                "choices": [["index": 0, "delta": delta, "logprobs": NSNull(), "finish_reason": finish as Any? ?? NSNull()]],
            ]
            if includeUsage { object["usage"] = NSNull() }
            return sse(object)
        }
        var pieces = [chunk(["role": "assistant", "content": "", "refusal": NSNull()])]
        pieces += words.map { chunk(["content": $0]) }
        if script.command == "midstream error" {
            pieces.append(sse(["error": ["message": "The server is overloaded", "type": "server_error", "param": NSNull(), "code": NSNull()]]))
            return .stream(pieces)
        }
        pieces += openAIToolCallDeltas(callList, fragment: 4).map { chunk($0) }
        if script.command == "truncate" { return .stream(Array(pieces.prefix(3)), cut: true) }
        pieces.append(chunk([:], finish: calls > 0 ? "tool_calls" : "stop"))
        if includeUsage {
            pieces.append(sse(["id": id, "object": "chat.completion.chunk", "created": 1_760_000_000, "model": model,
                               "system_fingerprint": "fp_mock", "choices": [], "usage": usage]))
        }
        pieces.append("data: [DONE]\n\n")
        return .stream(pieces, interval: script.command == "slow" ? .milliseconds(50) : .zero)
    }
}

// MARK: Anthropic

private enum MockAnthropic {
    static func error(_ status: Int, _ type: String, _ message: String) -> MockAnswer {
        let headers: [(String, String)] = status == 429 ? [("retry-after", "1")] : []
        return .json(status: status, body: ["type": "error", "error": ["type": type, "message": message]], headers: headers)
    }

    static func answer(head: HTTPRequestHead, body: [String: Any]?) -> MockAnswer {
        guard head.headers.first(name: "x-api-key") == MockAIProvider.anthropicKey else {
            return error(401, "authentication_error", "invalid x-api-key")
        }
        guard head.headers.first(name: "anthropic-version") != nil else {
            return error(400, "invalid_request_error", "anthropic-version: header is required")
        }
        guard let body else { return error(400, "invalid_request_error", "There was an issue with your request body: invalid JSON") }
        guard let model = body["model"] as? String else { return error(400, "invalid_request_error", "model: Field required") }
        guard let maxTokens = body["max_tokens"] as? Int, maxTokens >= 1 else {
            return error(400, "invalid_request_error", "max_tokens: Field required")
        }
        guard let messages = body["messages"] as? [[String: Any]], !messages.isEmpty else {
            return error(400, "invalid_request_error", "messages: at least one message is required")
        }
        if let temperature = body["temperature"] as? Double, !(0...1).contains(temperature) {
            return error(400, "invalid_request_error", "temperature: Input should be less than or equal to 1")
        }
        var openCalls: Set<String> = []
        for (index, message) in messages.enumerated() {
            let role = message["role"] as? String ?? ""
            guard role == "user" || role == "assistant" else {
                return error(400, "invalid_request_error", "messages.\(index).role: Input should be 'user' or 'assistant'")
            }
            let blocks = message["content"] as? [[String: Any]] ?? []
            if !openCalls.isEmpty {
                // Every tool_use must be answered by a tool_result in the very next message.
                let answered = Set(blocks.filter { $0["type"] as? String == "tool_result" }.compactMap { $0["tool_use_id"] as? String })
                guard role == "user", answered.isSuperset(of: openCalls) else {
                    return error(400, "invalid_request_error",
                                 "messages.\(index): `tool_use` ids were found without `tool_result` blocks immediately after")
                }
                openCalls = []
            }
            for block in blocks {
                switch block["type"] as? String {
                case "tool_use":
                    guard block["input"] is [String: Any] else {
                        return error(400, "invalid_request_error", "messages.\(index).content: tool_use.input: Input should be an object")
                    }
                    openCalls.insert(block["id"] as? String ?? "")
                case "text", "image", "tool_result", "thinking": break
                default: return error(400, "invalid_request_error", "messages.\(index).content: unknown block type")
                }
            }
        }
        let system: String = (body["system"] as? String) ?? contentText(body["system"])
        let lastUser = messages.last { $0["role"] as? String == "user" }
        let text = contentText(lastUser?["content"])
        let script = Script(texts: [system] + messages.map { contentText($0["content"]) }, last: text)
        if let status = script.failure {
            let type = switch status {
            case 429: "rate_limit_error"
            case 529: "overloaded_error"
            default: "api_error"
            }
            return error(status, type, status == 529 ? "Overloaded" : "Internal server error")
        }
        if script.command == "garbage" { return .raw(status: 200, contentType: "text/html", body: "<html>oops</html>") }
        // A system prompt that mentions the cache is "read from the cache" (for usage accounting).
        let cached = system.contains("cache") ? system.split(whereSeparator: \.isWhitespace).count : 0
        let tools = body["tools"] as? [[String: Any]] ?? []
        let toolName = tools.first?["name"] as? String
        let calls = script.calls(offering: toolName)
        let words = calls > 0 ? ["Let", " me", " check."] : script.words(for: text)
        let outputTokens = words.count + 8 * calls
        let id = "msg_mock\(Int.random(in: 1000...9999))"
        let usage: [String: Any] = ["input_tokens": script.promptTokens - cached, "cache_creation_input_tokens": 0,
                                    "cache_read_input_tokens": cached, "output_tokens": outputTokens]
        let toolBlocks: [[String: Any]] = (0..<calls).map { index in
            ["type": "tool_use", "id": "toolu_mock\(index)", "name": toolName ?? "", "input": ["city": index == 0 ? "Paris" : "Rome"]]
        }
        guard body["stream"] as? Bool == true else {
            return .json(status: 200, body: [
                "id": id, "type": "message", "role": "assistant", "model": model,
                "content": [["type": "text", "text": words.joined()]] + toolBlocks,
                "stop_reason": calls > 0 ? "tool_use" : "end_turn", "stop_sequence": NSNull(), "usage": usage,
            ])
        }
        var pieces = [
            sse(["type": "message_start", "message": [
                "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": NSNull(), "stop_sequence": NSNull(),
                "usage": ["input_tokens": script.promptTokens - cached, "cache_creation_input_tokens": 0,
                          "cache_read_input_tokens": cached, "output_tokens": 1],
            ]], event: "message_start"),
            sse(["type": "content_block_start", "index": 0, "content_block": ["type": "text", "text": ""]], event: "content_block_start"),
            sse(["type": "ping"], event: "ping"),
        ]
        pieces += words.map {
            sse(["type": "content_block_delta", "index": 0, "delta": ["type": "text_delta", "text": $0]], event: "content_block_delta")
        }
        if script.command == "midstream error" {
            pieces.append(sse(["type": "error", "error": ["type": "overloaded_error", "message": "Overloaded"]], event: "error"))
            return .stream(pieces)
        }
        pieces.append(sse(["type": "content_block_stop", "index": 0], event: "content_block_stop"))
        for (offset, block) in toolBlocks.enumerated() {
            let index = offset + 1
            pieces.append(sse(["type": "content_block_start", "index": index, "content_block": [
                "type": "tool_use", "id": block["id"]!, "name": block["name"]!, "input": [String: Any](),
            ]], event: "content_block_start"))
            let input = String(decoding: try! JSONSerialization.data(withJSONObject: block["input"]!), as: UTF8.self)
            let middle = input.index(input.startIndex, offsetBy: input.count / 2)
            for fragment in ["", String(input[..<middle]), String(input[middle...])] {
                pieces.append(sse(["type": "content_block_delta", "index": index,
                                   "delta": ["type": "input_json_delta", "partial_json": fragment]], event: "content_block_delta"))
            }
            pieces.append(sse(["type": "content_block_stop", "index": index], event: "content_block_stop"))
        }
        if script.command == "truncate" { return .stream(Array(pieces.prefix(4)), cut: true) }
        pieces.append(sse(["type": "message_delta", "delta": ["stop_reason": calls > 0 ? "tool_use" : "end_turn", "stop_sequence": NSNull()],
                           "usage": ["output_tokens": outputTokens]], event: "message_delta"))
        pieces.append(sse(["type": "message_stop"], event: "message_stop"))
        return .stream(pieces, interval: script.command == "slow" ? .milliseconds(50) : .zero)
    }
}
