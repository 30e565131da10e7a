#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KonnectAI
import KonnectConfig
import NIOCore

/// What the AI plugins do before choosing where a request goes: read the body, tell the client's
/// format from the path, read the request, and answer what is not a chat request (model lists,
/// other methods, bad bodies) in that format.
enum AIIntake {
    case chat(ChatRequest, AIClientFormat)
    /// `…/embeddings` (OpenAI's format).
    case embeddings(EmbeddingsRequest)
    /// Answered, or waiting for the body.
    case decided(AccessResult)

    /// `models`: the names this route serves (listed on `GET …/models`), with their provider.
    static func read(_ context: PluginContext, maximumBodySize: Int64, models: [(name: String, provider: String)]) -> AIIntake {
        let format = AIClientFormat(path: context.path)
        if context.path.hasSuffix("/messages/count_tokens") {
            return .decided(answer(AIError(.notFound, "Token counting is not offered on this route"), .anthropic))
        }
        if context.method == "GET", context.path.hasSuffix("/models") {
            // Anthropic's SDK sends its version header; OpenAI's does not.
            if case .none = context.head.value(named: "anthropic-version") { return .decided(modelList(models, anthropic: false)) }
            return .decided(modelList(models, anthropic: true))
        }
        guard context.method == "POST" else {
            return .decided(answer(AIError(.invalidRequest, status: 405, "Only POST is accepted here"), format))
        }
        guard let body = context.requestBody else {
            context.bodyLimit = maximumBodySize
            let field = context.path.hasSuffix("/embeddings") ? "input" : "messages"
            context.tooLargeAnswer = {
                answer(AIError(.requestTooLarge, "\(field): the request body is larger than this route accepts (\(maximumBodySize) bytes)",
                               param: field), format)
            }
            return .decided(.readBody)
        }
        let json: JSON
        do {
            json = try JSON.parse(body)
        } catch {
            return .decided(answer(AIError(.invalidRequest, "The body is not valid JSON: \(error)", param: "body"), format))
        }
        do {
            if context.path.hasSuffix("/embeddings") { return .embeddings(try OpenAIChat.embeddingsRequest(from: json)) }
            return .chat(try format.request(from: json), format)
        } catch {
            return .decided(answer(error, format))
        }
    }

    /// `error` in the client's format.
    static func answer(_ error: AIError, _ format: AIClientFormat) -> AccessResult {
        let (status, body) = format.errorBody(error)
        var headers = [AccessResult.Header("Content-Type", "application/json")]
        if let retryAfter = error.retryAfter { headers.append(.init("Retry-After", String(Int(retryAfter.rounded(.up))))) }
        return .respondStored(status: status, headers: headers, body: body.buffer)
    }

    /// The models a route serves, as the client's SDK lists them.
    static func modelList(_ models: [(name: String, provider: String)], anthropic: Bool) -> AccessResult {
        let body: JSON = anthropic
            ? ["data": .array(models.map { ["type": "model", "id": .string($0.name), "display_name": .string($0.name),
                                            "created_at": "1970-01-01T00:00:00Z"] }),
               "has_more": false, "first_id": models.first.map { .string($0.name) } ?? .null,
               "last_id": models.last.map { .string($0.name) } ?? .null]
            : ["object": "list",
               "data": .array(models.map { ["id": .string($0.name), "object": "model", "created": 0, "owned_by": .string($0.provider)] })]
        return .respondStored(status: 200, headers: [.init("Content-Type", "application/json")], body: body.buffer)
    }

    /// A secret from a reference: `{env://NAME}` (or Kong's `{vault://env/NAME}`) reads the
    /// environment variable; anything else is the value itself.
    static func secret(_ value: String, field: String) throws(PluginConfigProblem) -> String {
        guard value.hasPrefix("{"), value.hasSuffix("}") else { return value }
        let inner = value.dropFirst().dropLast()
        let name: Substring
        if inner.hasPrefix("env://") {
            name = inner.dropFirst(6)
        } else if inner.hasPrefix("vault://env/") {
            name = inner.dropFirst(12)
        } else {
            throw PluginConfigProblem(description: "\(field): unknown secret reference \(value) (use {env://NAME})")
        }
        guard let raw = getenv(String(name)), case let secret = String(cString: raw), !secret.isEmpty else {
            throw PluginConfigProblem(description: "\(field): the environment variable \(name) is not set")
        }
        return secret
    }
}
