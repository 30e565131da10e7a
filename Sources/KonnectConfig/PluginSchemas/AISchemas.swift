// Schemas of the AI gateway's plugins, with Kong's field names so Kong AI configs carry over.

extension PluginSchema {
    /// The providers Konnect speaks to (KonnectAI's registry).
    static let aiProviders: [JSONValue] = ["openai", "anthropic", "gemini", "azure", "mistral", "ollama", "cohere", "bedrock"]

    static let aiProxy = PluginSchema("ai-proxy", fields: [
        PluginField("route_type", .string, required: true, default: "llm/v1/chat", oneOf: ["llm/v1/chat"],
                    "What the route answers: chat completions (OpenAI's format; Anthropic's on paths ending in /v1/messages)."),
        PluginField("llm_format", .string, required: true, default: "openai", oneOf: ["openai"],
                    "The format clients speak (Anthropic's Messages format is also taken on paths ending in /v1/messages)."),
        PluginField("auth", .record([
            PluginField("header_name", .string, check: PluginChecks.headerName,
                        "Kong's header name; Konnect puts the key where the provider expects it."),
            PluginField("header_value", .string, "The provider's key (a leading `Bearer ` is dropped)."),
        ]), "How Konnect authenticates to the provider."),
        PluginField("model", .record([
            PluginField("provider", .string, required: true, oneOf: aiProviders, "Who serves the model."),
            PluginField("name", .string, "The provider's model name; clients must ask for this one."),
            PluginField("options", .record([
                PluginField("max_tokens", .integer, between: 1...Double.infinity,
                            "Token limit for requests that set none (Anthropic requires one; 4096 otherwise)."),
                PluginField("temperature", .number, between: 0...2, "Temperature for requests that set none."),
                PluginField("top_p", .number, between: 0...1, "top_p for requests that set none."),
                PluginField("top_k", .integer, between: 1...Double.infinity, "top_k for requests that set none."),
                PluginField("upstream_url", .string, check: PluginChecks.httpURL,
                            "The provider endpoint's whole URL, replacing the provider's own (a self-hosted or proxied server)."),
                PluginField("anthropic_version", .string, "anthropic-version header (default 2023-06-01)."),
                PluginField("input_cost", .number, between: 0...Double.infinity,
                            "Price per million prompt tokens, for X-Konnect-AI-Cost (well-known models have a default)."),
                PluginField("output_cost", .number, between: 0...Double.infinity, "Price per million output tokens."),
                PluginField("azure_instance", .string,
                            "Azure OpenAI resource name: requests go to https://{azure_instance}.openai.azure.com (required for azure unless upstream_url is set)."),
                PluginField("azure_deployment_id", .string,
                            "Azure OpenAI deployment name in the URL (default: the model name)."),
                PluginField("azure_api_version", .string, "Azure OpenAI api-version query parameter (default 2024-10-21)."),
                PluginField("aws_access_key_id", .string,
                            "AWS access key id: bedrock requests are signed with SigV4 (without one, auth.header_value is sent as a Bedrock API key)."),
                PluginField("aws_secret_access_key", .string, "AWS secret access key (required with aws_access_key_id)."),
                PluginField("aws_session_token", .string, "AWS session token, for temporary (STS) credentials."),
                PluginField("aws_region", .string, "AWS region of the Bedrock endpoint and the signature (default us-east-1)."),
            ]), "Model settings."),
        ]), required: true, "The model requests go to."),
        PluginField("response_streaming", .string, required: true, default: "allow", oneOf: ["allow", "deny", "always"],
                    "Whether clients may stream answers (deny: streaming requests get 400; always: every answer streams)."),
        PluginField("max_request_body_size", .integer, required: true, default: 8_388_608, between: 1...Double.infinity,
                    "Largest request body read, in bytes (larger ones get 413)."),
        PluginField("timeout", .integer, required: true, default: 60_000, between: 1...2_147_483_646,
                    "Milliseconds to wait for the provider's answer to begin (a stream may then run longer; one that goes quiet for 2 minutes is given up)."),
    ])

    /// The fields of one model the AI gateway serves: an element of ai-gateway's `config.models`,
    /// and an `ai_models` entity (`normalizeAIModel`), so both accept and refuse the same things.
    public static let aiModelFields: [PluginField] = [
        PluginField("name", .string, required: true, between: 1...Double.infinity, "The model name clients send."),
        PluginField("routing", .string, required: true, default: "fallback",
                    oneOf: ["fallback", "weighted", "least-latency", "lowest-cost"],
                    "How a deployment is chosen: in order, by weight, by the shortest recent time to first byte, or by price; the others follow as fallbacks."),
        PluginField("cooldown", .number, required: true, default: 30, between: 0...Double.infinity,
                    "Seconds a deployment that failed (429, 5xx, timeout, no connection) is passed over, unless the provider said how long to wait."),
        PluginField("deployments", .array(.element(.record([
            PluginField("provider", .string, required: true, oneOf: aiProviders, "Who serves the model."),
            PluginField("model", .string, required: true, between: 1...Double.infinity, "The provider's name for the model."),
            PluginField("base_url", .string, check: PluginChecks.httpURL,
                        "Replaces the provider's endpoint (a regional endpoint, a proxy, a self-hosted server)."),
            PluginField("auth", .record([
                PluginField("header_value", .string,
                            "The provider's key alone, or a reference to it ({env://NAME}); Konnect puts it where the provider expects it."),
            ]), "How Konnect authenticates to the provider."),
            PluginField("weight", .integer, required: true, default: 1, between: 0...65_535, "Share of requests (weighted routing)."),
            PluginField("timeout", .integer, required: true, default: 60_000, between: 1...2_147_483_646,
                        "Milliseconds to wait for the answer to begin."),
            PluginField("retries", .integer, required: true, default: 0, between: 0...10,
                        "Further attempts on this deployment before the next one."),
            PluginField("max_tokens", .integer, between: 1...Double.infinity,
                        "Token limit for requests that set none, where the provider requires one."),
            PluginField("price", .record([
                PluginField("input", .number, required: true, between: 0...Double.infinity, "Per million prompt tokens."),
                PluginField("output", .number, required: true, between: 0...Double.infinity, "Per million output tokens."),
                PluginField("cached_input", .number, between: 0...Double.infinity, "Per million prompt tokens read from the provider's cache."),
                PluginField("cache_write", .number, between: 0...Double.infinity, "Per million prompt tokens written to the provider's cache."),
            ]), "Prices (lowest-cost routing, cost accounting)."),
            PluginField("options", .map(.element(.string)), "Provider settings (anthropic_version …)."),
        ]))), required: true, between: 1...Double.infinity, "Where the model is served, in order of preference."),
    ]

    /// `model` (an `ai_models` entity's fields, or an element of ai-gateway's `config.models`)
    /// with its defaults filled in, and the problems that keep it from fitting; each problem's
    /// path starts at the model (`deployments[1].provider`).
    public static func normalizeAIModel(_ model: JSONValue) -> (model: JSONValue, problems: [Problem]) {
        var problems: [Problem] = []
        let normalized = PluginField.element(.record(aiModelFields)).normalize(model, at: [], problems: &problems)
        return (normalized, problems)
    }

    static let aiGateway = PluginSchema("ai-gateway", fields: [
        PluginField("models", .array(.element(.record(aiModelFields))),
                    "Models this route serves besides every ai_models entity (a model here wins over an entity of the same name)."),
        PluginField("response_streaming", .string, required: true, default: "allow", oneOf: ["allow", "deny", "always"],
                    "Whether clients may stream answers."),
        PluginField("max_request_body_size", .integer, required: true, default: 8_388_608, between: 1...Double.infinity,
                    "Largest request body read, in bytes (larger ones get 413)."),
    ])
}
