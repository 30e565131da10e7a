// Schemas of the plugins that shape traffic: how much of it, and in what form.

extension PluginSchema {
    /// The windows rate-limiting counts in, shortest first.
    public static let rateLimitWindows = ["second", "minute", "hour", "day", "month", "year"]

    static let redisFields: [PluginField] = [
        PluginField("host", .string, "Redis server host (required with the redis policy)."),
        PluginField("port", .integer, required: true, default: 6379, between: 1...65535, "Redis server port."),
        PluginField("username", .string, "Redis ACL user (Redis 6 and later); password alone when unset."),
        PluginField("password", .string, "Password sent with AUTH."),
        PluginField("database", .integer, required: true, default: 0, between: 0...Double.infinity, "Redis database number."),
        PluginField("ssl", .boolean, required: true, default: false, "Connect to Redis over TLS."),
        PluginField("ssl_verify", .boolean, required: true, default: false, "Verify the Redis server's certificate."),
        PluginField("server_name", .string, "Server name sent in the TLS handshake (default: host)."),
        PluginField("timeout", .integer, required: true, default: 2000, between: 1...Double.infinity,
                    "Milliseconds to connect, and to wait for each answer."),
    ]

    static let rateLimiting = PluginSchema("rate-limiting", fields: rateLimitWindows.map { window in
        PluginField(window, .number, between: 1...Double.infinity, "Requests allowed per \(window).")
    } + [
        PluginField("limit_by", .string, required: true, default: "consumer",
                    oneOf: ["consumer", "credential", "ip", "service", "header", "path"],
                    "What is counted: each consumer, credential, client address, service, value of header_name, or path. A request without one (no consumer, no header) is counted by client address."),
        PluginField("header_name", .string, check: PluginChecks.headerName, "Header whose values are counted (limit_by header)."),
        PluginField("path", .string, "Path counted on its own (limit_by path); other paths are counted by client address."),
        PluginField("policy", .string, required: true, default: "local", oneOf: ["local", "redis"],
                    "Where counters live: this node's memory, or a Redis server that several nodes share."),
        PluginField("fault_tolerant", .boolean, required: true, default: true,
                    "When Redis cannot be reached, count on this node and keep proxying (logged) instead of answering 500."),
        PluginField("redis", .record(redisFields), required: true,
                    default: .object(["host": .null, "port": 6379, "username": .null, "password": .null, "database": 0,
                                      "ssl": false, "ssl_verify": false, "server_name": .null, "timeout": 2000]),
                    "Redis server of the redis policy."),
        PluginField("hide_client_headers", .boolean, required: true, default: false,
                    "Send no RateLimit-* and X-RateLimit-* headers to the client."),
        PluginField("error_code", .integer, required: true, default: 429, between: 100...599, "Status of a refused request."),
        PluginField("error_message", .string, required: true, default: "API rate limit exceeded", "Message of a refused request."),
        PluginField("sync_rate", .number, required: true, default: -1,
                    check: { $0 == .number(-1) ? nil : "-1: counters are always updated as requests arrive" },
                    "Kong's delayed counter sync; only -1 (no delay) is supported."),
        PluginField("window_type", .string, required: true, default: "fixed", oneOf: ["fixed", "sliding"],
                    "fixed: counts restart at each calendar window; sliding: the previous window's count weighs in, fading as the current one passes, so a burst at a boundary cannot double the rate."),
        PluginField("concurrency", .integer, between: 1...Double.infinity,
                    "Most requests of one counted client in flight at once (beyond Kong OSS)."),
    ], rules: [
        { config in
            let windows = rateLimitWindows.filter { config[$0].map { $0 != .null } ?? false }
            if windows.isEmpty && (config["concurrency"] ?? .null) == .null {
                return Problem([.key("minute")], "a number; at least one of \(rateLimitWindows.joined(separator: ", ")) or concurrency is required")
            }
            // A longer window must allow more than a shorter one, or the shorter one is pointless.
            var previous: (String, Double)?
            for window in windows {
                guard case .number(let limit)? = config[window] else { continue }
                if let (name, shorter) = previous, limit < shorter {
                    return Problem([.key(window)], "at least \(name)'s limit (\(JSONValue.number(shorter).jsonText)): a longer window cannot allow fewer requests")
                }
                previous = (window, limit)
            }
            return nil
        },
        { config in
            switch config["limit_by"]?.string {
            case "header" where (config["header_name"] ?? .null) == .null:
                return Problem([.key("header_name")], "a header name; required when limit_by is header")
            case "path" where (config["path"] ?? .null) == .null:
                return Problem([.key("path")], "a path; required when limit_by is path")
            default: break
            }
            if config["policy"]?.string == "redis", case .object(let redis)? = config["redis"], (redis["host"] ?? .null) == .null {
                return Problem([.key("redis"), .key("host")], "a host name; required with the redis policy")
            }
            return nil
        },
    ])
}
