import KonnectConfig

/// The order plugins run in: Kong's `PRIORITY` numbers, highest first, ties by name.
///
/// Kong's numbers are kept so that a user who knows Kong's order (key-auth before acl before
/// rate-limiting) finds the same one here. Names without a number run after all that have one.
public enum PluginPriority {
    public static let byName: [String: Int] = [
        "pre-function": 1_000_000, "correlation-id": 100_001, "zipkin": 100_000, "bot-detection": 2500,
        "cors": 2000, "session": 1900, "acme": 1705, "oauth2-introspection": 1700, "jwt": 1450,
        "oauth2": 1400, "key-auth": 1250, "ldap-auth": 1200, "basic-auth": 1100, "hmac-auth": 1030,
        "grpc-gateway": 998, "ip-restriction": 990, "request-size-limiting": 951, "acl": 950,
        "rate-limiting": 910, "response-ratelimiting": 900, "request-transformer": 801,
        "response-transformer": 800, "ai-request-transformer": 777, "ai-prompt-template": 773,
        "ai-prompt-decorator": 772, "ai-prompt-guard": 771, "ai-proxy": 770, "ai-gateway": 770, "ai-response-transformer": 769,
        "aws-lambda": 750, "azure-functions": 749, "proxy-cache": 100, "opentelemetry": 14, "prometheus": 13,
        "http-log": 12, "statsd": 11, "datadog": 10, "file-log": 9, "udp-log": 8, "tcp-log": 7, "loggly": 6,
        "syslog": 4, "grpc-web": 3, "request-termination": 2, "post-function": -1000,
    ]

    /// The priority of the plugin `name`; `Int.min` for names without one.
    public static func of(_ name: String) -> Int {
        byName[name] ?? .min
    }

    /// Whether plugin `a` runs before plugin `b`.
    public static func runsBefore(_ a: String, _ b: String) -> Bool {
        let left = of(a), right = of(b)
        return left != right ? left > right : a < b
    }
}
