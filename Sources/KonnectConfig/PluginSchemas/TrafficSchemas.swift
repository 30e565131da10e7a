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
        PluginField("timeout", .integer, required: true, default: 2000, between: 1...2_147_483_646,
                    "Milliseconds to connect, and to wait for each answer."),
    ]

    static let proxyCache = PluginSchema("proxy-cache", fields: [
        PluginField("response_code", .array(.element(.integer, between: 100...900)), required: true, default: .array([200, 301, 404]),
                    "Statuses of the upstream responses kept."),
        .strings("request_method", required: true, default: ["GET", "HEAD"], oneOf: ["GET", "HEAD", "POST", "PATCH", "PUT"],
                 "Methods of the requests answered from the cache."),
        .strings("content_type", required: true, default: ["text/plain", "application/json"],
                 "Media types of the responses kept (parameters such as charset are ignored; `*/*` keeps any)."),
        PluginField("cache_ttl", .integer, required: true, default: 300, between: 1...Double.infinity,
                    "Seconds a response is served from the cache."),
        PluginField("strategy", .string, required: true, default: "memory", oneOf: ["memory"], "Where responses are kept."),
        PluginField("cache_control", .boolean, required: true, default: false,
                    "Follow Cache-Control: the client's no-store, no-cache and max-age=0; the response's no-store, private, no-cache, max-age and s-maxage."),
        PluginField("ignore_uri_case", .boolean, required: true, default: false, "Paths differing only in case share an entry."),
        PluginField("storage_ttl", .integer, between: 1...Double.infinity, "Seconds a response is kept in the cache. It is fresh for cache_ttl (or the origin's max-age); asked for later but within storage_ttl, it is fetched again and reported as Refresh rather than Miss."),
        PluginField("memory", .record([
            PluginField("dictionary_name", .string, required: true, default: "kong_db_cache",
                        "Name of the in-memory store; plugins naming the same one share it."),
            PluginField("max_bytes", .integer, required: true, default: 67_108_864, between: 1024...Double.infinity,
                        "Bytes the store may hold before the least recently used responses go (beyond Kong OSS)."),
        ]), required: true, default: .object(["dictionary_name": "kong_db_cache", "max_bytes": 67_108_864]),
                    "The memory strategy's store."),
        PluginField("stale_if_error", .integer, required: true, default: 0, between: 0...Double.infinity,
                    "Seconds past its expiry a cached copy still answers when the upstream fails (a 5xx, or no answer); 0: never (beyond Kong OSS)."),
        PluginField("collapse_misses", .boolean, required: true, default: true,
                    "Concurrent misses for one key make one upstream request; the others wait for its answer (beyond Kong OSS)."),
        .strings("vary_query_params", "Query arguments that tell entries apart (default: all of them)."),
        .strings("vary_headers", check: PluginChecks.headerName, "Request headers that tell entries apart."),
        PluginField("response_headers", .record([
            PluginField("age", .boolean, required: true, default: true, "Send Age on hits."),
            PluginField("X-Cache-Status", .boolean, required: true, default: true, "Send X-Cache-Status."),
            PluginField("X-Cache-Key", .boolean, required: true, default: true, "Send X-Cache-Key."),
        ]), required: true, default: .object(["age": true, "X-Cache-Status": true, "X-Cache-Key": true]),
                    "Which cache headers responses carry."),
    ])

    static let rateLimiting = PluginSchema("rate-limiting", fields: rateLimitWindows.map { window in
        PluginField(window, .number, between: 1...Double.infinity, "Requests allowed per \(window).")
    } + [
        PluginField("limit_by", .string, required: true, default: "consumer",
                    oneOf: ["consumer", "credential", "ip", "service", "header", "path", "consumer-group"],
                    "What is counted: each consumer, credential, client address, service, value of header_name, path, or consumer group (a consumer in several counts in the first by name). A request without one (no consumer, no header, a consumer in no group) is counted by client address."),
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
                    "Kong's delayed counter sync, in seconds. Konnect always counts as requests arrive (as -1 does), so every value counts exactly; it is accepted for Kong's configs."),
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
    ], shorthands: Dictionary(uniqueKeysWithValues: redisFields.map { ("redis_\($0.name)", (record: "redis", field: $0.name)) }))
}
