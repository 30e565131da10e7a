import NIOCore

/// Azure OpenAI: OpenAI's chat completions format, addressed by deployment
/// (`https://{azure_instance}.openai.azure.com/openai/deployments/{azure_deployment_id}/chat/completions?api-version=…`),
/// the key in `api-key`. Options by Kong's names: `azure_instance`, `azure_deployment_id` (the
/// model name when unset), `azure_api_version`.
public struct AzureOpenAIProvider: AIProvider {
    public let name = "azure"
    /// The API version sent when the deployment's options name none: the latest GA version.
    public static let apiVersion = "2024-10-21"

    public init() {}

    public func chatRequest(_ request: ChatRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        let version = deployment.options["azure_api_version"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.apiVersion
        var headers = [("Content-Type", "application/json")]
        if let key = deployment.apiKey { headers.append(("api-key", key)) }
        // The body keeps `model` although Azure answers with the deployment's model whatever it
        // says: OpenAI's own SDK sends it to Azure too, and proxies in front of Azure (API
        // Management policies, logs) read it.
        var body = OpenAIChat.requestBody(request, model: deployment.model, maxTokensField: Self.maxTokensField(version))
        if !Self.knowsStreamOptions(version), case .object(var object) = body {
            // Older versions refuse the field ("Unknown parameter"); their streams carry no usage.
            object["stream_options"] = nil
            body = .object(object)
        }
        return ProviderRequest(url: try Self.url(deployment, version: version), headers: headers, body: body.buffer)
    }

    /// `{base}/openai/deployments/{id}/chat/completions?api-version=…`, where the base is the
    /// deployment's `baseURL` or the `azure_instance`'s endpoint.
    static func url(_ deployment: AIDeployment, version: String, operation: String = "chat/completions") throws(AIError) -> String {
        if operation == "chat/completions", let upstream = deployment.options["upstream_url"], !upstream.isEmpty { return upstream }
        let base: String
        if deployment.baseURL?.isEmpty == false {
            base = deployment.base(or: "")
        } else if let instance = deployment.options["azure_instance"], !instance.isEmpty {
            base = "https://\(instance).openai.azure.com"
        } else {
            throw AIError(.server, status: 500,
                          "model.options.azure_instance: is required for the azure provider (the resource name in https://{azure_instance}.openai.azure.com), unless model.options.upstream_url is set",
                          param: "model.options.azure_instance")
        }
        let id = deployment.options["azure_deployment_id"].flatMap { $0.isEmpty ? nil : $0 } ?? deployment.model
        return "\(base)/openai/deployments/\(id)/\(operation)?api-version=\(version)"
    }

    /// The GA versions up to 2024-10-21 know only `max_tokens`; from 2024-12-01-preview on, Azure
    /// takes `max_completion_tokens`, the only limit its reasoning models (o1, o3 …) accept.
    static func maxTokensField(_ version: String) -> String {
        version.prefix(10) >= "2024-12-01" ? "max_completion_tokens" : "max_tokens"
    }

    /// `stream_options.include_usage` exists from 2024-09-01-preview on (and in 2024-10-21 GA).
    static func knowsStreamOptions(_ version: String) -> Bool {
        version.prefix(10) >= "2024-09-01"
    }

    public func chatResponse(_ body: ByteBuffer) throws(AIError) -> ChatResponse {
        let json = try JSON.answer(body)
        return try OpenAIChat.response(from: json)
    }

    public func error(status: Int, headers: [(String, String)], body: ByteBuffer) -> AIError {
        OpenAIChat.error(status: status, body: body, retryAfter: RetryAfter.seconds(in: headers))
    }

    /// OpenAI's decoder: it already waits past Azure's first chunk (no id, no choices, only the
    /// prompt filter's results) before it starts the answer.
    public func streamDecoder() -> any ChatStreamDecoder { OpenAIChatStreamDecoder() }

    public func embeddingsRequest(_ request: EmbeddingsRequest, deployment: AIDeployment) throws(AIError) -> ProviderRequest {
        let version = deployment.options["azure_api_version"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.apiVersion
        var headers = [("Content-Type", "application/json")]
        if let key = deployment.apiKey { headers.append(("api-key", key)) }
        return ProviderRequest(url: try Self.url(deployment, version: version, operation: "embeddings"), headers: headers,
                               body: OpenAIChat.embeddingsBody(request, model: deployment.model).buffer)
    }

    public func embeddingsResponse(_ body: ByteBuffer) throws(AIError) -> EmbeddingsResponse {
        let json = try JSON.answer(body)
        return try OpenAIChat.embeddingsResponse(from: json)
    }
}

