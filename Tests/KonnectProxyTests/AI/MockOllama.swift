import Foundation
import NIOCore
import NIOHTTP1

/// Ollama's native API as the mock provider speaks it: `POST /api/chat` (a stream of lines of
/// JSON, `application/x-ndjson`, unless the body says `"stream": false`) and `POST /api/embed`,
/// errors as `{"error": "…"}`. The key (Ollama's cloud, or a proxy in front of a server) is a
/// bearer token.
///
/// Requests are read as Ollama's Go server reads them: a message's `content` is a string,
/// `images` a list of base64 strings, a tool call's `arguments` an object (a string is refused,
/// as Go refuses to put one in a map); `model` is required. Answers carry no id and no tool
/// call ids; the last line (or the whole answer) has `done: true`, `done_reason` (`stop`, also
/// after tool calls) and the counts `prompt_eval_count` and `eval_count`. An error in the middle
/// of a stream is a line `{"error": "…"}`.
enum MockOllama {
    static let key = "test-ollama-key"

    static func error(_ status: Int, _ message: String) -> MockAnswer {
        .json(status: status, body: ["error": message])
    }

    static let created = "2025-10-01T12:00:00.000000Z"

    /// What the Go server answers when the body does not fit its types.
    static func typeError(_ kind: String, field: String, type: String) -> MockAnswer {
        error(400, "json: cannot unmarshal \(kind) into Go struct field \(field) of type \(type)")
    }

    static func kind(of value: Any) -> String {
        switch value {
        case is String: "string"
        case is [Any]: "array"
        case is [String: Any]: "object"
        case is NSNumber: "number"
        default: "null"
        }
    }

    static func authorized(_ head: HTTPRequestHead) -> Bool {
        head.headers.first(name: "authorization") == "Bearer \(key)"
    }

    static func chat(head: HTTPRequestHead, body: [String: Any]?) -> MockAnswer {
        guard authorized(head) else { return error(401, "unauthorized") }
        guard let body else { return error(400, "invalid character 'x' looking for beginning of value") }
        guard let model = body["model"] as? String, !model.isEmpty else { return error(400, "model is required") }
        guard let messages = body["messages"] as? [[String: Any]] else {
            return body["messages"] == nil
                ? error(400, "messages is required")
                : typeError(kind(of: body["messages"]!), field: "ChatRequest.messages", type: "[]api.Message")
        }
        for message in messages {
            if let role = message["role"], !(role is String) {
                return typeError(kind(of: role), field: "Message.messages.role", type: "string")
            }
            if let content = message["content"], !(content is String) {
                return typeError(kind(of: content), field: "Message.messages.content", type: "string")
            }
            if let images = message["images"] {
                guard let list = images as? [Any] else {
                    return typeError(kind(of: images), field: "Message.messages.images", type: "[]api.ImageData")
                }
                for image in list {
                    guard let text = image as? String, Data(base64Encoded: text) != nil else {
                        return error(400, "illegal base64 data at input byte 0")
                    }
                }
            }
            if let calls = message["tool_calls"] {
                guard let calls = calls as? [[String: Any]] else {
                    return typeError(kind(of: calls), field: "Message.messages.tool_calls", type: "[]api.ToolCall")
                }
                for call in calls {
                    guard let function = call["function"] as? [String: Any] else {
                        return typeError(kind(of: call["function"] ?? NSNull()), field: "ToolCall.messages.tool_calls.function",
                                         type: "api.ToolCallFunction")
                    }
                    if let arguments = function["arguments"], !(arguments is [String: Any]) {
                        return typeError(kind(of: arguments), field: "ToolCallFunction.messages.tool_calls.function.arguments",
                                         type: "api.ToolCallFunctionArguments")
                    }
                }
            }
        }
        if let tools = body["tools"], !(tools is [[String: Any]]) {
            return typeError(kind(of: tools), field: "ChatRequest.tools", type: "api.Tools")
        }
        if let options = body["options"], !(options is [String: Any]) {
            return typeError(kind(of: options), field: "ChatRequest.options", type: "map[string]interface {}")
        }

        let lastUser = messages.last { $0["role"] as? String == "user" || $0["role"] as? String == "tool" }
        let text = lastUser?["content"] as? String ?? ""
        let script = Script(texts: messages.map { $0["content"] as? String ?? "" }, last: text)
        if let status = script.failure {
            return error(status, status == 503 ? "server busy, please try again.  maximum pending requests exceeded"
                                               : status == 429 ? "too many requests" : "an error was encountered while running the model")
        }
        if script.command == "garbage" { return .raw(status: 200, contentType: "text/html", body: "<html>oops</html>") }
        let tools = body["tools"] as? [[String: Any]] ?? []
        let toolName = (tools.first?["function"] as? [String: Any])?["name"] as? String
        let calls = script.calls(offering: toolName)
        let words = calls > 0 ? [] : script.words(for: text)
        let output = calls > 0 ? 8 * calls : words.count
        let callList: [[String: Any]] = (0..<calls).map { index in
            ["function": ["name": toolName ?? "", "arguments": ["city": index == 0 ? "Paris" : "Rome"]]]
        }
        func line(_ message: [String: Any], done: Bool) -> [String: Any] {
            var object: [String: Any] = ["model": model, "created_at": created, "message": message, "done": done]
            if done {
                object["done_reason"] = "stop"
                object["total_duration"] = 1_234_567
                object["load_duration"] = 12_345
                object["prompt_eval_count"] = script.promptTokens
                object["prompt_eval_duration"] = 23_456
                object["eval_count"] = output
                object["eval_duration"] = 34_567
            }
            return object
        }
        // Ollama streams unless told not to.
        guard body["stream"] as? Bool ?? true else {
            var message: [String: Any] = ["role": "assistant", "content": words.joined()]
            if calls > 0 { message["tool_calls"] = callList }
            return .json(status: 200, body: line(message, done: true))
        }
        func encoded(_ object: [String: Any]) -> [UInt8] {
            Array((try? JSONSerialization.data(withJSONObject: object)) ?? Data()) + [UInt8(ascii: "\n")]
        }
        var lines = words.map { line(["role": "assistant", "content": $0], done: false) }
        if calls > 0 { lines.append(line(["role": "assistant", "content": "", "tool_calls": callList], done: false)) }
        if script.command == "midstream error" {
            return .bytesStream(contentType: "application/x-ndjson", lines.map(encoded) + [encoded(["error": "an error was encountered while running the model: server overloaded"])])
        }
        if script.command == "truncate" { return .bytesStream(contentType: "application/x-ndjson", lines.prefix(2).map(encoded), cut: true) }
        lines.append(line(["role": "assistant", "content": ""], done: true))
        return .bytesStream(contentType: "application/x-ndjson", lines.map(encoded),
                            interval: script.command == "slow" ? .milliseconds(50) : .zero)
    }

    /// `/api/embed`: each input's vector is [its words, its characters, 0.5], normalized to
    /// length 1 as Ollama normalizes its embeddings (cut to `dimensions` first when asked);
    /// `prompt_eval_count` is one token per word.
    static func embed(head: HTTPRequestHead, body: [String: Any]?) -> MockAnswer {
        guard authorized(head) else { return error(401, "unauthorized") }
        guard let body else { return error(400, "invalid character 'x' looking for beginning of value") }
        guard let model = body["model"] as? String, !model.isEmpty else { return error(400, "model is required") }
        let inputs: [String]
        switch body["input"] {
        case let text as String: inputs = [text]
        case let list as [Any]:
            guard let texts = list as? [String] else { return error(400, "invalid input type") }
            inputs = texts
        case nil: inputs = []
        default: return error(400, "invalid input type")
        }
        let dimensions = body["dimensions"] as? Int
        let vectors: [[Double]] = inputs.map { text in
            var vector = [Double(text.split(whereSeparator: \.isWhitespace).count), Double(text.count), 0.5]
            if let dimensions, dimensions > 0 { vector = Array(vector.prefix(dimensions)) }
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return norm > 0 ? vector.map { $0 / norm } : vector
        }
        let tokens = inputs.reduce(0) { $0 + $1.split(whereSeparator: \.isWhitespace).count }
        return .json(status: 200, body: ["model": model, "embeddings": vectors, "total_duration": 1_234_567,
                                         "load_duration": 12_345, "prompt_eval_count": tokens])
    }
}
