import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// Azure OpenAI as the mock provider speaks it: `POST /openai/deployments/{deployment}/chat/completions`
/// and `…/embeddings`, both with an `api-version` query, the key in the `api-key` header.
///
/// What Azure does differently from OpenAI, reproduced here:
/// - requests are addressed by deployment; the body's `model` is ignored and answers name the
///   model behind the deployment (`gpt-4o-2024-11-20`); an unknown deployment is a 404
///   `DeploymentNotFound`;
/// - a missing or malformed `api-version` is a 404 "Resource not found", as Azure answers it;
///   fields newer than the version are refused as unrecognized arguments (`stream_options`
///   before 2024-09-01, `max_completion_tokens` before 2024-12-01);
/// - a missing or wrong key is a 401 in Azure's own shape (`{"error": {"code": "401", "message"}}`);
///   rate limits come with `retry-after` and `retry-after-ms`;
/// - answers carry the content filter's verdicts: `prompt_filter_results` beside the choices,
///   `content_filter_results` in each choice; a stream begins with a chunk that has no id, no
///   model and no choices, only the prompt filter's results, which clients must get past.
/// The request body is otherwise checked as OpenAI checks it (roles, string arguments, tool
/// messages answering an earlier call).
enum MockAzure {
    static let key = "test-azure-key"
    /// The one deployment the mock's resource has.
    static let deployment = "konnect-gpt-4o"
    /// The model behind it, as Azure names it in answers.
    static let model = "gpt-4o-2024-11-20"

    /// Azure's own errors (authentication, routing, throttling): a code and a message.
    static func error(_ status: Int, code: String, _ message: String, headers: [(String, String)] = []) -> MockAnswer {
        .json(status: status, body: ["error": ["code": code, "message": message]], headers: headers)
    }

    /// Errors of the model service behind Azure, in OpenAI's shape.
    static func invalid(_ message: String, param: String? = nil) -> MockAnswer {
        .json(status: 400, body: ["error": ["message": message, "type": "invalid_request_error",
                                            "param": param as Any? ?? NSNull(), "code": NSNull()]])
    }

    static var notFound: MockAnswer { error(404, code: "404", "Resource not found") }

    /// The error a `fail <status>` asks for, as Azure words it.
    static func failure(_ status: Int) -> MockAnswer {
        switch status {
        case 429:
            error(429, code: "429",
                  "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second.",
                  headers: [("retry-after", "1"), ("retry-after-ms", "1000")])
        case 500:
            error(500, code: "InternalServerError", "The service is temporarily unable to process your request. Please try again later.")
        case 503:
            error(503, code: "ServiceUnavailable", "The service is temporarily unable to process your request. Please try again later.")
        default:
            error(status, code: String(status), "The request failed with status \(status).")
        }
    }

    /// The content filter's verdict on harmless text.
    static var safe: [String: Any] { [
        "hate": ["filtered": false, "severity": "safe"], "self_harm": ["filtered": false, "severity": "safe"],
        "sexual": ["filtered": false, "severity": "safe"], "violence": ["filtered": false, "severity": "safe"],
    ] }
    static var promptFilterResults: [[String: Any]] { [["prompt_index": 0, "content_filter_results": safe]] }

    static func answer(head: HTTPRequestHead, body: [String: Any]?) -> MockAnswer {
        let parts = head.uri.split(separator: "?", maxSplits: 1)
        let path = String(parts[0])
        let query = parts.count > 1 ? parts[1].split(separator: "&").map(String.init) : []
        guard let range = path.range(of: "/openai/deployments/") else { return notFound }
        let rest = path[range.upperBound...].split(separator: "/", maxSplits: 1).map(String.init)
        guard rest.count == 2, ["chat/completions", "embeddings"].contains(rest[1]) else { return notFound }
        // Without a version, or with one Azure does not have, the route does not exist.
        guard let version = query.first(where: { $0.hasPrefix("api-version=") })?.dropFirst("api-version=".count),
              isVersion(String(version))
        else { return notFound }
        guard head.headers.first(name: "api-key") == key else {
            return error(401, code: "401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.")
        }
        guard rest[0] == deployment else {
            return error(404, code: "DeploymentNotFound", "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.")
        }
        guard let body else { return invalid("We could not parse the JSON body of your request.") }
        return rest[1] == "embeddings" ? embeddings(body) : chat(body, version: String(version))
    }

    /// `2024-10-21`, `2025-01-01-preview` …
    static func isVersion(_ text: String) -> Bool {
        let date = text.hasSuffix("-preview") ? String(text.dropLast("-preview".count)) : text
        let fields = date.split(separator: "-", omittingEmptySubsequences: false)
        return fields.count == 3 && zip(fields, [4, 2, 2]).allSatisfy { field, length in
            field.count == length && field.allSatisfy(\.isASCII) && field.allSatisfy(\.isNumber)
        }
    }

    static func chat(_ body: [String: Any], version: String) -> MockAnswer {
        // Fields the API version does not know yet.
        for (field, since) in [("stream_options", "2024-09-01"), ("max_completion_tokens", "2024-12-01")]
        where body[field] != nil && version.prefix(10) < since {
            return invalid("Unrecognized request argument supplied: \(field)")
        }
        guard let messages = body["messages"] as? [[String: Any]], !messages.isEmpty else {
            return invalid("'messages' is a required property", param: "messages")
        }
        var callIDs: Set<String> = []
        for (index, message) in messages.enumerated() {
            let role = message["role"] as? String ?? ""
            guard ["system", "developer", "user", "assistant", "tool"].contains(role) else {
                return invalid("Invalid value: '\(role)'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.",
                               param: "messages[\(index)].role")
            }
            for call in message["tool_calls"] as? [[String: Any]] ?? [] {
                guard let id = call["id"] as? String, (call["function"] as? [String: Any])?["arguments"] is String else {
                    return invalid("Invalid type for 'messages[\(index)].tool_calls': a call needs an id and string arguments.",
                                   param: "messages[\(index)].tool_calls")
                }
                callIDs.insert(id)
            }
            if role == "tool", !callIDs.contains(message["tool_call_id"] as? String ?? "") {
                return invalid("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
                               param: "messages.[\(index)].role")
            }
        }
        let stream = body["stream"] as? Bool ?? false
        if body["stream_options"] != nil, !stream {
            return invalid("The 'stream_options' parameter is only allowed when 'stream' is enabled.", param: "stream_options")
        }
        let (script, text) = Script.openAI(messages)
        if let status = script.failure { return failure(status) }
        if script.command == "garbage" { return .raw(status: 200, contentType: "text/html", body: "<html>oops</html>") }
        let tools = body["tools"] as? [[String: Any]] ?? []
        let toolName = (tools.first?["function"] as? [String: Any])?["name"] as? String
        let calls = script.calls(offering: toolName)
        let words = calls > 0 ? [] : script.words(for: text)
        let output = calls > 0 ? 8 * calls : words.count
        let usage: [String: Any] = [
            "prompt_tokens": script.promptTokens, "completion_tokens": output, "total_tokens": script.promptTokens + output,
            "prompt_tokens_details": ["audio_tokens": 0, "cached_tokens": 0],
            "completion_tokens_details": ["accepted_prediction_tokens": 0, "audio_tokens": 0, "reasoning_tokens": 0,
                                          "rejected_prediction_tokens": 0],
        ]
        let id = "chatcmpl-AzMock\(Int.random(in: 100_000...999_999))"
        let created = 1_760_000_000
        let callList: [[String: Any]] = (0..<calls).map { index in
            ["id": "call_azmock\(index)", "type": "function",
             "function": ["name": toolName ?? "", "arguments": "{\"city\":\"\(index == 0 ? "Paris" : "Rome")\"}"]]
        }
        let finish = calls > 0 ? "tool_calls" : "stop"
        guard stream else {
            var message: [String: Any] = ["role": "assistant", "content": calls > 0 ? NSNull() : words.joined(), "refusal": NSNull()]
            if calls > 0 { message["tool_calls"] = callList }
            return .json(status: 200, body: [
                "choices": [["content_filter_results": calls > 0 ? [:] : safe, "finish_reason": finish, "index": 0,
                             "logprobs": NSNull(), "message": message]],
                "created": created, "id": id, "model": model, "object": "chat.completion",
                "prompt_filter_results": promptFilterResults, "system_fingerprint": "fp_azmock", "usage": usage,
            ])
        }
        let includeUsage = (body["stream_options"] as? [String: Any])?["include_usage"] as? Bool ?? false
        func chunk(_ delta: [String: Any], filter: [String: Any] = [:], finish: String? = nil) -> String {
            var object: [String: Any] = [
                "choices": [["content_filter_results": filter, "delta": delta, "finish_reason": finish as Any? ?? NSNull(),
                             "index": 0, "logprobs": NSNull()]],
                "created": created, "id": id, "model": model, "object": "chat.completion.chunk", "system_fingerprint": "fp_azmock",
            ]
            if includeUsage { object["usage"] = NSNull() }
            return sse(object)
        }
        // First the prompt filter's verdict, alone.
        var pieces = [sse(["choices": [], "created": 0, "id": "", "model": "", "object": "",
                           "prompt_filter_results": promptFilterResults])]
        pieces.append(chunk(["content": "", "refusal": NSNull(), "role": "assistant"]))
        pieces += words.map { chunk(["content": $0], filter: safe) }
        if script.command == "midstream error" {
            pieces.append(sse(["error": ["message": "The server had an error processing your request. Sorry about that!",
                                         "type": "server_error", "param": NSNull(), "code": NSNull()]]))
            return .stream(pieces)
        }
        pieces += openAIToolCallDeltas(callList, fragment: 5).map { chunk($0) }
        if script.command == "truncate" { return .stream(Array(pieces.prefix(4)), cut: true) }
        pieces.append(chunk([:], finish: finish))
        if includeUsage {
            pieces.append(sse(["choices": [], "created": created, "id": id, "model": model, "object": "chat.completion.chunk",
                               "system_fingerprint": "fp_azmock", "usage": usage]))
        }
        pieces.append("data: [DONE]\n\n")
        return .stream(pieces, interval: script.command == "slow" ? .milliseconds(50) : .zero)
    }

    /// Each input's vector is [its words, its characters, 0.5]; one prompt token per word; float
    /// arrays, or little-endian float32 in base64 when asked.
    static func embeddings(_ body: [String: Any]) -> MockAnswer {
        let inputs = (body["input"] as? [String]) ?? (body["input"] as? String).map { [$0] } ?? []
        guard !inputs.isEmpty else { return invalid("'input' is a required property", param: "input") }
        if let encoding = body["encoding_format"], !["float", "base64"].contains(encoding as? String ?? "") {
            return invalid("Invalid value for 'encoding_format': expected 'float' or 'base64'.", param: "encoding_format")
        }
        let base64 = body["encoding_format"] as? String == "base64"
        let (data, tokens) = openAIEmbeddingItems(inputs, base64: base64)
        return .json(status: 200, body: ["object": "list", "data": data, "model": "text-embedding-3-small",
                                         "usage": ["prompt_tokens": tokens, "total_tokens": tokens]])
    }
}

// MARK: - The mock's own checks

/// What a mock answered with a whole body: its status and JSON (nil for a stream or raw text).
func mockJSON(_ answer: MockAnswer) -> (status: Int, body: [String: Any])? {
    guard case .json(let status, let body, _) = answer, let object = body as? [String: Any] else { return nil }
    return (status, object)
}

/// A request head for the mock: `POST uri` with `headers`.
func mockHead(_ uri: String, _ headers: [(String, String)]) -> HTTPRequestHead {
    HTTPRequestHead(version: .http1_1, method: .POST, uri: uri, headers: HTTPHeaders(headers))
}

/// The refusals the SDK checks never provoke (Konnect sends valid requests), so that their
/// passing means Azure would have taken Konnect's requests.
@Suite("AI: the Azure mock refuses as Azure does")
struct MockAzureTests {
    static let chat = "/openai/deployments/\(MockAzure.deployment)/chat/completions"
    static let key = [("api-key", MockAzure.key)]
    static var hello: [String: Any] { ["messages": [["role": "user", "content": "hello"]]] }

    @Test func withoutAnAPIVersionTheResourceIsNotFound() throws {
        let answer = try #require(mockJSON(MockAzure.answer(head: mockHead(Self.chat, Self.key), body: Self.hello)))
        #expect(answer.status == 404)
        #expect(answer.body["error"] as? [String: String] == ["code": "404", "message": "Resource not found"])
        let malformed = mockJSON(MockAzure.answer(head: mockHead(Self.chat + "?api-version=latest", Self.key), body: Self.hello))
        #expect(malformed?.status == 404)
    }

    @Test func withoutTheKeyAccessIsDeniedInAzuresShape() throws {
        let answer = try #require(mockJSON(MockAzure.answer(head: mockHead(Self.chat + "?api-version=2024-10-21", []), body: Self.hello)))
        #expect(answer.status == 401)
        #expect((answer.body["error"] as? [String: Any])?["code"] as? String == "401")
    }

    @Test func anotherDeploymentIsNotFound() throws {
        let uri = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
        let answer = try #require(mockJSON(MockAzure.answer(head: mockHead(uri, Self.key), body: Self.hello)))
        #expect(answer.status == 404)
        #expect((answer.body["error"] as? [String: Any])?["code"] as? String == "DeploymentNotFound")
    }

    @Test(arguments: [("stream_options", "2024-06-01"), ("max_completion_tokens", "2024-10-21")])
    func aFieldNewerThanTheVersionIsRefused(field: String, version: String) throws {
        var body = Self.hello
        body["stream"] = true
        body[field] = field == "stream_options" ? ["include_usage": true] as Any : 10
        let answer = try #require(mockJSON(MockAzure.answer(head: mockHead(Self.chat + "?api-version=\(version)", Self.key), body: body)))
        #expect(answer.status == 400)
        #expect((answer.body["error"] as? [String: Any])?["message"] as? String == "Unrecognized request argument supplied: \(field)")
    }

    @Test func aStreamBeginsWithThePromptFiltersVerdictAlone() throws {
        var body = Self.hello
        body["stream"] = true
        guard case .stream(let pieces, _, _) = MockAzure.answer(head: mockHead(Self.chat + "?api-version=2024-10-21", Self.key), body: body)
        else { Issue.record("not a stream"); return }
        let first = try #require(pieces.first)
        #expect(first.hasPrefix(#"data: {"#) && first.contains(#""choices":[]"#) && first.contains("prompt_filter_results"))
        #expect(pieces.last == "data: [DONE]\n\n")
    }
}
