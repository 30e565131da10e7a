import Foundation
import KonnectConfig
import NIOCore

/// Identifies the consumer by a signed JSON Web Token (Kong's jwt): the token's `iss` (or the
/// configured key claim) names a JWT credential, whose secret or public key must verify the
/// signature; `exp` and `nbf` are checked when asked. Keys may also come from an identity
/// provider's JWKS document, fetched and refreshed by `JWKSCache`: a credential's own `jwks_uri`
/// (its tokens verify only with those keys), or the plugin's `jwks_uri` for tokens no credential
/// with a key of its own claims (the consumer is then the credential named, if any).
final class JWTPlugin: ProxyPlugin {
    let name = "jwt"
    var phases: PluginPhases { .access }
    let uriParamNames: [String]
    let cookieNames: [String]
    let headerNames: [String]
    let keyClaimName: String
    let secretIsBase64: Bool
    let verifyExp: Bool
    let verifyNbf: Bool
    let maximumExpiration: Double
    let runOnPreflight: Bool
    /// The anonymous consumer, or 401 with the scheme's challenge.
    let failure: AuthenticationFailure
    /// The plugin's JWKS document, if any.
    let jwks: JWKSCache.Source?
    let jwksRefreshInterval: Double
    let jwksCacheTTL: Double
    let credentials: CredentialIndex

    init(config: JSONValue, credentials: CredentialIndex) throws(PluginConfigProblem) {
        uriParamNames = config.texts("uri_param_names")
        cookieNames = config.texts("cookie_names")
        headerNames = config.texts("header_names").map { $0.lowercased() }
        keyClaimName = config.text("key_claim_name") ?? "iss"
        secretIsBase64 = config.flag("secret_is_base64")
        let claims = config.texts("claims_to_verify")
        verifyExp = claims.contains("exp")
        verifyNbf = claims.contains("nbf")
        maximumExpiration = config.number("maximum_expiration") ?? 0
        runOnPreflight = config.flag("run_on_preflight")
        failure = AuthenticationFailure(challenge: "Bearer realm=\"\(config.text("realm") ?? "konnect")\"",
                                        anonymous: try config.anonymousIdentity(credentials))
        jwksRefreshInterval = config.number("jwks_refresh_interval") ?? 60
        jwksCacheTTL = config.number("jwks_cache_ttl") ?? 3600
        jwks = config.text("jwks_uri").map { [jwksRefreshInterval, jwksCacheTTL] in
            JWKSCache.Source(url: $0, refreshInterval: jwksRefreshInterval, cacheTTL: jwksCacheTTL)
        }
        self.credentials = credentials
    }

    func access(_ context: PluginContext) -> AccessResult {
        if !runOnPreflight, context.method == "OPTIONS" { return .proceed }
        if context.isAuthenticated { return .proceed }
        let text: String
        switch findToken(context) {
        case .none: return failure.answer("Unauthorized", context)
        case .many: return failure.answer("Multiple tokens provided", context)
        case .one(let found): text = found
        }
        let token: JWTToken
        do {
            token = try JWTToken(compact: text)
        } catch {
            return failure.answer("Bad token; \(error.description)", context)
        }
        let keyClaim = token.claims[keyClaimName]?.string ?? token.header[keyClaimName]?.string
        let credential = keyClaim.flatMap { credentials.jwt($0) }
        if let credential, let key = credential.key(base64Secret: secretIsBase64) {
            guard key.algorithm.rawValue == token.algorithm else { return failure.answer("Invalid algorithm", context) }
            guard key.verifies(token) else { return failure.answer("Invalid signature", context) }
            return accept(token, credential.identity, context)
        }
        // Verified by an identity provider's published keys: the credential's, else the plugin's.
        let source: JWKSCache.Source
        if let credential, let url = credential.jwksURI {
            guard credential.algorithm.rawValue == token.algorithm else { return failure.answer("Invalid algorithm", context) }
            source = JWKSCache.Source(url: url, refreshInterval: jwksRefreshInterval, cacheTTL: jwksCacheTTL)
        } else if let jwks {
            source = jwks
        } else {
            return failure.answer(keyClaim == nil ? "No mandatory '\(keyClaimName)' in claims" : "No credentials found for given '\(keyClaimName)'", context)
        }
        let identity = credential?.identity
        switch JWKSCache.shared.keys(for: source, keyID: token.keyID, algorithm: token.algorithm) {
        case .ready(let set):
            guard set.verifies(token) else { return failure.answer("Invalid signature", context) }
            return accept(token, identity, context)
        case .unavailable:
            return .respond(status: 503, message: "The signing keys of the token's issuer could not be fetched")
        case .fetching(let pending):
            let result = PendingAccess()
            let loop = context.eventLoop
            let bound = NIOLoopBound((context, self, token), eventLoop: loop)
            pending.whenFetched { set in
                loop.execute {
                    let (context, plugin, token) = bound.value
                    guard let set else {
                        result.complete(.respond(status: 503, message: "The signing keys of the token's issuer could not be fetched"))
                        return
                    }
                    result.complete(set.verifies(token) ? plugin.accept(token, identity, context)
                                                        : plugin.failure.answer("Invalid signature", context))
                }
            }
            return .wait(result)
        }
    }

    /// The token is authentic: checks its time claims and identifies the consumer.
    private func accept(_ token: JWTToken, _ identity: Identity?, _ context: PluginContext) -> AccessResult {
        let now = Date().timeIntervalSince1970
        if verifyExp {
            guard case .number(let exp)? = token.claims["exp"] else { return failure.answer("Token claim 'exp' must be a number", context) }
            if exp <= now { return failure.answer("Token expired", context) }
            if maximumExpiration > 0, exp - now > maximumExpiration {
                return failure.answer("Token expiration exceeds the maximum allowed", context)
            }
        }
        if verifyNbf {
            guard case .number(let nbf)? = token.claims["nbf"] else { return failure.answer("Token claim 'nbf' must be a number", context) }
            if nbf > now { return failure.answer("Token not valid yet", context) }
        }
        if let identity { context.identify(identity) }
        return .proceed
    }

    /// The token from the query, a cookie or a header; `.many` when more than one is given.
    private func findToken(_ context: PluginContext) -> HeaderValue {
        var found: [String] = []
        for name in uriParamNames { found += context.queryValues(name) }
        if !cookieNames.isEmpty {
            switch context.head.value(named: "cookie") {
            case .one(let cookies): found += Self.cookies(cookies, named: cookieNames)
            case .many:
                let all = context.head.allFields().filter { $0.name.lowercased() == "cookie" }.map { $0.value }
                for cookies in all { found += Self.cookies(cookies, named: cookieNames) }
            case .none: break
            }
        }
        for name in headerNames {
            switch context.head.value(named: name) {
            case .none: continue
            case .many: return .many
            case .one(let value):
                // `Bearer <token>`, or the bare token in a header of its own.
                let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
                if parts.count == 2, parts[0].lowercased() == "bearer" {
                    found.append(String(parts[1]).trimmingCharacters(in: .whitespaces))
                } else if parts.count == 1, name != "authorization" {
                    found.append(String(parts[0]))
                } else {
                    found.append(value)  // fails to parse as a token, and says so
                }
            }
        }
        let distinct = Set(found.filter { !$0.isEmpty })
        if distinct.count > 1 { return .many }
        return distinct.first.map(HeaderValue.one) ?? .none
    }

    static func cookies(_ header: String, named names: [String]) -> [String] {
        header.split(separator: ";").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, names.contains(parts[0].trimmingCharacters(in: .whitespaces)) else { return nil }
            return parts[1].trimmingCharacters(in: .whitespaces)
        }
    }

}
