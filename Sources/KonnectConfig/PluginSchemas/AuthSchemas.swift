// Schemas of the authentication plugins: who a request is from.

extension PluginSchema {
    static let keyAuth = PluginSchema("key-auth", fields: [
        .strings("key_names", required: true, default: ["apikey"], check: PluginChecks.headerName,
                 "Names of the header and query argument (and body field) that carry the key, tried in order."),
        PluginField("hide_credentials", .boolean, required: true, default: false,
                    "Remove the key from the request before it goes upstream."),
        PluginField("anonymous", .string,
                    "Consumer (id or username) a request without a valid key is taken to be from, instead of a 401."),
        PluginField("key_in_header", .boolean, required: true, default: true, "Look for the key in request headers."),
        PluginField("key_in_query", .boolean, required: true, default: true, "Look for the key in the query string."),
        PluginField("key_in_body", .boolean, required: true, default: false,
                    "Look for the key in the request body (form, multipart or JSON) when no header or query argument has it."),
        PluginField("run_on_preflight", .boolean, required: true, default: true,
                    "Authenticate CORS preflight (OPTIONS) requests too."),
        PluginField("realm", .string, "Realm named in the WWW-Authenticate header of a 401."),
    ])

    static let basicAuth = PluginSchema("basic-auth", fields: [
        PluginField("anonymous", .string,
                    "Consumer (id or username) a request without valid credentials is taken to be from, instead of a 401."),
        PluginField("hide_credentials", .boolean, required: true, default: false,
                    "Remove the Authorization header before the request goes upstream."),
        PluginField("realm", .string, required: true, default: "service", "Realm named in the WWW-Authenticate header of a 401."),
    ])

    static let jwt = PluginSchema("jwt", fields: [
        .strings("uri_param_names", default: ["jwt"], "Query arguments a token may be passed in."),
        .strings("cookie_names", default: [], "Cookies a token may be passed in."),
        .strings("header_names", default: ["authorization"], check: PluginChecks.headerName,
                 "Headers a token may be passed in (`Bearer <token>` or the bare token)."),
        PluginField("key_claim_name", .string, required: true, default: "iss", between: 1...Double.infinity,
                    "Claim (or header parameter) whose value names the JWT credential that verifies the token."),
        PluginField("secret_is_base64", .boolean, required: true, default: false,
                    "The credentials' HMAC secrets are base64-encoded."),
        .strings("claims_to_verify", oneOf: ["exp", "nbf"], "Registered claims that must be present and currently valid."),
        PluginField("maximum_expiration", .number, default: 0, between: 0...31_536_000,
                    "Refuse tokens that expire more than this many seconds ahead (0: no limit). Needs exp in claims_to_verify."),
        PluginField("anonymous", .string,
                    "Consumer (id or username) a request without a valid token is taken to be from, instead of a 401."),
        PluginField("run_on_preflight", .boolean, required: true, default: true,
                    "Authenticate CORS preflight (OPTIONS) requests too."),
        PluginField("realm", .string, "Realm named in the WWW-Authenticate header of a 401."),
        PluginField("jwks_uri", .string, check: PluginChecks.httpURL,
                    "JWKS document (https URL) of an identity provider: tokens whose `kid` is in it verify without a stored credential; unknown `kid`s trigger a refresh, at most once per jwks_refresh_interval."),
        PluginField("jwks_refresh_interval", .integer, required: true, default: 60, between: 1...86_400,
                    "Shortest time in seconds between two fetches of the JWKS document caused by unknown key ids."),
        PluginField("jwks_cache_ttl", .integer, required: true, default: 3600, between: 1...604_800,
                    "Seconds a fetched JWKS document is used before it is fetched again."),
    ], rules: [
        { config in
            guard case .number(let limit)? = config["maximum_expiration"], limit > 0 else { return nil }
            let claims = config["claims_to_verify"]
            return claims?.arrayContains("exp") == true ? nil
                : Problem([.key("claims_to_verify")], "a list containing \"exp\" when maximum_expiration is set")
        },
    ])

    static let oauth2Introspection = PluginSchema("oauth2-introspection", fields: [
        PluginField("introspection_url", .string, required: true, check: PluginChecks.httpURL,
                    "RFC 7662 token introspection endpoint."),
        PluginField("authorization_value", .string, required: true, between: 1...Double.infinity,
                    "Authorization header value Konnect presents to the endpoint, such as `Basic <base64 client:secret>`."),
        PluginField("token_type_hint", .string, "token_type_hint sent with each introspection request."),
        PluginField("ttl", .number, required: true, default: 30, between: 0...Double.infinity,
                    "Seconds an active result is cached (never past the token's exp); 0 uses exp alone."),
        PluginField("timeout", .integer, required: true, default: 10_000, between: 1...600_000,
                    "Milliseconds to wait for the introspection endpoint."),
        PluginField("hide_credentials", .boolean, required: true, default: false,
                    "Remove the Authorization header before the request goes upstream."),
        PluginField("run_on_preflight", .boolean, required: true, default: true,
                    "Introspect CORS preflight (OPTIONS) requests too."),
        PluginField("anonymous", .string,
                    "Consumer (id or username) a request without an active token is taken to be from, instead of a 401."),
        PluginField("consumer_by", .string, required: true, default: "username", oneOf: ["username", "client_id"],
                    "Which consumer field the token's `username` (or `sub`) or `client_id` is matched against."),
        PluginField("custom_introspection_headers", .map(.element(.string)), default: .object([:]),
                    "Extra headers sent to the introspection endpoint."),
    ])
}
