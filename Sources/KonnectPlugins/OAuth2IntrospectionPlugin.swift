import Crypto
import Foundation
import KonnectConfig
import NIOConcurrencyHelpers
import NIOCore

/// Validates opaque bearer tokens with an RFC 7662 introspection endpoint (Kong's
/// oauth2-introspection). Active results are cached for `ttl` seconds and never past the
/// token's `exp`; the consumer is the one whose username is the token's `username` (or whose
/// custom_id is its `client_id`, with `consumer_by: client_id`).
final class OAuth2IntrospectionPlugin: ProxyPlugin {
    let name = "oauth2-introspection"
    var phases: PluginPhases { .access }
    let endpoint: URL
    let authorization: String
    let tokenTypeHint: String?
    let ttl: Double
    let timeout: Double
    let hideCredentials: Bool
    let runOnPreflight: Bool
    let byClientID: Bool
    let extraHeaders: [(String, String)]
    /// The anonymous consumer, or 401 with a Bearer challenge.
    let failure: AuthenticationFailure
    /// Consumers by username, or by custom_id with `consumer_by: client_id`.
    let consumers: [String: Identity]

    /// The challenge when a token was given but is not valid (RFC 6750).
    static let invalidToken = "Bearer realm=\"konnect\", error=\"invalid_token\""

    /// Headers describing the token that the upstream is sent (any a client sends are dropped).
    static let tokenHeaders = ["x-credential-scope", "x-credential-client-id", "x-credential-username",
                               "x-credential-sub", "x-credential-exp"]

    init(config: JSONValue, configuration: Configuration, credentials: CredentialIndex) throws(PluginConfigProblem) {
        guard let url = config.text("introspection_url").flatMap(URL.init(string:)) else {
            throw PluginConfigProblem(description: "config.introspection_url must be an http(s) URL")
        }
        endpoint = url
        authorization = config.text("authorization_value") ?? ""
        tokenTypeHint = config.text("token_type_hint")
        ttl = config.number("ttl") ?? 30
        timeout = (config.number("timeout") ?? 10_000) / 1000
        hideCredentials = config.flag("hide_credentials")
        runOnPreflight = config.flag("run_on_preflight")
        byClientID = config.text("consumer_by") == "client_id"
        if case .object(let headers)? = config["custom_introspection_headers"] {
            extraHeaders = headers.sorted { $0.key < $1.key }.compactMap { key, value in value.string.map { (key, $0) } }
        } else {
            extraHeaders = []
        }
        failure = AuthenticationFailure(challenge: "Bearer realm=\"konnect\"",
                                        anonymous: try config.anonymousIdentity(credentials))
        var consumers: [String: Identity] = [:]
        for consumer in configuration.consumers {
            if let key = byClientID ? consumer.customID : consumer.username {
                consumers[key] = credentials.identity(consumer, credentialID: nil)
            }
        }
        self.consumers = consumers
    }

    func access(_ context: PluginContext) -> AccessResult {
        if !runOnPreflight, context.method == "OPTIONS" { return .proceed }
        if context.isAuthenticated { return .proceed }
        for header in Self.tokenHeaders { context.removeHeader(header) }
        let token: String
        switch context.head.value(named: "authorization") {
        case .none: return failure.answer("Unauthorized", context)
        case .many: return failure.answer("Duplicate authorization header", context, challenge: Self.invalidToken)
        case .one(let value):
            let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].lowercased() == "bearer", parts[1].utf8.count <= 8192 else {
                return failure.answer("Invalid token", context, challenge: Self.invalidToken)
            }
            token = parts[1].trimmingCharacters(in: .whitespaces)
        }
        if hideCredentials { context.removeHeader("authorization") }
        let key = Self.cacheKey(token, endpoint: endpoint)
        if let cached = IntrospectionCache.shared.result(for: key) { return admit(cached, context) }

        let pending = PendingAccess()
        let loop = context.eventLoop
        let bound = NIOLoopBound((context, self), eventLoop: loop)
        let request = makeRequest(token)
        let ttl = ttl
        Task {
            let outcome = await Self.introspect(request)
            if case .answered(let fields) = outcome, fields["active"] == .bool(true) {
                IntrospectionCache.shared.remember(fields, for: key, ttl: ttl)
            }
            loop.execute {
                let (context, plugin) = bound.value
                switch outcome {
                case .answered(let fields): pending.complete(plugin.admit(fields, context))
                case .failed:
                    pending.complete(.respond(status: 502, message: "The token introspection endpoint could not be reached"))
                }
            }
        }
        return .wait(pending)
    }

    /// Lets an active token in and tells the upstream about it.
    private func admit(_ fields: [String: JSONValue], _ context: PluginContext) -> AccessResult {
        guard fields["active"] == .bool(true) else { return failure.answer("Invalid token", context, challenge: Self.invalidToken) }
        if case .number(let exp)? = fields["exp"], exp <= Date().timeIntervalSince1970 {
            return failure.answer("Invalid token", context, challenge: Self.invalidToken)
        }
        let who = byClientID ? fields["client_id"]?.string : (fields["username"]?.string ?? fields["sub"]?.string)
        if let who, let identity = consumers[who] { context.identify(identity) }
        let described: [(String, JSONValue?)] = [
            ("X-Credential-Scope", fields["scope"]), ("X-Credential-Client-ID", fields["client_id"]),
            ("X-Credential-Username", fields["username"]), ("X-Credential-Sub", fields["sub"]),
            ("X-Credential-Exp", fields["exp"]),
        ]
        for (name, value) in described {
            let text: String? = switch value {
            case .string(let text)?: text
            // As JSON writes it (`1700000000`, `1e+300`): the server's number may be anything.
            case .number?: value?.jsonText
            default: nil
            }
            if let text, AccessResult.Header.isSafe(text) { context.addUpstreamLine("\(name): \(text)\r\n") }
        }
        return .proceed
    }


    /// The introspection request for `token`: headers and form body.
    private func makeRequest(_ token: String) -> Request {
        var form = "token=" + FormEncoding.encode(token)
        if let tokenTypeHint { form += "&token_type_hint=" + FormEncoding.encode(tokenTypeHint) }
        let headers = [("Authorization", authorization), ("Content-Type", "application/x-www-form-urlencoded"),
                       ("Accept", "application/json")] + extraHeaders
        return Request(url: endpoint.absoluteString, headers: headers, form: form, timeout: timeout)
    }

    struct Request: Sendable {
        var url: String
        var headers: [(String, String)]
        var form: String
        var timeout: Double
    }

    enum Outcome: Sendable {
        case answered([String: JSONValue])
        case failed
    }

    /// Asks the endpoint; an answer that is not a JSON object counts as a failure.
    static func introspect(_ request: Request) async -> Outcome {
        let answer = await PluginHTTP.send(request.url, method: .POST, headers: request.headers, body: request.form,
                                           timeout: .milliseconds(Int64(request.timeout * 1000)), limit: 1 << 20)
        guard let answer, answer.status == 200, case .object(let fields)? = try? JSONValue.parse(answer.body) else {
            return .failed
        }
        return .answered(fields)
    }

    /// Tokens are cached by a hash, never as themselves.
    static func cacheKey(_ token: String, endpoint: URL) -> SHA256Digest {
        SHA256.hash(data: Array((endpoint.absoluteString + "\n" + token).utf8))
    }
}

/// Active introspection results, by token hash, until they expire.
final class IntrospectionCache: Sendable {
    static let shared = IntrospectionCache()
    static let limit = 100_000
    private let entries = NIOLockedValueBox<[SHA256Digest: (fields: [String: JSONValue], until: Double)]>([:])

    func result(for key: SHA256Digest, now: Double = Date().timeIntervalSince1970) -> [String: JSONValue]? {
        entries.withLockedValue { entries in
            guard let entry = entries[key] else { return nil }
            if entry.until <= now {
                entries[key] = nil
                return nil
            }
            return entry.fields
        }
    }

    func remember(_ fields: [String: JSONValue], for key: SHA256Digest, ttl: Double, now: Double = Date().timeIntervalSince1970) {
        var until = ttl > 0 ? now + ttl : .infinity
        if case .number(let exp)? = fields["exp"] { until = min(until, exp) }
        guard until > now, until < .infinity else { return }
        entries.withLockedValue { entries in
            if entries.count >= Self.limit { entries.removeAll() }
            entries[key] = (fields, until)
        }
    }
}
