// Schemas of the plugins that decide, without authenticating, whether a request may pass.

extension PluginSchema {
    static let acl = PluginSchema("acl", fields: [
        .strings("allow", "Groups whose consumers may pass (all others get 403)."),
        .strings("deny", "Groups whose consumers may not pass."),
        PluginField("hide_groups_header", .boolean, required: true, default: false,
                    "Do not send the consumer's groups upstream in X-Consumer-Groups."),
    ], rules: [PluginChecks.exactlyOne("allow", "deny")])

    static let ipRestriction = PluginSchema("ip-restriction", fields: [
        .strings("allow", check: PluginChecks.network, "Addresses or CIDR blocks (IPv4 or IPv6) that may pass."),
        .strings("deny", check: PluginChecks.network, "Addresses or CIDR blocks (IPv4 or IPv6) that may not pass."),
        PluginField("status", .integer, between: 100...599, "Status of the refusal (default 403)."),
        PluginField("message", .string, "Message of the refusal (default \"IP address not allowed\")."),
    ], rules: [PluginChecks.atLeastOne("allow", "deny")])

    static let cors = PluginSchema("cors", fields: [
        .strings("origins", check: PluginChecks.origin,
                 "Allowed origins: `*`, exact origins, or regular expressions matched against the whole Origin."),
        .strings("methods", default: ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"],
                 oneOf: ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"],
                 "Methods allowed in Access-Control-Allow-Methods."),
        .strings("headers", "Request headers allowed (default: those the preflight asks for)."),
        .strings("exposed_headers", "Response headers the browser may show to scripts."),
        PluginField("max_age", .number, between: 0...Double.infinity, "Seconds a preflight answer may be cached."),
        PluginField("credentials", .boolean, required: true, default: false,
                    "Send Access-Control-Allow-Credentials: true (the origin is then echoed, never `*`)."),
        PluginField("private_network", .boolean, required: true, default: false,
                    "Answer Access-Control-Request-Private-Network with Access-Control-Allow-Private-Network: true."),
        PluginField("preflight_continue", .boolean, required: true, default: false,
                    "Pass preflight requests upstream instead of answering them."),
    ])

    static let requestSizeLimiting = PluginSchema("request-size-limiting", fields: [
        PluginField("allowed_payload_size", .integer, required: true, default: 128, between: 0...Double.infinity,
                    "Largest request body allowed, in size_unit."),
        PluginField("size_unit", .string, required: true, default: "megabytes", oneOf: ["megabytes", "kilobytes", "bytes"],
                    "Unit of allowed_payload_size."),
        PluginField("require_content_length", .boolean, required: true, default: false,
                    "Refuse bodies sent without a Content-Length (chunked) with 411."),
    ])

    static let botDetection = PluginSchema("bot-detection", fields: [
        .strings("allow", default: [], check: PluginChecks.regex,
                 "User-Agent patterns (regular expressions) that always pass, even if a deny rule matches."),
        .strings("deny", default: [], check: PluginChecks.regex,
                 "User-Agent patterns (regular expressions) refused with 403, besides the built-in list of well-known bots."),
    ])

    static let requestTermination = PluginSchema("request-termination", fields: [
        PluginField("status_code", .integer, required: true, default: 503, between: 100...599, "Status of the answer."),
        PluginField("message", .string, "Message of the JSON answer (default: the status's reason phrase)."),
        PluginField("body", .string, "Raw body of the answer, instead of the JSON message."),
        PluginField("content_type", .string, "Content type of body (default application/json; charset=utf-8)."),
        PluginField("trigger", .string, between: 1...Double.infinity,
                    "Terminate only requests that carry this header or query argument; others pass."),
        PluginField("echo", .boolean, required: true, default: false,
                    "Answer with a JSON description of the request as Konnect received it (for debugging)."),
    ], rules: [
        { config in
            let message = config["message", default: .null], body = config["body", default: .null]
            if message != .null, body != .null {
                return Problem([.key("body")], "no body when message is set (one or the other)")
            }
            if config["content_type", default: .null] != .null, body == .null {
                return Problem([.key("content_type")], "no content_type without a body")
            }
            return nil
        },
    ])

    static let correlationID = PluginSchema("correlation-id", fields: [
        PluginField("header_name", .string, required: true, default: "Konnect-Request-ID", check: PluginChecks.headerName,
                    "Header that carries the correlation id."),
        PluginField("generator", .string, required: true, default: "uuid#counter", oneOf: ["uuid", "uuid#counter", "tracker"],
                    "How an id is made: a random UUID, a per-process UUID with a counter, or client address, port and request number."),
        PluginField("echo_downstream", .boolean, required: true, default: false, "Return the id to the client in the response."),
    ])
}
