import Foundation
import NIOCore
import NIOHTTP1

/// Google's Gemini API as the mock provider speaks it: `POST /v1beta/models/{model}:generateContent`
/// and `:streamGenerateContent?alt=sse` (a JSON array without `alt=sse`), the key in
/// `x-goog-api-key`, errors as `{"error": {"code", "message", "status", "details"}}`.
///
/// Requests are checked as Gemini checks them: no field it does not know (it is a protobuf
/// API), roles `user` and `model` only, no empty turn, one kind of data per part, function calls
/// in model turns only (right after a user turn or a function response turn), function
/// responses in a user turn right after the function call turn, as many as there were calls and
/// with the called functions' names, and, as Gemini 3 requires, a thought signature on the
/// first function call of every step of the current turn (the signatures this mock gave, or
/// Google's `skip_thought_signature_validator`).
///
/// Function calls come with no id (as Gemini's do), the first with a thought signature. A 429
/// says when to retry in a `google.rpc.RetryInfo` detail (`"retryDelay": "1s"`), not in a header.
///
/// Embeddings, `POST /v1beta/models/{model}:batchEmbedContents`: `{"requests": [{"model",
/// "content": {"parts": [{"text"}]}, "taskType", "title", "outputDimensionality"}]}`, each
/// request naming the URL's model, answered `{"embeddings": [{"values": […]}]}` with no usage, as
/// Gemini answers. A text's vector is [its words, its characters, 0.5] (as the OpenAI mock's),
/// whatever the model and the dimensionality asked.
enum MockGemini {
    static let key = "test-gemini-key"
    /// The signatures the mock gives its function calls start with this.
    static let signaturePrefix = "bW9jay1zaWduYXR1cmU"
    static let skipSignature = "skip_thought_signature_validator"

    static let requestFields: Set<String> = [
        "contents", "tools", "toolConfig", "safetySettings", "systemInstruction", "generationConfig", "cachedContent",
    ]
    static let partFields: Set<String> = [
        "text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult",
        "thought", "thoughtSignature", "videoMetadata", "partMetadata",
    ]
    /// The fields of a part of which there must be exactly one.
    static let partData: Set<String> = [
        "text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult",
    ]
    static let generationFields: Set<String> = [
        "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "responseModalities", "candidateCount",
        "maxOutputTokens", "temperature", "topP", "topK", "seed", "presencePenalty", "frequencyPenalty", "responseLogprobs",
        "logprobs", "enableEnhancedCivicAnswers", "speechConfig", "thinkingConfig", "mediaResolution",
    ]
    static let declarationFields: Set<String> = [
        "name", "description", "behavior", "parameters", "parametersJsonSchema", "response", "responseJsonSchema",
    ]

    static func error(_ code: Int, _ status: String, _ message: String, details: [[String: Any]] = []) -> MockAnswer {
        var error: [String: Any] = ["code": code, "message": message, "status": status]
        if !details.isEmpty { error["details"] = details }
        return .json(status: code, body: ["error": error])
    }

    static func invalid(_ message: String) -> MockAnswer { error(400, "INVALID_ARGUMENT", message) }

    /// The `google.rpc.Code` name of an HTTP status, as Gemini pairs them.
    static func status(of code: Int) -> String {
        switch code {
        case 400: "INVALID_ARGUMENT"
        case 401: "UNAUTHENTICATED"
        case 403: "PERMISSION_DENIED"
        case 404: "NOT_FOUND"
        case 409: "ABORTED"
        case 429: "RESOURCE_EXHAUSTED"
        case 499: "CANCELLED"
        case 500: "INTERNAL"
        case 501: "UNIMPLEMENTED"
        case 503: "UNAVAILABLE"
        case 504: "DEADLINE_EXCEEDED"
        default: "UNKNOWN"
        }
    }

    /// The error a `fail <status>` asks for, as Gemini words it.
    static func failure(_ code: Int) -> MockAnswer {
        switch code {
        case 429:
            return error(429, "RESOURCE_EXHAUSTED",
                         "You exceeded your current quota, please check your plan and billing details.",
                         details: [
                            ["@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [[
                                "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                                "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                            ]]],
                            ["@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"],
                         ])
        case 500:
            return error(500, "INTERNAL", "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting")
        case 503:
            return error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
        default:
            return error(code, status(of: code), "The service failed with status \(code).")
        }
    }

    static func answer(head: HTTPRequestHead, body: [String: Any]?) -> MockAnswer {
        let parts = head.uri.split(separator: "?", maxSplits: 1)
        let path = String(parts[0])
        let query = parts.count > 1 ? String(parts[1]) : ""
        guard let range = path.range(of: "/v1beta/models/"), let colon = path.lastIndex(of: ":"), colon > range.upperBound else {
            return error(404, "NOT_FOUND", "Requested entity was not found.")
        }
        let model = String(path[range.upperBound..<colon])
        let method = String(path[path.index(after: colon)...])
        guard !model.isEmpty, !model.contains("/") else {
            return error(404, "NOT_FOUND", "models/\(model) is not found for API version v1beta, or is not supported for \(method).")
        }
        guard let key = head.headers.first(name: "x-goog-api-key") else {
            return error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
        }
        guard key == Self.key else {
            return error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", details: [[
                "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
                "metadata": ["service": "generativelanguage.googleapis.com"],
            ]])
        }
        guard let body else { return invalid("Invalid JSON payload received. Unexpected token.") }
        if method == "batchEmbedContents" { return embed(model: model, body: body) }
        if let problem = check(body) { return invalid(problem) }

        let contents = body["contents"] as! [[String: Any]]
        let system = ((body["systemInstruction"] as? [String: Any])?["parts"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
        let lastUser = contents.last { $0["role"] as? String == "user" }
        let script = Script(texts: system + contents.map(text), last: lastUser.map(text) ?? "")
        if let status = script.failure { return failure(status) }
        if script.command == "garbage" { return .raw(status: 200, contentType: "text/html", body: "<html>oops</html>") }

        let declarations = (body["tools"] as? [[String: Any]] ?? []).flatMap { $0["functionDeclarations"] as? [[String: Any]] ?? [] }
        let toolName = declarations.first?["name"] as? String
        let calls = script.calls(offering: toolName)
        let words = calls > 0 ? [] : script.words(for: lastUser.map(text) ?? "")
        let output = calls > 0 ? 8 * calls : words.count
        let responseID = "mock\(Int.random(in: 100_000...999_999))"
        let callParts: [[String: Any]] = (0..<calls).map { index in
            var part: [String: Any] = ["functionCall": ["name": toolName ?? "", "args": ["city": index == 0 ? "Paris" : "Rome"]]]
            if index == 0 { part["thoughtSignature"] = signaturePrefix + responseID }
            return part
        }
        func usage(_ candidates: Int) -> [String: Any] {
            ["promptTokenCount": script.promptTokens, "candidatesTokenCount": candidates,
             "totalTokenCount": script.promptTokens + candidates,
             "promptTokensDetails": [["modality": "TEXT", "tokenCount": script.promptTokens]]]
        }
        func chunk(_ parts: [[String: Any]], finish: Bool, candidates: Int) -> [String: Any] {
            var candidate: [String: Any] = ["content": ["parts": parts, "role": "model"], "index": 0]
            if finish { candidate["finishReason"] = "STOP" }
            return ["candidates": [candidate], "usageMetadata": usage(candidates), "modelVersion": model, "responseId": responseID]
        }

        switch method {
        case "generateContent":
            return .json(status: 200, body: chunk(calls > 0 ? callParts : [["text": words.joined()]], finish: true, candidates: output))
        case "streamGenerateContent":
            var chunks: [[String: Any]] = words.enumerated().map { index, word in
                chunk([["text": word]], finish: calls == 0 && index == words.count - 1 && script.command != "midstream error",
                      candidates: index + 1)
            }
            if calls > 0 { chunks.append(chunk(callParts, finish: true, candidates: output)) }
            guard query.split(separator: "&").contains("alt=sse") else {
                // Without alt=sse the stream is one JSON array, sent as it is made.
                return .json(status: 200, body: chunks)
            }
            // Gemini ends its events with CRLF.
            func event(_ object: Any) -> String { sse(object).replacingOccurrences(of: "\n\n", with: "\r\n\r\n") }
            var pieces = chunks.map(event)
            if script.command == "midstream error" {
                pieces.append(event(["error": ["code": 503, "message": "The model is overloaded. Please try again later.",
                                               "status": "UNAVAILABLE"]]))
                return .stream(pieces)
            }
            if script.command == "truncate" { return .stream(Array(pieces.prefix(2)), cut: true) }
            return .stream(pieces, interval: script.command == "slow" ? .milliseconds(50) : .zero)
        default:
            return error(404, "NOT_FOUND", "models/\(model) is not found for API version v1beta, or is not supported for \(method).")
        }
    }

    static let embedRequestFields: Set<String> = ["model", "content", "taskType", "title", "outputDimensionality"]
    static let taskTypes: Set<String> = [
        "TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY", "CLASSIFICATION", "CLUSTERING",
        "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY",
    ]

    /// `:batchEmbedContents` for `model` (the URL's), checked as Gemini checks it.
    static func embed(model: String, body: [String: Any]) -> MockAnswer {
        for key in body.keys.sorted() where key != "requests" {
            return invalid("Invalid JSON payload received. Unknown name \"\(key)\": Cannot find field.")
        }
        guard let requests = body["requests"] as? [Any], !requests.isEmpty else {
            return invalid("* BatchEmbedContentsRequest.requests: requests is not specified")
        }
        var texts: [String] = []
        for (index, item) in requests.enumerated() {
            let at = "requests[\(index)]"
            guard let request = item as? [String: Any] else {
                return invalid("Invalid value at '\(at)' (type.googleapis.com/google.ai.generativelanguage.v1beta.EmbedContentRequest)")
            }
            for key in request.keys.sorted() where !embedRequestFields.contains(key) {
                return invalid("Invalid JSON payload received. Unknown name \"\(key)\" at '\(at)': Cannot find field.")
            }
            guard let named = request["model"] as? String, !named.isEmpty else {
                return invalid("* BatchEmbedContentsRequest.\(at).model: model is required")
            }
            guard named == "models/" + model else {
                return invalid("* BatchEmbedContentsRequest.\(at).model: the model of every request must be the batch's, models/\(model), not \(named)")
            }
            guard let content = request["content"] as? [String: Any], let parts = content["parts"] as? [Any], !parts.isEmpty else {
                return invalid("* BatchEmbedContentsRequest.\(at).content.parts: contents.parts must not be empty.")
            }
            var text: [String] = []
            for (partIndex, part) in parts.enumerated() {
                guard let part = part as? [String: Any], let value = part["text"] else {
                    return invalid("* BatchEmbedContentsRequest.\(at).content.parts[\(partIndex)]: only text parts can be embedded")
                }
                guard let value = value as? String else {
                    return invalid("Invalid value at '\(at).content.parts[\(partIndex)].text' (TYPE_STRING)")
                }
                text.append(value)
            }
            if let type = request["taskType"] {
                guard let type = type as? String, taskTypes.contains(type) else {
                    return invalid("Invalid value at '\(at).task_type' (type.googleapis.com/google.ai.generativelanguage.v1beta.TaskType), \"\(request["taskType"] ?? "")\"")
                }
            }
            if let dimensions = request["outputDimensionality"] {
                guard !(dimensions is Bool), let number = dimensions as? Int else {
                    return invalid("Invalid value at '\(at).output_dimensionality' (TYPE_INT32), \(dimensions)")
                }
                guard (1...3072).contains(number) else {
                    return invalid("* BatchEmbedContentsRequest.\(at).output_dimensionality: must be between 1 and 3072")
                }
            }
            texts.append(text.joined(separator: " "))
        }
        let embeddings: [[String: Any]] = texts.map { text in
            ["values": mockEmbedding(text)]
        }
        return .json(status: 200, body: ["embeddings": embeddings])
    }

    /// The text of a turn: its text parts and its function responses' results.
    static func text(_ content: [String: Any]) -> String {
        (content["parts"] as? [[String: Any]] ?? []).compactMap { part -> String? in
            if let text = part["text"] as? String, part["thought"] as? Bool != true { return text }
            if let response = (part["functionResponse"] as? [String: Any])?["response"] as? [String: Any] {
                let value = response["result"] ?? response["output"] ?? response["error"] ?? response
                if let text = value as? String { return text }
                return (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]))
                    .map { String(decoding: $0, as: UTF8.self) }
            }
            return nil
        }.joined(separator: " ")
    }

    /// What Gemini would refuse in `body`, in its words.
    static func check(_ body: [String: Any]) -> String? {
        for key in body.keys.sorted() where !requestFields.contains(key) {
            return "Invalid JSON payload received. Unknown name \"\(key)\": Cannot find field."
        }
        guard let contents = body["contents"] as? [[String: Any]], !contents.isEmpty else {
            return "* GenerateContentRequest.contents: contents is not specified"
        }
        if let instruction = body["systemInstruction"] {
            guard let parts = (instruction as? [String: Any])?["parts"] as? [[String: Any]], !parts.isEmpty,
                  parts.allSatisfy({ $0["text"] is String })
            else { return "* GenerateContentRequest.system_instruction: text parts are required" }
        }
        if let tools = body["tools"] {
            guard let tools = tools as? [[String: Any]] else { return "Invalid JSON payload received. Unknown name \"tools\": Proto field is not repeating, cannot start list." }
            for (index, tool) in tools.enumerated() {
                for (declarationIndex, declaration) in (tool["functionDeclarations"] as? [[String: Any]] ?? []).enumerated() {
                    let at = "tools[\(index)].function_declarations[\(declarationIndex)]"
                    for key in declaration.keys.sorted() where !declarationFields.contains(key) {
                        return "Invalid JSON payload received. Unknown name \"\(key)\" at '\(at)': Cannot find field."
                    }
                    guard let name = declaration["name"] as? String, !name.isEmpty else { return "* GenerateContentRequest.\(at).name: Name cannot be empty." }
                    if declaration["parameters"] != nil, declaration["parametersJsonSchema"] != nil {
                        return "* GenerateContentRequest.\(at): parameters and parameters_json_schema are mutually exclusive"
                    }
                }
            }
        }
        if let config = body["generationConfig"] as? [String: Any] {
            for key in config.keys.sorted() where !generationFields.contains(key) {
                return "Invalid JSON payload received. Unknown name \"\(key)\" at 'generation_config': Cannot find field."
            }
            if let temperature = config["temperature"] as? Double, !(0...2).contains(temperature) {
                return "* GenerateContentRequest.generation_config.temperature: must be in the range [0.0, 2.0]"
            }
        }
        if let mode = ((body["toolConfig"] as? [String: Any])?["functionCallingConfig"] as? [String: Any])?["mode"] as? String,
           !["AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"].contains(mode) {
            return "Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), \"\(mode)\""
        }

        // The current turn begins at the last user turn that says something of its own.
        let currentTurn = contents.lastIndex { content in
            content["role"] as? String == "user"
                && (content["parts"] as? [[String: Any]] ?? []).contains { $0["functionResponse"] == nil }
        } ?? 0
        var previousCalls: [String]?  // the function names of the previous turn, when it called functions
        var previousRole: String?
        for (index, content) in contents.enumerated() {
            let at = "contents[\(index)]"
            let role = content["role"] as? String ?? ""
            guard role == "user" || role == "model" else { return "Please use a valid role: user, model." }
            guard let parts = content["parts"] as? [[String: Any]], !parts.isEmpty else {
                return "* GenerateContentRequest.\(at).parts: contents.parts must not be empty."
            }
            var calls: [String] = []
            var responses: [String] = []
            for (partIndex, part) in parts.enumerated() {
                let partAt = "\(at).parts[\(partIndex)]"
                for key in part.keys.sorted() where !partFields.contains(key) {
                    return "Invalid JSON payload received. Unknown name \"\(key)\" at '\(partAt)': Cannot find field."
                }
                let data = part.keys.filter(partData.contains)
                guard data.count == 1 else {
                    return "* GenerateContentRequest.\(partAt).data: \(data.isEmpty ? "required oneof field 'data' must have one initialized field" : "only one of the oneof field 'data' may be set")"
                }
                if let text = part["text"], !(text is String) { return "Invalid value at '\(partAt).text' (TYPE_STRING)" }
                if let call = part["functionCall"] {
                    guard role == "model" else { return "Please ensure that function call turns are model turns." }
                    guard let call = call as? [String: Any], let name = call["name"] as? String, !name.isEmpty else {
                        return "* GenerateContentRequest.\(partAt).function_call.name: Name cannot be empty."
                    }
                    for key in call.keys.sorted() where !["id", "name", "args"].contains(key) {
                        return "Invalid JSON payload received. Unknown name \"\(key)\" at '\(partAt).function_call': Cannot find field."
                    }
                    if let args = call["args"], !(args is [String: Any]) {
                        return "Invalid value at '\(partAt).function_call.args' (type.googleapis.com/google.protobuf.Struct)"
                    }
                    if calls.isEmpty, index > currentTurn {
                        let signature = part["thoughtSignature"] as? String ?? ""
                        guard signature == skipSignature || signature.hasPrefix(signaturePrefix) else {
                            return signature.isEmpty
                                ? "Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:\(name)` , position \(index + 1). Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
                                : "Corrupted thought signature."
                        }
                    }
                    calls.append(name)
                }
                if let response = part["functionResponse"] {
                    guard role == "user" else { return "Please ensure that function response turns are user turns." }
                    guard let response = response as? [String: Any], let name = response["name"] as? String, !name.isEmpty else {
                        return "* GenerateContentRequest.\(partAt).function_response.name: Name cannot be empty."
                    }
                    for key in response.keys.sorted() where !["id", "name", "response", "parts", "willContinue", "scheduling"].contains(key) {
                        return "Invalid JSON payload received. Unknown name \"\(key)\" at '\(partAt).function_response': Cannot find field."
                    }
                    guard response["response"] is [String: Any] else {
                        return "Invalid value at '\(partAt).function_response.response' (type.googleapis.com/google.protobuf.Struct)"
                    }
                    responses.append(name)
                }
            }
            if !calls.isEmpty, previousRole != "user" {
                return "Please ensure that function call turn comes immediately after a user turn or after a function response turn."
            }
            if !responses.isEmpty {
                guard let previousCalls else {
                    return "Please ensure that function response turn comes immediately after a function call turn."
                }
                guard responses.count == previousCalls.count else {
                    return "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn."
                }
                guard responses.sorted() == previousCalls.sorted() else {
                    return "Please ensure that the name of each function response part matches the name of a function call part of the function call turn."
                }
            } else if previousCalls != nil {
                return "Please ensure that function call turn is followed by a function response turn."
            }
            previousCalls = calls.isEmpty ? nil : calls
            previousRole = role
        }
        return nil
    }
}
