import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Mistral's API as the mock provider speaks it: `POST /v1/chat/completions` and
/// `POST /v1/embeddings` with a bearer key, served under `/mistral` (so `base_url` is
/// `http://127.0.0.1:{port}/mistral/v1`; the prefix stands for Mistral's own host).
///
/// Requests are checked as Mistral checks them:
/// - its request models forbid unknown fields, at the top level, in each message (by role), in
///   content chunks, tools and tool calls: a 422 `extra_forbidden` naming the field's place
///   (`["body", "messages", 0, "user", "name"]`), in Mistral's validation error shape; so are
///   a missing field (`missing`) and an unknown role (`union_tag_invalid`);
/// - as Mistral's request validator does: tool call ids of nine letters and digits, in
///   assistant calls and in tool messages (400 "Tool call id was … but must be a-z, A-Z, 0-9,
///   with a length of 9."), every call answered by a tool message and no tool message without
///   its call, roles in an order Mistral accepts (after a tool message only an assistant or
///   another tool message), and a conversation that ends with a user or tool message;
/// - a missing or wrong key is a 401 `{"detail": "Unauthorized"}`.
/// Answers: ids of 32 hex digits, tool call ids of nine letters and digits; in a stream each
/// tool call comes whole in one chunk (both calls of a parallel answer in the same delta),
/// the usage rides on the chunk with the finish reason, whether or not it was asked for, and
/// `data: [DONE]` ends it. An error in the middle of a stream is an event holding Mistral's
/// error object (`{"object": "error", …}`): Mistral does not document that case; this is the
/// shape of its other errors.
enum MockMistral {
    static let key = "test-mistral-key"

    static let requestFields: Set<String> = [
        "model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed", "metadata",
        "response_format", "tools", "tool_choice", "presence_penalty", "frequency_penalty", "n", "prediction",
        "parallel_tool_calls", "prompt_mode", "safe_prompt",
    ]
    static let messageFields: [String: Set<String>] = [
        "system": ["role", "content"],
        "user": ["role", "content"],
        "assistant": ["role", "content", "tool_calls", "prefix"],
        "tool": ["role", "content", "tool_call_id", "name"],
    ]
    /// The content chunks each role takes, with their fields.
    static let chunkFields: [String: Set<String>] = [
        "text": ["type", "text"], "image_url": ["type", "image_url"], "document_url": ["type", "document_url", "document_name"],
        "thinking": ["type", "thinking", "closed"], "input_audio": ["type", "input_audio"],
        "file": ["type", "file_id"], "reference": ["type", "reference_ids"],
    ]
    static let embeddingFields: Set<String> = ["model", "input", "metadata", "output_dimension", "output_dtype", "encoding_format"]

    static func error(_ status: Int, _ message: String, type: String, code: String? = nil, raw: Bool = false) -> MockAnswer {
        var body: [String: Any] = ["object": "error", "message": message, "type": type, "param": NSNull(),
                                   "code": code as Any? ?? NSNull()]
        if raw { body["raw_status_code"] = status }
        return .json(status: status, body: body)
    }

    /// A validation problem: where (`["body", …]`), its kind and message, and the input refused.
    struct Problem {
        var type: String
        var location: [Any]
        var message: String
        var input: Any
    }

    /// Mistral's 422 for a body its models refuse.
    static func unprocessable(_ problems: [Problem]) -> MockAnswer {
        .json(status: 422, body: [
            "object": "error",
            "message": ["detail": problems.map { ["type": $0.type, "loc": $0.location, "msg": $0.message, "input": $0.input] }],
            "type": "invalid_request_error", "param": NSNull(), "code": NSNull(),
        ])
    }

    static func extra(_ location: [Any], _ input: Any) -> Problem {
        Problem(type: "extra_forbidden", location: location, message: "Extra inputs are not permitted", input: input)
    }

    static func missing(_ location: [Any], in object: Any) -> Problem {
        Problem(type: "missing", location: location, message: "Field required", input: object)
    }

    /// A refusal of Mistral's request validator (the conversation's structure, tool call ids).
    static func invalid(_ message: String, type: String = "invalid_request_error", code: String? = nil) -> MockAnswer {
        error(400, message, type: type, code: code, raw: code != nil)
    }

    static var unauthorized: MockAnswer { .json(status: 401, body: ["detail": "Unauthorized"]) }

    /// The error a `fail <status>` asks for, as Mistral words it.
    static func failure(_ status: Int) -> MockAnswer {
        switch status {
        case 429: error(429, "Rate limit exceeded", type: "rate_limited", code: "1300", raw: true)
        case 503: error(503, "Service tier capacity exceeded for this model.", type: "invalid_request_error")
        default: error(status, "Internal server error", type: "internal_server_error", code: "1000", raw: true)
        }
    }

    static func isToolCallID(_ id: String) -> Bool {
        id.utf8.count == 9 && id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }

    static func newToolCallID() -> String {
        let digits = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<9).map { _ in digits.randomElement()! })
    }

    static func newID() -> String {
        (0..<32).map { _ in String(Int.random(in: 0..<16), radix: 16) }.joined()
    }

    static func authorized(_ head: HTTPRequestHead) -> Bool {
        head.headers.first(name: "authorization") == "Bearer \(key)"
    }

    static func answer(head: HTTPRequestHead, body: [String: Any]?) -> MockAnswer {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        if path.hasSuffix("/v1/embeddings") { return embeddings(head: head, body: body) }
        guard path.hasSuffix("/v1/chat/completions") else { return .json(status: 404, body: ["detail": "Not Found"]) }
        return chat(head: head, body: body)
    }

    // MARK: Chat

    static func chat(head: HTTPRequestHead, body: [String: Any]?) -> MockAnswer {
        guard authorized(head) else { return unauthorized }
        guard let body else {
            return unprocessable([Problem(type: "json_invalid", location: ["body", 0], message: "JSON decode error", input: [String: Any]())])
        }
        if let problems = check(body), !problems.isEmpty { return unprocessable(problems) }
        let messages = body["messages"] as! [[String: Any]]
        if let refusal = validate(messages) { return refusal }

        let model = body["model"] as! String
        let (script, text) = Script.openAI(messages)
        if let status = script.failure { return failure(status) }
        if script.command == "garbage" { return .raw(status: 200, contentType: "text/html", body: "<html>oops</html>") }
        let tools = body["tools"] as? [[String: Any]] ?? []
        let toolName = (tools.first?["function"] as? [String: Any])?["name"] as? String
        let calls = body["tool_choice"] as? String == "none" ? 0 : script.calls(offering: toolName)
        let words = calls > 0 ? [] : script.words(for: text)
        let output = calls > 0 ? 8 * calls : words.count
        let usage: [String: Any] = ["prompt_tokens": script.promptTokens, "completion_tokens": output,
                                    "total_tokens": script.promptTokens + output]
        let id = newID()
        let created = 1_760_000_000
        let callList: [[String: Any]] = (0..<calls).map { index in
            ["id": newToolCallID(), "type": "function", "index": index,
             "function": ["name": toolName ?? "", "arguments": "{\"city\": \"\(index == 0 ? "Paris" : "Rome")\"}"]]
        }
        let finish = calls > 0 ? "tool_calls" : "stop"
        guard body["stream"] as? Bool == true else {
            return .json(status: 200, body: [
                "id": id, "object": "chat.completion", "created": created, "model": model,
                "choices": [["index": 0, "finish_reason": finish, "message": [
                    "role": "assistant", "content": words.joined(), "prefix": false,
                    "tool_calls": calls > 0 ? callList : NSNull(),
                ] as [String: Any]]],
                "usage": usage,
            ])
        }
        func chunk(_ delta: [String: Any], finish: String? = nil, usage: [String: Any]? = nil) -> String {
            var object: [String: Any] = [
                "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [["index": 0, "delta": delta, "finish_reason": finish as Any? ?? NSNull()]],
            ]
            if let usage { object["usage"] = usage }
            return sse(object)
        }
        var pieces = [chunk(["role": "assistant", "content": ""])]
        pieces += words.map { chunk(["content": $0]) }
        if script.command == "midstream error" {
            pieces.append(sse(["object": "error", "message": "Internal server error", "type": "internal_server_error",
                               "param": NSNull(), "code": "1000", "raw_status_code": 500]))
            return .stream(pieces)
        }
        // The calls come whole, all in one delta.
        if calls > 0 { pieces.append(chunk(["content": "", "tool_calls": callList])) }
        if script.command == "truncate" { return .stream(Array(pieces.prefix(2)), cut: true) }
        pieces.append(chunk(["content": ""], finish: finish, usage: usage))
        pieces.append("data: [DONE]\n\n")
        return .stream(pieces, interval: script.command == "slow" ? .milliseconds(50) : .zero)
    }

    /// What Mistral's request models refuse in `body` (unknown fields, missing ones, unknown
    /// roles and chunk types), or nil.
    static func check(_ body: [String: Any]) -> [Problem]? {
        var problems: [Problem] = []
        for key in body.keys.sorted() where !requestFields.contains(key) { problems.append(extra(["body", key], body[key]!)) }
        if !(body["model"] is String) { problems.append(missing(["body", "model"], in: body)) }
        guard let messages = body["messages"] as? [[String: Any]] else {
            problems.append(missing(["body", "messages"], in: body))
            return problems
        }
        for (index, message) in messages.enumerated() {
            let role = message["role"] as? String ?? ""
            guard let fields = messageFields[role] else {
                problems.append(Problem(type: "union_tag_invalid", location: ["body", "messages", index],
                                        message: "Input tag '\(role)' found using 'role' does not match any of the expected tags: 'assistant', 'system', 'tool', 'user'",
                                        input: message))
                continue
            }
            let at: [Any] = ["body", "messages", index, role]
            for key in message.keys.sorted() where !fields.contains(key) { problems.append(extra(at + [key], message[key]!)) }
            if role != "assistant", message["content"] == nil { problems.append(missing(at + ["content"], in: message)) }
            if let chunks = message["content"] as? [[String: Any]] {
                for (chunkIndex, chunk) in chunks.enumerated() {
                    let type = chunk["type"] as? String ?? ""
                    guard let allowed = chunkFields[type] else {
                        problems.append(Problem(type: "union_tag_invalid", location: at + ["content", "list[tagged-union]", chunkIndex],
                                                message: "Input tag '\(type)' found using 'type' does not match any of the expected tags",
                                                input: chunk))
                        continue
                    }
                    for key in chunk.keys.sorted() where !allowed.contains(key) {
                        problems.append(extra(at + ["content", "list[tagged-union]", chunkIndex, type, key], chunk[key]!))
                    }
                }
            }
            for (callIndex, call) in (message["tool_calls"] as? [[String: Any]] ?? []).enumerated() {
                for key in call.keys.sorted() where !["id", "type", "function", "index"].contains(key) {
                    problems.append(extra(at + ["tool_calls", callIndex, key], call[key]!))
                }
                let function = call["function"] as? [String: Any] ?? [:]
                if !(function["name"] is String) { problems.append(missing(at + ["tool_calls", callIndex, "function", "name"], in: function)) }
                if function["arguments"] == nil { problems.append(missing(at + ["tool_calls", callIndex, "function", "arguments"], in: function)) }
            }
        }
        for (index, tool) in (body["tools"] as? [[String: Any]] ?? []).enumerated() {
            for key in tool.keys.sorted() where !["type", "function"].contains(key) { problems.append(extra(["body", "tools", index, key], tool[key]!)) }
            let function = tool["function"] as? [String: Any] ?? [:]
            for key in function.keys.sorted() where !["name", "description", "parameters", "strict"].contains(key) {
                problems.append(extra(["body", "tools", index, "function", key], function[key]!))
            }
        }
        if let choice = body["tool_choice"] as? String, !["auto", "none", "any", "required"].contains(choice) {
            problems.append(Problem(type: "enum", location: ["body", "tool_choice"],
                                    message: "Input should be 'auto', 'none', 'any' or 'required'", input: choice))
        }
        return problems
    }

    /// What Mistral's request validator refuses in a well-formed `messages`, or nil.
    static func validate(_ messages: [[String: Any]]) -> MockAnswer? {
        guard !messages.isEmpty else { return invalid("Conversation must have at least one message") }
        var expected: Set<String> = []
        var answered: Set<String> = []
        var previous: String?
        for message in messages {
            let role = message["role"] as! String
            if let previous {
                let allowed: Set<String> = switch previous {
                case "system": ["user", "assistant", "system"]
                case "user": ["assistant", "system", "user"]
                case "assistant": ["assistant", "user", "tool"]
                default: ["assistant", "tool"]
                }
                guard allowed.contains(role) else { return invalid("Unexpected role '\(role)' after role '\(previous)'") }
            }
            switch role {
            case "assistant":
                guard expected.count == answered.count else { return invalid("Not the same number of function calls and responses") }
                expected = []
                answered = []
                for call in message["tool_calls"] as? [[String: Any]] ?? [] {
                    let id = call["id"] as? String ?? "null"
                    guard isToolCallID(id) else {
                        return invalid("Tool call id was \(id) but must be a-z, A-Z, 0-9, with a length of 9.",
                                       type: "invalid_function_call", code: "3280")
                    }
                    guard expected.insert(id).inserted else { return invalid("Duplicate tool call id \(id) in assistant message") }
                }
            case "tool":
                guard let id = message["tool_call_id"] as? String else { return invalid("Tool call id has to be defined.") }
                guard isToolCallID(id) else {
                    return invalid("Tool call id was \(id) but must be a-z, A-Z, 0-9, with a length of 9.",
                                   type: "invalid_function_call", code: "3280")
                }
                guard expected.contains(id) else { return invalid("Unexpected tool call id \(id) in tool results") }
                guard answered.insert(id).inserted else { return invalid("Duplicate tool call id \(id) in tool results") }
            default: break
            }
            previous = role
        }
        guard expected.count == answered.count else { return invalid("Not the same number of function calls and responses") }
        if messages.count > 1, let last = messages.last?["role"] as? String, last != "user", last != "tool",
           !(last == "assistant" && messages.last?["prefix"] as? Bool == true) {
            return invalid("Expected last role User or Tool (or Assistant with prefix or continue_final_message set to True) for serving but got \(last)")
        }
        return nil
    }

    // MARK: Embeddings

    /// `/v1/embeddings`: each input's vector is [its words, its characters, 0.5] (cut to
    /// `output_dimension` when asked); `usage.prompt_tokens` is one token per word. Float arrays,
    /// or little-endian float32 in base64 for `encoding_format: "base64"`.
    static func embeddings(head: HTTPRequestHead, body: [String: Any]?) -> MockAnswer {
        guard authorized(head) else { return unauthorized }
        guard let body else {
            return unprocessable([Problem(type: "json_invalid", location: ["body", 0], message: "JSON decode error", input: [String: Any]())])
        }
        var problems: [Problem] = []
        for key in body.keys.sorted() where !embeddingFields.contains(key) { problems.append(extra(["body", key], body[key]!)) }
        if !(body["model"] is String) { problems.append(missing(["body", "model"], in: body)) }
        let inputs: [String]
        switch body["input"] {
        case let text as String: inputs = [text]
        case let list as [Any] where list.allSatisfy({ $0 is String }): inputs = list as! [String]
        case nil:
            inputs = []
            problems.append(missing(["body", "input"], in: body))
        default:
            inputs = []
            problems.append(Problem(type: "string_type", location: ["body", "input", "str"], message: "Input should be a valid string",
                                    input: body["input"]!))
        }
        if let dimension = body["output_dimension"], !(dimension is NSNull), (dimension as? Int).map({ $0 < 1 }) ?? true {
            problems.append(Problem(type: "int_type", location: ["body", "output_dimension"], message: "Input should be a valid integer",
                                    input: dimension))
        }
        if let dtype = body["output_dtype"], !["float", "int8", "uint8", "binary", "ubinary"].contains(dtype as? String ?? "") {
            problems.append(Problem(type: "enum", location: ["body", "output_dtype"],
                                    message: "Input should be 'float', 'int8', 'uint8', 'binary' or 'ubinary'", input: dtype))
        }
        if let encoding = body["encoding_format"], !["float", "base64"].contains(encoding as? String ?? "") {
            problems.append(Problem(type: "enum", location: ["body", "encoding_format"], message: "Input should be 'float' or 'base64'",
                                    input: encoding))
        }
        guard problems.isEmpty else { return unprocessable(problems) }
        let dimension = body["output_dimension"] as? Int
        let base64 = body["encoding_format"] as? String == "base64"
        let (data, tokens) = openAIEmbeddingItems(inputs, base64: base64, dimensions: dimension)
        return .json(status: 200, body: [
            "id": "embd-" + newID(), "object": "list", "data": data, "model": body["model"] as! String,
            "usage": ["prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens, "prompt_audio_seconds": NSNull()],
        ])
    }
}

// MARK: - The mock's own checks

/// The refusals the SDK checks never provoke (Konnect sends valid requests), so that their
/// passing means Mistral would have taken Konnect's requests.
@Suite("AI: the Mistral mock refuses as Mistral does")
struct MockMistralTests {
    static let chat = "/mistral/v1/chat/completions"
    static let key = [("Authorization", "Bearer \(MockMistral.key)")]

    static func body(_ messages: [[String: Any]], _ extra: [String: Any] = [:]) -> [String: Any] {
        ["model": "mistral-large-latest", "messages": messages].merging(extra) { $1 }
    }

    /// The places of the problems of a 422.
    static func locations(_ answer: MockAnswer) -> [[String]] {
        guard let (status, body) = mockJSON(answer), status == 422,
              let detail = (body["message"] as? [String: Any])?["detail"] as? [[String: Any]]
        else { return [] }
        return detail.map { ($0["loc"] as? [Any] ?? []).map { "\($0)" } }
    }

    @Test func withoutTheKeyItIsUnauthorized() throws {
        let answer = try #require(mockJSON(MockMistral.answer(head: mockHead(Self.chat, []), body: Self.body([["role": "user", "content": "hi"]]))))
        #expect(answer.status == 401)
        #expect(answer.body["detail"] as? String == "Unauthorized")
    }

    @Test func unknownFieldsAreExtraForbiddenWhereTheyAre() {
        let answer = MockMistral.answer(head: mockHead(Self.chat, Self.key), body: Self.body(
            [["role": "user", "content": "hi", "name": "alice"]], ["stream_options": ["include_usage": true], "max_completion_tokens": 5]))
        #expect(Self.locations(answer) == [["body", "max_completion_tokens"], ["body", "stream_options"],
                                           ["body", "messages", "0", "user", "name"]])
    }

    @Test(arguments: ["call_abc123", "toolu_01A09q90qw", "abc"])
    func toolCallIdsMustBeNineLettersAndDigits(id: String) throws {
        let messages: [[String: Any]] = [
            ["role": "user", "content": "weather"],
            ["role": "assistant", "content": "", "tool_calls": [["id": id, "type": "function", "function": ["name": "f", "arguments": "{}"]]]],
            ["role": "tool", "tool_call_id": id, "content": "sunny"],
        ]
        let answer = try #require(mockJSON(MockMistral.answer(head: mockHead(Self.chat, Self.key), body: Self.body(messages))))
        #expect(answer.status == 400)
        #expect(answer.body["message"] as? String == "Tool call id was \(id) but must be a-z, A-Z, 0-9, with a length of 9.")
    }

    @Test func everyCallNeedsItsAnswerAndNoMore() throws {
        let call: [String: Any] = ["id": "D681PevKs", "type": "function", "function": ["name": "f", "arguments": "{}"]]
        let unanswered: [[String: Any]] = [
            ["role": "user", "content": "weather"], ["role": "assistant", "content": "", "tool_calls": [call]],
            ["role": "assistant", "content": "ok"], ["role": "user", "content": "and?"],
        ]
        let stray: [[String: Any]] = [
            ["role": "user", "content": "weather"], ["role": "assistant", "content": "", "tool_calls": [call]],
            ["role": "tool", "tool_call_id": "Xy12Ab34C", "content": "sunny"],
        ]
        let first = mockJSON(MockMistral.answer(head: mockHead(Self.chat, Self.key), body: Self.body(unanswered)))
        #expect(first?.status == 400)
        #expect(first?.body["message"] as? String == "Not the same number of function calls and responses")
        let second = mockJSON(MockMistral.answer(head: mockHead(Self.chat, Self.key), body: Self.body(stray)))
        #expect(second?.body["message"] as? String == "Unexpected tool call id Xy12Ab34C in tool results")
    }

    @Test func embeddingsTakeMistralsFieldsOnly() {
        let answer = MockMistral.answer(head: mockHead("/mistral/v1/embeddings", Self.key),
                                        body: ["model": "mistral-embed", "input": ["hi"], "dimensions": 8, "user": "u-1"])
        #expect(Self.locations(answer) == [["body", "dimensions"], ["body", "user"]])
    }
}
