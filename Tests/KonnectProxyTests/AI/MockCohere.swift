import Foundation
import NIOCore
import NIOHTTP1

/// Cohere's Chat API v2 as the mock provider speaks it: `POST /v2/chat` with a bearer key,
/// errors as `{"id", "message"}`, streams (`"stream": true`) as server-sent events `message-start`,
/// `content-start`/`-delta`/`-end`, `tool-plan-delta`, `tool-call-start`/`-delta`/`-end`,
/// `message-end` (the finish reason and the usage).
///
/// Requests are checked as Cohere checks them: `model` and `messages` required, roles `system`,
/// `user`, `assistant` and `tool`, a tool call's `arguments` a string, a tool message's
/// `tool_call_id` required and naming a call of an earlier assistant message, and every call
/// answered before the conversation goes on. Tool calls come with ids of Cohere's form
/// (`get_weather_…`) after a `tool_plan`. Usage is given twice, as Cohere gives it: the billed
/// units and the model's tokens (the same numbers here). An error in the middle of a stream is a
/// `message-end` with `finish_reason: ERROR` and the `error` text, as Cohere's API reference
/// describes it.
///
/// Embeddings, `POST /v2/embed`: `model`, `input_type` (required for v3 and newer models, which
/// the mock takes every model for), `texts` (1 to 96 strings), `embedding_types`, and
/// `output_dimension` for embed-v4.0 and newer only, answered `{"id", "embeddings": {type: […]},
/// "texts", "meta": {"api_version", "billed_units": {"input_tokens"}}, "response_type"}`. A text's
/// vector is [its words, its characters, 0.5] (as the OpenAI mock's); one billed token a word.
enum MockCohere {
    static let key = "test-cohere-key"

    static func error(_ status: Int, _ message: String) -> MockAnswer {
        .json(status: status, body: ["id": UUID().uuidString.lowercased(), "message": message])
    }

    static func invalid(_ message: String) -> MockAnswer { error(400, "invalid request: " + message) }

    /// The error a `fail <status>` asks for, as Cohere words it.
    static func failure(_ status: Int) -> MockAnswer {
        switch status {
        case 429: error(429, "You are using a Trial key, which is limited to 20 API calls / minute. You can continue to use the Trial key for free or upgrade to a Production key with higher rate limits at 'https://dashboard.cohere.com/api-keys'. Contact us on 'https://discord.gg/XW44jPfYJu' or email us at support@cohere.com with any questions")
        case 500: error(500, "internal server error, this has been reported to our developers")
        case 503: error(503, "service unavailable")
        default: error(status, "request failed with status \(status)")
        }
    }

    static func answer(head: HTTPRequestHead, body: [String: Any]?) -> MockAnswer {
        guard let authorization = head.headers.first(name: "authorization"), authorization.hasPrefix("Bearer ") else {
            return error(401, "no api key supplied")
        }
        guard authorization == "Bearer \(key)" else { return error(401, "invalid api token") }
        guard let body else { return invalid("could not parse the request body as JSON") }
        guard let model = body["model"] as? String, !model.isEmpty else { return invalid("model must be specified") }
        if head.uri.split(separator: "?").first?.hasSuffix("/v2/embed") == true { return embed(model: model, body: body) }
        guard let messages = body["messages"] as? [[String: Any]], !messages.isEmpty else {
            return invalid("messages must contain at least one message")
        }
        if let problem = check(messages) { return invalid(problem) }
        if let tools = body["tools"] {
            guard let tools = tools as? [[String: Any]] else { return invalid("tools must be a list") }
            for (index, tool) in tools.enumerated() {
                guard tool["type"] as? String == "function", let function = tool["function"] as? [String: Any],
                      let name = function["name"] as? String, !name.isEmpty
                else { return invalid("tools[\(index)] must be a function with a name") }
            }
        }
        if let temperature = body["temperature"] as? Double, temperature < 0 {
            return invalid("temperature must be greater than or equal to 0")
        }

        let (script, text) = Script.openAI(messages)
        if let status = script.failure { return failure(status) }
        if script.command == "garbage" { return .raw(status: 200, contentType: "text/html", body: "<html>oops</html>") }
        let tools = body["tools"] as? [[String: Any]] ?? []
        let toolName = (tools.first?["function"] as? [String: Any])?["name"] as? String
        let calls = script.calls(offering: toolName)
        let words = calls > 0 ? [] : script.words(for: text)
        let plan = calls > 0 ? ["I", " will", " look", " up", " the", " weather."] : []
        let output = calls > 0 ? plan.count + 8 * calls : words.count
        let id = UUID().uuidString.lowercased()
        let usage: [String: Any] = [
            "billed_units": ["input_tokens": script.promptTokens, "output_tokens": output],
            "tokens": ["input_tokens": script.promptTokens, "output_tokens": output],
        ]
        let callList: [[String: Any]] = (0..<calls).map { index in
            ["id": "\(toolName ?? "")_mock\(index)\(Int.random(in: 1000...9999))", "type": "function",
             "function": ["name": toolName ?? "", "arguments": "{\"city\":\"\(index == 0 ? "Paris" : "Rome")\"}"]]
        }
        let finish = calls > 0 ? "TOOL_CALL" : "COMPLETE"
        guard body["stream"] as? Bool == true else {
            var message: [String: Any] = ["role": "assistant"]
            if calls > 0 {
                message["tool_plan"] = plan.joined()
                message["tool_calls"] = callList
            } else {
                message["content"] = [["type": "text", "text": words.joined()]]
            }
            return .json(status: 200, body: ["id": id, "message": message, "finish_reason": finish, "usage": usage])
        }
        func event(_ object: [String: Any]) -> String { sse(object, event: object["type"] as? String) }
        var pieces = [event(["id": id, "type": "message-start", "delta": ["message": [
            "role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": [],
        ]]])]
        if calls > 0 {
            pieces += plan.map { event(["type": "tool-plan-delta", "delta": ["message": ["tool_plan": $0]]]) }
            for (index, call) in callList.enumerated() {
                let function = call["function"] as! [String: Any]
                pieces.append(event(["type": "tool-call-start", "index": index, "delta": ["message": ["tool_calls": [
                    "id": call["id"]!, "type": "function", "function": ["name": function["name"]!, "arguments": ""],
                ]]]]))
                let arguments = function["arguments"] as! String
                var start = arguments.startIndex
                while start < arguments.endIndex {
                    let end = arguments.index(start, offsetBy: 3, limitedBy: arguments.endIndex) ?? arguments.endIndex
                    pieces.append(event(["type": "tool-call-delta", "index": index, "delta": ["message": ["tool_calls": [
                        "function": ["arguments": String(arguments[start..<end])],
                    ]]]]))
                    start = end
                }
                pieces.append(event(["type": "tool-call-end", "index": index]))
            }
        } else {
            pieces.append(event(["type": "content-start", "index": 0,
                                 "delta": ["message": ["content": ["type": "text", "text": ""]]]]))
            pieces += words.map { event(["type": "content-delta", "index": 0, "delta": ["message": ["content": ["text": $0]]]]) }
            if script.command == "midstream error" {
                pieces.append(event(["type": "message-end", "delta": [
                    "error": "internal server error, this has been reported to our developers", "finish_reason": "ERROR",
                    "usage": usage,
                ]]))
                return .stream(pieces)
            }
            pieces.append(event(["type": "content-end", "index": 0]))
        }
        if script.command == "truncate" { return .stream(Array(pieces.prefix(3)), cut: true) }
        pieces.append(event(["type": "message-end", "delta": ["finish_reason": finish, "usage": usage]]))
        return .stream(pieces, interval: script.command == "slow" ? .milliseconds(50) : .zero)
    }

    static let inputTypes = ["search_document", "search_query", "classification", "clustering", "image"]
    static let embeddingTypes: Set<String> = ["float", "int8", "uint8", "binary", "ubinary", "base64"]

    /// `/v2/embed` for `model`, checked as Cohere checks it.
    static func embed(model: String, body: [String: Any]) -> MockAnswer {
        guard let inputType = body["input_type"] else {
            return invalid("input_type is required for embed models v3 and higher")
        }
        guard let type = inputType as? String, inputTypes.contains(type) else {
            return invalid("input_type must be one of \(inputTypes.joined(separator: ", "))")
        }
        guard let texts = body["texts"] as? [Any], !texts.isEmpty else { return invalid("texts must contain at least one text") }
        guard texts.count <= 96 else { return invalid("texts must contain at most 96 items, got \(texts.count)") }
        guard let strings = texts as? [String] else { return invalid("texts must be a list of strings") }
        var types = ["float"]
        if let asked = body["embedding_types"] {
            guard let asked = asked as? [String], !asked.isEmpty else { return invalid("embedding_types must be a non-empty list of strings") }
            if let unknown = asked.first(where: { !embeddingTypes.contains($0) }) {
                return invalid("embedding_types: '\(unknown)' is not one of \(embeddingTypes.sorted().joined(separator: ", "))")
            }
            types = asked
        }
        if let dimension = body["output_dimension"] {
            guard model.hasPrefix("embed-v4") else {
                return invalid("output_dimension is only supported for embed-v4.0 and newer models")
            }
            guard !(dimension is Bool), let dimension = dimension as? Int, [256, 512, 1024, 1536].contains(dimension) else {
                return invalid("output_dimension must be one of 256, 512, 1024, 1536")
            }
        }
        let vectors = strings.map(mockEmbedding)
        var embeddings: [String: Any] = [:]
        for type in types {
            switch type {
            case "float": embeddings[type] = vectors
            case "base64":
                embeddings[type] = vectors.map { vector in
                    Data(vector.flatMap { withUnsafeBytes(of: Float($0).bitPattern.littleEndian, Array.init) }).base64EncodedString()
                }
            default: embeddings[type] = vectors.map { $0.map { Int($0.rounded()) } }  // small numbers: the floats rounded
            }
        }
        return .json(status: 200, body: [
            "id": UUID().uuidString.lowercased(), "embeddings": embeddings, "texts": strings,
            "meta": ["api_version": ["version": "2"], "billed_units": ["input_tokens": strings.reduce(0) { $0 + mockWords($1) }]],
            "response_type": "embeddings_by_type",
        ])
    }

    /// What Cohere would refuse in `messages`, in its words.
    static func check(_ messages: [[String: Any]]) -> String? {
        var calls: Set<String> = []
        /// Calls of the last assistant message not yet answered.
        var unanswered: [String] = []
        for (index, message) in messages.enumerated() {
            let role = message["role"] as? String ?? ""
            guard ["system", "user", "assistant", "tool"].contains(role) else {
                return "messages[\(index)].role must be one of system, user, assistant, tool"
            }
            if role != "tool", !unanswered.isEmpty {
                return "messages[\(index)]: the tool calls \(unanswered.joined(separator: ", ")) of the previous assistant message have no tool results"
            }
            if let content = message["content"], !(content is String) {
                guard let blocks = content as? [[String: Any]] else { return "messages[\(index)].content must be a string or a list of content blocks" }
                for block in blocks {
                    let type = block["type"] as? String ?? ""
                    let allowed = role == "user" ? ["text", "image_url", "document"] : role == "tool" ? ["text", "document"] : ["text", "thinking"]
                    guard allowed.contains(type) else { return "messages[\(index)].content: unsupported content type '\(type)'" }
                }
            }
            switch role {
            case "user", "system":
                guard message["content"] != nil else { return "messages[\(index)].content is required" }
            case "assistant":
                let toolCalls = message["tool_calls"] as? [[String: Any]] ?? []
                guard message["content"] != nil || !toolCalls.isEmpty else {
                    return "messages[\(index)]: an assistant message must have content or tool calls"
                }
                for call in toolCalls {
                    guard let id = call["id"] as? String, !id.isEmpty else { return "messages[\(index)].tool_calls: id is required" }
                    guard let function = call["function"] as? [String: Any], function["name"] is String else {
                        return "messages[\(index)].tool_calls: function.name is required"
                    }
                    if let arguments = function["arguments"], !(arguments is String) {
                        return "messages[\(index)].tool_calls[].function.arguments must be a string"
                    }
                    calls.insert(id)
                    unanswered.append(id)
                }
            default:  // tool
                guard let id = message["tool_call_id"] as? String, !id.isEmpty else {
                    return "messages[\(index)]: tool messages must have a tool_call_id"
                }
                guard calls.contains(id) else {
                    return "messages[\(index)]: tool_call_id \(id) does not match any tool call of a previous assistant message"
                }
                guard message["content"] != nil else { return "messages[\(index)].content is required" }
                unanswered.removeAll { $0 == id }
            }
        }
        return nil
    }
}
