import Foundation
import NIOCore
import NIOHTTP1

/// Amazon Bedrock's Converse API as the mock provider speaks it: `POST /model/{modelId}/converse`
/// and `/converse-stream` (the model id percent-encoded in the path), errors as `{"message"}` with
/// the type in `x-amzn-errortype`, streams as `application/vnd.amazon.eventstream` binary
/// messages (prelude, string headers `:event-type`/`:content-type`/`:message-type`, JSON
/// payload, CRC-32s) written here with a CRC-32 of its own, not Konnect's.
///
/// The `Authorization` header must be a SigV4 signature (`AWS4-HMAC-SHA256 Credential=…,
/// SignedHeaders=…, Signature=…`) by `accessKeyID` for `region` and the `bedrock` service, with
/// `host` and `x-amz-date` signed and an `X-Amz-Date` of the credential's day within 15 minutes
/// of now; the signature itself is not recomputed.
///
/// Requests are checked as Bedrock checks them: known fields only, at least one message, roles
/// `user` and `assistant` alternating from a user message, no empty content, one member per
/// content block, `toolUse` in assistant messages with an object input and an id of letters,
/// digits, `_` and `-`, `toolResult` blocks in the user message right after and answering
/// exactly the calls of that turn, and a `toolConfig` whenever the conversation has tool blocks.
/// Tool calls follow a little text ("Let me check."), as Claude's do on Bedrock, so the tool
/// blocks' indexes are not their calls' indexes. An error in the middle of a stream is an
/// exception message (`:message-type: exception`).
///
/// InvokeModel, `POST /model/{modelId}/invoke`, signed the same way, for two embedding models,
/// their bodies checked against the models' schemas with Bedrock's "Malformed input request"
/// messages: Titan Text Embeddings V2 (`{"inputText", "dimensions": 256|512|1024, "normalize",
/// "embeddingTypes"}` → `{"embedding", "inputTextTokenCount", "embeddingsByType"}`) and Cohere
/// Embed v3 (`{"texts", "input_type", "truncate", "embedding_types"}` → `{"embeddings", "id",
/// "response_type", "texts"}`). A text's vector is [its words, its characters, 0.5] (as the
/// OpenAI mock's), one token a word, also in the `X-Amzn-Bedrock-Input-Token-Count` header.
enum MockBedrock {
    static let accessKeyID = "AKIDMOCKBEDROCK0001"
    static let secretAccessKey = "mock/secret/key/for/the/bedrock/mock/0001"
    static let region = "eu-west-3"

    static let requestFields: Set<String> = [
        "messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig", "additionalModelRequestFields",
        "promptVariables", "additionalModelResponseFieldPaths", "requestMetadata", "performanceConfig",
    ]
    static let blockFields: Set<String> = [
        "text", "image", "document", "video", "toolUse", "toolResult", "guardContent", "cachePoint", "reasoningContent",
        "citationsContent",
    ]

    static func error(_ status: Int, _ type: String, _ message: String) -> MockAnswer {
        .json(status: status, body: ["message": message],
              headers: [("x-amzn-errortype", "\(type):http://internal.amazon.com/coral/com.amazon.bedrock/"),
                        ("x-amzn-requestid", UUID().uuidString.lowercased())])
    }

    static func invalid(_ message: String) -> MockAnswer { error(400, "ValidationException", message) }

    /// The error a `fail <status>` asks for, as Bedrock words it.
    static func failure(_ status: Int) -> MockAnswer {
        switch status {
        case 400: invalid("The request failed validation.")
        case 403: error(403, "AccessDeniedException", "You don't have access to the model with the specified model ID.")
        case 404: error(404, "ResourceNotFoundException", "The requested resource could not be found.")
        case 408: error(408, "ModelTimeoutException", "Model has timed out in processing the request.")
        case 424: error(424, "ModelErrorException", "The model returned an error.")
        case 429: error(429, "ThrottlingException", "Too many requests, please wait before trying again.")
        case 503: error(503, "ServiceUnavailableException", "Bedrock is unable to process your request.")
        default: error(status, "InternalServerException", "The server encountered an internal error.")
        }
    }

    static func answer(head: HTTPRequestHead, body: [String: Any]?) -> MockAnswer {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count >= 4, segments[segments.count - 3] == "model",
              let model = String(segments[segments.count - 2]).removingPercentEncoding
        else { return error(404, "UnknownOperationException", "The requested operation is not recognized by the service.") }
        let stream = segments.last == "converse-stream"
        if let problem = authorizationProblem(head) { return problem }
        // Model ids: `anthropic.claude-…-v1:0`, inference profiles (`eu.anthropic…`), ARNs.
        guard !model.isEmpty, model.allSatisfy({ $0.isLetter || $0.isNumber || "._:/-".contains($0) }) else {
            return invalid("The provided model identifier is invalid.")
        }
        guard let body else { return error(400, "SerializationException", "Unable to parse the request body as JSON.") }
        if segments.last == "invoke" { return invoke(model: model, body: body) }
        if let problem = check(body) { return invalid(problem) }

        let messages = body["messages"] as! [[String: Any]]
        let system = (body["system"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }
        let lastUser = messages.last { $0["role"] as? String == "user" }
        let text = lastUser.map(self.text) ?? ""
        let script = Script(texts: system + messages.map(self.text), last: text)
        if let status = script.failure { return failure(status) }
        if script.command == "garbage" { return .raw(status: 200, contentType: "text/html", body: "<html>oops</html>") }
        let specs = ((body["toolConfig"] as? [String: Any])?["tools"] as? [[String: Any]] ?? []).compactMap { $0["toolSpec"] as? [String: Any] }
        let toolName = specs.first?["name"] as? String
        let calls = script.calls(offering: toolName)
        let words = calls > 0 ? ["Let", " me", " check."] : script.words(for: text)
        let output = words.count + 8 * calls
        let usage: [String: Any] = ["inputTokens": script.promptTokens, "outputTokens": output,
                                    "totalTokens": script.promptTokens + output]
        let uses: [[String: Any]] = (0..<calls).map { index in
            ["toolUseId": "tooluse_mock\(index)\(randomLetters(12))", "name": toolName ?? "",
             "input": ["city": index == 0 ? "Paris" : "Rome"]]
        }
        let stop = calls > 0 ? "tool_use" : "end_turn"
        guard stream else {
            return .json(status: 200, body: [
                "output": ["message": ["role": "assistant", "content": [["text": words.joined()]] + uses.map { ["toolUse": $0] }]],
                "stopReason": stop, "usage": usage, "metrics": ["latencyMs": 321],
            ])
        }
        var frames = [event("messageStart", ["role": "assistant"])]
        frames += words.map { event("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["text": $0]]) }
        if script.command == "midstream error" {
            frames.append(exception("serviceUnavailableException", "Bedrock is unable to process your request."))
            return .bytesStream(contentType: "application/vnd.amazon.eventstream", frames)
        }
        frames.append(event("contentBlockStop", ["contentBlockIndex": 0]))
        for (offset, use) in uses.enumerated() {
            let index = offset + 1
            frames.append(event("contentBlockStart", ["contentBlockIndex": index, "start": ["toolUse": [
                "toolUseId": use["toolUseId"]!, "name": use["name"]!,
            ]]]))
            let input = String(decoding: try! JSONSerialization.data(withJSONObject: use["input"]!), as: UTF8.self)
            let middle = input.index(input.startIndex, offsetBy: input.count / 2)
            for fragment in [String(input[..<middle]), String(input[middle...])] {
                frames.append(event("contentBlockDelta", ["contentBlockIndex": index, "delta": ["toolUse": ["input": fragment]]]))
            }
            frames.append(event("contentBlockStop", ["contentBlockIndex": index]))
        }
        if script.command == "truncate" {
            // Cut inside a message, as a dropped connection would.
            return .bytesStream(contentType: "application/vnd.amazon.eventstream",
                                Array(frames.prefix(2)) + [Array(frames[2].prefix(10))], cut: true)
        }
        frames.append(event("messageStop", ["stopReason": stop]))
        frames.append(event("metadata", ["usage": usage, "metrics": ["latencyMs": 321]]))
        return .bytesStream(contentType: "application/vnd.amazon.eventstream", frames,
                            interval: script.command == "slow" ? .milliseconds(50) : .zero)
    }

    /// An InvokeModel body refused by the model's schema, as Bedrock words it.
    static func malformed(_ problem: String) -> MockAnswer {
        invalid("Malformed input request: \(problem), please reformat your input and try again.")
    }

    /// A JSON value's type as Bedrock's schema messages name it.
    static func schemaType(_ value: Any) -> String {
        switch value {
        case is Bool: "Boolean"
        case is String: "String"
        case is [Any]: "JSONArray"
        case is [String: Any]: "JSONObject"
        case is NSNull: "Null"
        case let number as NSNumber: number.doubleValue == number.doubleValue.rounded() ? "Integer" : "BigDecimal"
        default: "Unknown"
        }
    }

    /// InvokeModel of an embedding model.
    static func invoke(model: String, body: [String: Any]) -> MockAnswer {
        let name = model.split(separator: "/").last.map(String.init) ?? model
        let titan = name.contains("amazon.titan-embed-text-v2")
        guard titan || name.contains("cohere.embed-english-v3") || name.contains("cohere.embed-multilingual-v3") else {
            return invalid("The mock serves InvokeModel for amazon.titan-embed-text-v2 and cohere.embed-*-v3 only, not \(model).")
        }
        let fields: Set<String> = titan ? ["inputText", "dimensions", "normalize", "embeddingTypes"]
                                        : ["texts", "images", "input_type", "truncate", "embedding_types"]
        for key in body.keys.sorted() where !fields.contains(key) {
            return malformed("#: extraneous key [\(key)] is not permitted")
        }
        func headers(_ tokens: Int) -> [(String, String)] {
            [("x-amzn-requestid", UUID().uuidString.lowercased()), ("x-amzn-bedrock-invocation-latency", "42"),
             ("x-amzn-bedrock-input-token-count", String(tokens))]
        }
        if titan {
            guard let value = body["inputText"] else { return malformed("#: required key [inputText] not found") }
            guard let text = value as? String else { return malformed("#/inputText: expected type: String, found: \(schemaType(value))") }
            guard !text.isEmpty else { return malformed("#/inputText: expected minLength: 1, actual: 0") }
            if let value = body["dimensions"] {
                guard !(value is Bool), let dimensions = value as? Int else {
                    return malformed("#/dimensions: expected type: Integer, found: \(schemaType(value))")
                }
                guard [256, 512, 1024].contains(dimensions) else { return malformed("#/dimensions: \(dimensions) is not a valid enum value") }
            }
            if let value = body["normalize"], !(value is Bool) {
                return malformed("#/normalize: expected type: Boolean, found: \(schemaType(value))")
            }
            var types = ["float"]
            if let value = body["embeddingTypes"] {
                guard let asked = value as? [String], !asked.isEmpty, asked.allSatisfy({ ["float", "binary"].contains($0) }) else {
                    return malformed("#/embeddingTypes: expected a list of float and binary")
                }
                types = asked
            }
            let embedding = mockEmbedding(text)
            var byType: [String: Any] = [:]
            for type in types { byType[type] = type == "float" ? embedding as Any : embedding.map { $0 > 0 ? 1 : 0 } as Any }
            return .json(status: 200, body: ["embedding": embedding, "inputTextTokenCount": mockWords(text), "embeddingsByType": byType],
                         headers: headers(mockWords(text)))
        }
        guard let value = body["texts"] else { return malformed("#: required key [texts] not found") }
        guard let items = value as? [Any] else { return malformed("#/texts: expected type: JSONArray, found: \(schemaType(value))") }
        guard items.count <= 96 else { return malformed("#/texts: expected maximum item count: 96, found: \(items.count)") }
        var texts: [String] = []
        for (index, item) in items.enumerated() {
            guard let text = item as? String else { return malformed("#/texts/\(index): expected type: String, found: \(schemaType(item))") }
            guard text.count <= 2048 else { return malformed("#/texts/\(index): expected maxLength: 2048, actual: \(text.count)") }
            texts.append(text)
        }
        guard let inputType = body["input_type"] else { return malformed("#: required key [input_type] not found") }
        guard let type = inputType as? String,
              ["search_document", "search_query", "classification", "clustering", "image"].contains(type) else {
            return malformed("#/input_type: \(inputType) is not a valid enum value")
        }
        if let truncate = body["truncate"], !["NONE", "START", "END"].contains(truncate as? String ?? "") {
            return malformed("#/truncate: \(truncate) is not a valid enum value")
        }
        let vectors = texts.map(mockEmbedding)
        let tokens = texts.reduce(0) { $0 + mockWords($1) }
        var answer: [String: Any] = ["id": UUID().uuidString.lowercased(), "texts": texts]
        if let types = body["embedding_types"] {
            guard let types = types as? [String], !types.isEmpty,
                  types.allSatisfy({ ["float", "int8", "uint8", "binary", "ubinary"].contains($0) }) else {
                return malformed("#/embedding_types: expected a list of float, int8, uint8, binary and ubinary")
            }
            var byType: [String: Any] = [:]
            for type in types { byType[type] = type == "float" ? vectors as Any : vectors.map { $0.map { Int($0.rounded()) } } as Any }
            answer["embeddings"] = byType
            answer["response_type"] = "embeddings_by_type"
        } else {
            answer["embeddings"] = vectors
            answer["response_type"] = "embeddings_floats"
        }
        return .json(status: 200, body: answer, headers: headers(tokens))
    }

    static func randomLetters(_ count: Int) -> String {
        String((0..<count).map { _ in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".randomElement()! })
    }

    /// The text of a message: its text blocks and its tool results' text.
    static func text(_ message: [String: Any]) -> String {
        (message["content"] as? [[String: Any]] ?? []).compactMap { block -> String? in
            if let text = block["text"] as? String { return text }
            if let result = block["toolResult"] as? [String: Any] {
                return (result["content"] as? [[String: Any]] ?? []).compactMap { item -> String? in
                    if let text = item["text"] as? String { return text }
                    return item["json"].flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) }
                        .map { String(decoding: $0, as: UTF8.self) }
                }.joined(separator: " ")
            }
            return nil
        }.joined(separator: " ")
    }

    // MARK: Authorization

    /// Why AWS would refuse the request's signature (as far as it can be told without the secret).
    static func authorizationProblem(_ head: HTTPRequestHead) -> MockAnswer? {
        guard let authorization = head.headers.first(name: "authorization") else {
            return error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        }
        let prefix = "AWS4-HMAC-SHA256 "
        guard authorization.hasPrefix(prefix) else {
            return error(403, "IncompleteSignatureException", "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=\(authorization.prefix(20))")
        }
        var fields: [String: String] = [:]
        for item in authorization.dropFirst(prefix.count).split(separator: ",") {
            let pair = item.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
        }
        guard let credential = fields["Credential"], let signedHeaders = fields["SignedHeaders"], let signature = fields["Signature"] else {
            return error(403, "IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.")
        }
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5 else {
            return error(403, "IncompleteSignatureException", "Credential should be scoped to a valid region.")
        }
        guard scope[0] == accessKeyID else {
            return error(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        }
        guard scope[2] == region else {
            return error(403, "InvalidSignatureException", "Credential should be scoped to a valid region. ")
        }
        guard scope[3] == "bedrock" else {
            return error(403, "InvalidSignatureException", "Credential should be scoped to correct service: 'bedrock'. ")
        }
        guard scope[4] == "aws4_request" else {
            return error(403, "InvalidSignatureException", "Credential should be scoped with a valid terminator: 'aws4_request'.")
        }
        let signed = signedHeaders.split(separator: ";").map(String.init)
        guard signed.contains("host") else {
            return error(403, "IncompleteSignatureException", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
        }
        guard signed == signed.sorted(), signed.allSatisfy({ $0 == $0.lowercased() }) else {
            return error(403, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.")
        }
        guard signature.count == 64, signature.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            return error(403, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided.")
        }
        guard let date = head.headers.first(name: "x-amz-date"), signed.contains("x-amz-date") else {
            return error(403, "IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        guard let time = formatter.date(from: date) else {
            return error(403, "IncompleteSignatureException", "Date must be in ISO-8601 'basic format'. Got '\(date)'.")
        }
        guard date.hasPrefix(scope[1]) else {
            return error(403, "InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(scope[1])' != '\(date.prefix(8))', from '\(date)'.")
        }
        guard abs(time.timeIntervalSinceNow) <= 15 * 60 else {
            return error(403, "InvalidSignatureException", "Signature expired: \(date) is now earlier than the allowed time window.")
        }
        return nil
    }

    // MARK: Validation

    /// What Bedrock would refuse in `body`, in its words.
    static func check(_ body: [String: Any]) -> String? {
        for key in body.keys.sorted() where !requestFields.contains(key) {
            return "1 validation error detected: extraneous key [\(key)] is not permitted"
        }
        guard let messages = body["messages"] as? [[String: Any]], !messages.isEmpty else {
            return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
        }
        if let system = body["system"] {
            guard let blocks = system as? [[String: Any]], blocks.allSatisfy({ $0.count == 1 && ($0["text"] is String || $0["cachePoint"] != nil) }) else {
                return "1 validation error detected: Value at 'system' failed to satisfy constraint: Member must be a list of SystemContentBlock"
            }
        }
        if let inference = body["inferenceConfig"] {
            guard let config = inference as? [String: Any] else { return "1 validation error detected: 'inferenceConfig' must be an object" }
            for key in config.keys.sorted() where !["maxTokens", "temperature", "topP", "stopSequences"].contains(key) {
                return "1 validation error detected: extraneous key [\(key)] is not permitted in inferenceConfig"
            }
            if let maxTokens = config["maxTokens"] as? Int, maxTokens < 1 {
                return "1 validation error detected: Value '\(maxTokens)' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"
            }
            if let temperature = config["temperature"] as? Double, !(0...1).contains(temperature) {
                return "1 validation error detected: Value '\(temperature)' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1"
            }
        }
        var toolNames: Set<String> = []
        if let toolConfig = body["toolConfig"] {
            guard let tools = (toolConfig as? [String: Any])?["tools"] as? [[String: Any]], !tools.isEmpty else {
                return "1 validation error detected: Value '[]' at 'toolConfig.tools' failed to satisfy constraint: Member must have length greater than or equal to 1"
            }
            for (index, tool) in tools.enumerated() {
                guard let spec = tool["toolSpec"] as? [String: Any], let name = spec["name"] as? String, !name.isEmpty,
                      (spec["inputSchema"] as? [String: Any])?["json"] is [String: Any]
                else {
                    return "1 validation error detected: Value at 'toolConfig.tools.\(index + 1).member.toolSpec' failed to satisfy constraint: Member must have a name and an inputSchema.json"
                }
                toolNames.insert(name)
            }
            if let choice = (toolConfig as? [String: Any])?["toolChoice"] as? [String: Any] {
                guard choice.count == 1, let kind = choice.keys.first, ["auto", "any", "tool"].contains(kind) else {
                    return "1 validation error detected: Value at 'toolConfig.toolChoice' failed to satisfy constraint: Member must have exactly one of auto, any, tool"
                }
            }
        }

        var usesTools = false
        var pendingCalls: [String] = []  // the tool uses of the previous (assistant) message
        for (index, message) in messages.enumerated() {
            let role = message["role"] as? String ?? ""
            guard role == "user" || role == "assistant" else {
                return "1 validation error detected: Value '\(role)' at 'messages.\(index + 1).member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]"
            }
            if index == 0, role != "user" {
                return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
            }
            if index > 0, messages[index - 1]["role"] as? String == role {
                return "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
            }
            guard let blocks = message["content"] as? [[String: Any]], !blocks.isEmpty else {
                return "The content field in the Message object at messages.\(index).content is empty. Add a ContentBlock object to the content field and try again."
            }
            var uses: [String] = []
            var results: [String] = []
            for (blockIndex, block) in blocks.enumerated() {
                let members = block.keys.filter(blockFields.contains)
                guard members.count == 1, block.count == 1 else {
                    return "1 validation error detected: Value at 'messages.\(index + 1).member.content.\(blockIndex + 1).member' failed to satisfy constraint: Member must have exactly one member set"
                }
                if let text = block["text"] {
                    guard let text = text as? String, !text.isEmpty else {
                        return "The text field in the ContentBlock object at messages.\(index).content.\(blockIndex) is blank. Add text to the text field, and try again."
                    }
                }
                if let use = block["toolUse"] {
                    guard role == "assistant" else {
                        return "messages.\(index).content.\(blockIndex): toolUse blocks are allowed in assistant messages only"
                    }
                    guard let use = use as? [String: Any], let id = use["toolUseId"] as? String, let name = use["name"] as? String else {
                        return "1 validation error detected: Value at 'messages.\(index + 1).member.content.\(blockIndex + 1).member.toolUse' failed to satisfy constraint: Member must have toolUseId, name and input"
                    }
                    guard (1...64).contains(id.count), id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
                        return "1 validation error detected: Value '\(id)' at 'messages.\(index + 1).member.content.\(blockIndex + 1).member.toolUse.toolUseId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+"
                    }
                    guard use["input"] is [String: Any] else {
                        return "The format of the value at messages.\(index).content.\(blockIndex).toolUse.input is invalid. Provide a json object for the field and try again."
                    }
                    _ = name
                    uses.append(id)
                    usesTools = true
                }
                if let result = block["toolResult"] {
                    guard role == "user" else {
                        return "messages.\(index).content.\(blockIndex): toolResult blocks are allowed in user messages only"
                    }
                    guard let result = result as? [String: Any], let id = result["toolUseId"] as? String,
                          let content = result["content"] as? [[String: Any]]
                    else {
                        return "1 validation error detected: Value at 'messages.\(index + 1).member.content.\(blockIndex + 1).member.toolResult' failed to satisfy constraint: Member must have toolUseId and content"
                    }
                    for item in content where item.count != 1 || !["text", "json", "image", "document", "video"].contains(item.keys.first!) {
                        return "1 validation error detected: Value at 'messages.\(index + 1).member.content.\(blockIndex + 1).member.toolResult.content' failed to satisfy constraint: Member must have exactly one member set"
                    }
                    if let status = result["status"] as? String, status != "success", status != "error" {
                        return "1 validation error detected: Value '\(status)' at 'messages.\(index + 1).member.content.\(blockIndex + 1).member.toolResult.status' failed to satisfy constraint: Member must satisfy enum value set: [success, error]"
                    }
                    results.append(id)
                    usesTools = true
                }
            }
            if results.count > pendingCalls.count {
                return "The number of toolResult blocks at messages.\(index).content exceeds the number of toolUse blocks of previous turn."
            }
            if !pendingCalls.isEmpty {
                let missing = pendingCalls.filter { !results.contains($0) }
                if !missing.isEmpty {
                    return "Expected toolResult blocks at messages.\(index).content for the following Ids: \(missing.joined(separator: ", "))"
                }
            }
            pendingCalls = uses
        }
        if usesTools, toolNames.isEmpty {
            return "The toolConfig field must be defined when using toolUse and toolResult content blocks."
        }
        return nil
    }

    // MARK: Event stream

    /// An event message: `:event-type`, `:content-type: application/json`, `:message-type: event`,
    /// and the JSON payload (with the `p` padding Bedrock adds to its events).
    static func event(_ type: String, _ payload: [String: Any]) -> [UInt8] {
        var payload = payload
        payload["p"] = String(randomLetters(Int.random(in: 2...20)))
        let json = (try? JSONSerialization.data(withJSONObject: payload)) ?? Data()
        return frame(headers: [(":event-type", type), (":content-type", "application/json"), (":message-type", "event")],
                     payload: Array(json))
    }

    /// An exception message, as a stream that fails after it has begun ends.
    static func exception(_ type: String, _ message: String) -> [UInt8] {
        let json = (try? JSONSerialization.data(withJSONObject: ["message": message])) ?? Data()
        return frame(headers: [(":exception-type", type), (":content-type", "application/json"), (":message-type", "exception")],
                     payload: Array(json))
    }

    /// One message: total length, headers length, prelude CRC, headers (string values, type 7),
    /// payload, message CRC; integers big-endian.
    static func frame(headers: [(String, String)], payload: [UInt8]) -> [UInt8] {
        var headerBytes: [UInt8] = []
        for (name, value) in headers {
            headerBytes.append(UInt8(name.utf8.count))
            headerBytes += name.utf8
            headerBytes.append(7)
            headerBytes += bigEndian(UInt16(value.utf8.count))
            headerBytes += value.utf8
        }
        let total = 12 + headerBytes.count + payload.count + 4
        var message = bigEndian(UInt32(total)) + bigEndian(UInt32(headerBytes.count))
        message += bigEndian(crc32(message))
        message += headerBytes
        message += payload
        message += bigEndian(crc32(message))
        return message
    }

    static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).reversed().map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }

    /// CRC-32 (IEEE 802.3, reflected, as zlib's), computed bit by bit: no table, nothing shared
    /// with Konnect's reader. `crc32("123456789")` is 0xCBF43926.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1
            }
        }
        return ~crc
    }
}
