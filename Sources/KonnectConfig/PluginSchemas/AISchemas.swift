// Schemas of the AI gateway's plugins, with Kong's field names so Kong AI configs carry over.

extension PluginSchema {
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
            PluginField("provider", .string, required: true, oneOf: ["openai", "anthropic"], "Who serves the model."),
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
            ]), "Model settings."),
        ]), required: true, "The model requests go to."),
        PluginField("response_streaming", .string, required: true, default: "allow", oneOf: ["allow", "deny", "always"],
                    "Whether clients may stream answers (deny: streaming requests get 400; always: every answer streams)."),
        PluginField("max_request_body_size", .integer, required: true, default: 8_388_608, between: 1...Double.infinity,
                    "Largest request body read, in bytes (larger ones get 413)."),
        PluginField("timeout", .integer, required: true, default: 60_000, between: 1...Double.infinity,
                    "Milliseconds to wait for the provider's answer (for streams, its whole stream)."),
    ])
}
