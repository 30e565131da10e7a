/// Names of the plugins Konnect knows (Kong's bundled plugin names plus the ai-* ones).
///
/// A declarative file may only configure plugins named here; knowing a name does not mean the
/// plugin is implemented yet.
public enum KnownPlugins {
    /// Every plugin name a configuration may use.
    public static let names: Set<String> = bundled.union(ai)

    /// Kong's bundled (open-source) plugins.
    static let bundled: Set<String> = [
        "acl", "acme", "aws-lambda", "azure-functions", "basic-auth", "bot-detection",
        "correlation-id", "cors", "datadog", "file-log", "grpc-gateway", "grpc-web", "hmac-auth",
        "http-log", "ip-restriction", "jwt", "key-auth", "ldap-auth", "loggly", "oauth2",
        "oauth2-introspection",
        "opentelemetry", "post-function", "pre-function", "prometheus", "proxy-cache",
        "rate-limiting", "redirect", "request-size-limiting", "request-termination",
        "request-transformer", "response-ratelimiting", "response-transformer", "session",
        "standard-webhooks", "statsd", "syslog", "tcp-log", "udp-log", "zipkin",
    ]

    /// The AI gateway plugins, by the names Kong gives them.
    static let ai: Set<String> = [
        "ai-gateway", "ai-proxy", "ai-proxy-advanced", "ai-prompt-decorator", "ai-prompt-guard",
        "ai-prompt-template", "ai-request-transformer", "ai-response-transformer",
        "ai-semantic-cache", "ai-semantic-prompt-guard", "ai-semantic-response-guard",
        "ai-rate-limiting-advanced", "ai-azure-content-safety", "ai-aws-guardrails",
        "ai-gcp-model-armor", "ai-sanitizer", "ai-rag-injector", "ai-prompt-compressor",
        "ai-llm-as-judge", "ai-mcp-proxy", "ai-mcp-oauth2",
    ]
}
