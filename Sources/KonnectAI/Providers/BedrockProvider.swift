import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Amazon Bedrock's Converse API: `POST https://bedrock-runtime.{region}.amazonaws.com/model/{modelId}/converse`,
/// or `/converse-stream` for streams (binary `application/vnd.amazon.eventstream`); embeddings
/// through InvokeModel (`…/model/{modelId}/invoke`), in the body format of the model's family.
///
/// Authentication, from the deployment's options (Kong's `model.options` names):
/// `aws_access_key_id` with `aws_secret_access_key` (and `aws_session_token` for temporary
/// credentials) sign each request with SigV4 for `aws_region` (default `us-east-1`); without an
/// access key, the deployment's key is a Bedrock API key, sent as a bearer token. The request is
/// signed here, since it is sent as it is written: a base URL replaces the endpoint before
/// signing, and so does the `upstream_url` option, taken as the whole URL.
public struct BedrockProvider: AIProvider {
    public let name = "bedrock"
    public let streamContentType = "amazon.eventstream"
    /// Seconds since 1970, for signing.
    private let now: @Sendable () -> Int64

    public init() {
        self.init(now: { Int64(time(nil)) })
    }

    /// A provider that signs with the time `now` gives (tests fix it).
    public init(now: @escaping @Sendable () -> Int64) {
        self.now = now
    }

    public func chatRequest(_ request: ChatRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        var request = request
        if request.maxTokens == nil { request.maxTokens = deployment.defaultMaxTokens }
        let body = try BedrockConverse.requestBody(request).buffer
        let model = deployment.model.isEmpty ? request.model : deployment.model
        let url: String
        if let upstream = deployment.options["upstream_url"], !upstream.isEmpty {
            url = upstream
        } else {
            url = Self.endpoint(deployment) + "/model/" + AWSSigV4.percentEncoded(model) + (request.stream ? "/converse-stream" : "/converse")
        }
        return try authorized(url: url, headers: [("Content-Type", "application/json")], body: body, deployment: deployment)
    }

    /// The region the deployment's `aws_region` names, `us-east-1` by default.
    static func region(_ deployment: AIDeployment) -> String {
        deployment.options["aws_region"].flatMap { $0.isEmpty ? nil : $0 } ?? "us-east-1"
    }

    /// The runtime endpoint: the deployment's base URL, or the region's.
    static func endpoint(_ deployment: AIDeployment) -> String {
        deployment.base(or: "https://bedrock-runtime.\(region(deployment)).amazonaws.com")
    }

    /// The request to `url`, signed with the deployment's access key, or carrying its API key
    /// as a bearer token, or neither.
    private func authorized(url: String, headers: [(String, String)], body: ByteBuffer,
                            deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        let options = deployment.options
        var headers = headers
        if let accessKey = options["aws_access_key_id"], !accessKey.isEmpty {
            guard let secret = options["aws_secret_access_key"], !secret.isEmpty else {
                throw AIError(.server, status: 500, "bedrock: model.options.aws_access_key_id is set without aws_secret_access_key")
            }
            let token = options["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 }
            let signed = try AWSSigV4.sign(
                method: "POST", url: url, headers: headers, body: body,
                credentials: AWSCredentials(accessKeyID: accessKey, secretAccessKey: secret, sessionToken: token),
                region: Self.region(deployment), service: "bedrock", secondsSince1970: now())
            headers = signed.headers
        } else if let key = deployment.apiKey, !key.isEmpty {
            headers.append(("Authorization", "Bearer \(key)"))
        }
        return ProviderRequest(url: url, headers: headers, body: body)
    }

    public func chatResponse(_ body: ByteBuffer) throws(AIError) -> ChatResponse {
        let json = try JSON.answer(body)
        return try BedrockConverse.response(from: json)
    }

    public func error(status: Int, headers: [(String, String)], body: ByteBuffer) -> AIError {
        BedrockConverse.error(status: status, headers: headers, body: body)
    }

    public func streamDecoder() -> any ChatStreamDecoder { BedrockConverseStreamDecoder() }

    /// The embedding models Konnect speaks to through InvokeModel, each in its own body format.
    enum EmbeddingFamily: Equatable {
        /// Amazon Titan Text Embeddings V2: one text a call, `dimensions` 256, 512 or 1024.
        case titanV2
        /// Cohere Embed v3 (English, multilingual): up to 96 texts a call, vectors of one size.
        case cohereV3
    }

    /// The family of a model id (`amazon.titan-embed-text-v2:0`), also inside a foundation
    /// model's ARN or behind an inference profile's geography (`us.…`); nil for other models.
    static func embeddingFamily(_ model: String) -> EmbeddingFamily? {
        var name = Substring(model.split(separator: "/").last ?? "")
        if !name.hasPrefix("amazon."), !name.hasPrefix("cohere."), let dot = name.firstIndex(of: ".") {
            name = name[name.index(after: dot)...]
        }
        if name.hasPrefix("amazon.titan-embed-text-v2") { return .titanV2 }
        if name.hasPrefix("cohere.embed-english-v3") || name.hasPrefix("cohere.embed-multilingual-v3") { return .cohereV3 }
        return nil
    }

    /// The dimensions Titan Text Embeddings V2 can give.
    static let titanDimensions = [256, 512, 1024]

    /// Titan embeds one text a call, Cohere Embed v3 up to 96.
    public func embeddingsBatchLimit(for deployment: AIDeployment) -> Int? {
        switch Self.embeddingFamily(deployment.model) {
        case .titanV2?: 1
        case .cohereV3?: 96
        case nil: nil
        }
    }

    /// InvokeModel, `POST {runtime}/model/{modelId}/invoke`, signed as chat requests are. The
    /// body is the model's own:
    /// - Titan Text Embeddings V2: `{"inputText", "dimensions"?, "normalize": true}` (normalized,
    ///   as OpenAI's vectors are). It embeds one text a call: the exchange sends a request of
    ///   several inputs as several calls (`embeddingsBatchLimit`).
    /// - Cohere Embed v3: `{"texts", "input_type"}`, the input type from `model.options.input_type`
    ///   as for Cohere's own API; its vectors have one size, so `dimensions` is refused.
    /// Other models are refused, naming `model`. An `upstream_url` naming a Converse endpoint is
    /// taken for its model's `/invoke`. A client's `user` changes no vector and is not sent.
    public func embeddingsRequest(_ request: EmbeddingsRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        try request.refuseOtherFields(provider: name)
        let model = deployment.model.isEmpty ? request.model : deployment.model
        let body: JSON
        switch Self.embeddingFamily(model) {
        case .titanV2?:
            guard request.inputs.count == 1 else {
                throw AIError.invalid("input", "\(model) embeds one text per call, not \(request.inputs.count)")
            }
            var object: JSONObject = ["inputText": .string(request.inputs[0])]
            if let dimensions = request.dimensions {
                guard Self.titanDimensions.contains(dimensions) else {
                    throw AIError.invalid("dimensions", "\(model) gives 256, 512 or 1024 dimensions, not \(dimensions)")
                }
                object["dimensions"] = .number(Double(dimensions))
            }
            object["normalize"] = true
            body = .object(object)
        case .cohereV3?:
            if request.dimensions != nil {
                throw AIError.invalid("dimensions", "\(model) gives vectors of one size; its dimensions cannot be chosen")
            }
            body = ["texts": .array(request.inputs.map(JSON.string)),
                    "input_type": .string(try CohereProvider.embedInputType(deployment, provider: name))]
        case nil:
            throw AIError.invalid("model", "\(model) at bedrock offers no embeddings through Konnect (it embeds with amazon.titan-embed-text-v2:0, cohere.embed-english-v3 and cohere.embed-multilingual-v3)")
        }
        var url: String
        if let upstream = deployment.options["upstream_url"], !upstream.isEmpty {
            url = upstream
            for suffix in ["/converse-stream", "/converse"] where url.hasSuffix(suffix) {
                url = String(url.dropLast(suffix.count)) + "/invoke"
                break
            }
        } else {
            url = Self.endpoint(deployment) + "/model/" + AWSSigV4.percentEncoded(model) + "/invoke"
        }
        return try authorized(url: url, headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
                              body: body.buffer, deployment: deployment)
    }

    /// Titan's `{"embedding": […], "inputTextTokenCount"}` or Cohere's `{"embeddings": [[…], …],
    /// "id", "response_type", "texts"}` (or `{"embeddings": {"float": […]}}`), told apart by their
    /// fields. Bedrock counts Cohere's tokens only in a response header this reader does not see:
    /// that usage is zero and marked estimated, and the exchange estimates it from the inputs.
    public func embeddingsResponse(_ body: ByteBuffer) throws(AIError) -> EmbeddingsResponse {
        let json = try JSON.answer(body)
        if let embedding = json["embedding"] {
            let tokens = json["inputTextTokenCount"]?.tokenCount
            return EmbeddingsResponse(model: "", vectors: [try EmbeddingValues.vector(embedding, at: "embedding")],
                                      usage: Usage(inputTokens: tokens ?? 0, outputTokens: 0, estimated: tokens == nil))
        }
        guard let embeddings = json["embeddings"] else { throw AIError(.server, "The provider's answer has no embeddings") }
        let vectors = if let floats = embeddings["float"] {
            try EmbeddingValues.vectors(floats, at: "embeddings.float")
        } else {
            try EmbeddingValues.vectors(embeddings, at: "embeddings")
        }
        return EmbeddingsResponse(model: "", vectors: vectors, usage: Usage(inputTokens: 0, outputTokens: 0, estimated: true))
    }
}
