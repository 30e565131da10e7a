import KonnectConfig
import NIOCore

/// Identifies the consumer by an API key in a header, a query argument or a body field (Kong's key-auth).
final class KeyAuthPlugin: ProxyPlugin {
    let name = "key-auth"
    var phases: PluginPhases { .access }
    let keyNames: [String]
    /// `keyNames` lower-cased, as header names are compared.
    let headerNames: [String]
    let keyInHeader: Bool
    let keyInQuery: Bool
    let keyInBody: Bool
    let hideCredentials: Bool
    let runOnPreflight: Bool
    /// The anonymous consumer, or 401 with the scheme's challenge.
    let failure: AuthenticationFailure
    let credentials: CredentialIndex

    init(config: JSONValue, credentials: CredentialIndex) throws(PluginConfigProblem) {
        keyNames = config.texts("key_names")
        headerNames = keyNames.map { $0.lowercased() }
        keyInHeader = config.flag("key_in_header")
        keyInQuery = config.flag("key_in_query")
        keyInBody = config.flag("key_in_body")
        hideCredentials = config.flag("hide_credentials")
        runOnPreflight = config.flag("run_on_preflight")
        self.credentials = credentials
        failure = AuthenticationFailure(challenge: "Key realm=\"\(config.text("realm") ?? "konnect")\"",
                                        anonymous: try config.anonymousIdentity(credentials))
    }

    func access(_ context: PluginContext) -> AccessResult {
        if !runOnPreflight, context.method == "OPTIONS" { return .proceed }
        // An earlier authentication plugin identified the consumer already.
        if context.isAuthenticated { return .proceed }
        var found: String?
        for index in keyNames.indices {
            let name = keyNames[index], lowercased = headerNames[index]
            var value = keyInHeader ? context.head.value(named: lowercased) : .none
            if value == .none, keyInQuery {
                let values = context.queryValues(name)
                value = values.isEmpty ? .none : values.count == 1 ? .one(values[0]) : .many
            }
            // Two keys for one name: refuse rather than guess which one counts.
            guard case .one(let key) = value else {
                if value == .many { return failure.answer("Duplicate API key found", context) }
                continue
            }
            found = key
            if hideCredentials {
                context.removeHeader(lowercased)
                context.removeQueryArgument(name)
            }
            break
        }
        if found == nil, keyInBody {
            // Headers and query came first; the body is read only when neither has a key.
            guard let body = context.requestBody else { return .readBody }
            switch keyInBody(body, context) {
            case .one(let key): found = key
            case .many: return failure.answer("Duplicate API key found", context)
            case .none: break
            }
        }
        guard let key = found else { return failure.answer("No API key found in request", context) }
        guard let identity = credentials.keyAuth(key) else { return failure.answer("Unauthorized", context) }
        context.identify(identity)
        return .proceed
    }

    /// The key among the body's arguments (the first key name present), removed from the body
    /// sent upstream with `hide_credentials`.
    private func keyInBody(_ body: ByteBuffer, _ context: PluginContext) -> HeaderValue {
        guard case .one(let contentType) = context.head.value(named: "content-type"),
              let arguments = RequestBodyArguments(body: body, contentType: contentType) else { return .none }
        for name in keyNames {
            let values = arguments.values(name)
            if values.isEmpty { continue }
            guard values.count == 1 else { return .many }
            if hideCredentials { context.replaceRequestBody(arguments.removing(name)) }
            return .one(values[0])
        }
        return .none
    }
}
