import KonnectConfig

/// A plugin that takes part in the access phase: it runs after the route is matched and before
/// the upstream is chosen, and either lets the request proceed or answers it.
public protocol AccessPlugin: Sendable {
    var name: String { get }
    func access(_ context: AccessContext) -> AccessResult
}

/// The access plugins of a configuration, built from plugin entities.
public enum AccessPlugins {
    /// The plugin `plugin` configures, when Konnect implements it (nil for the others, which
    /// are stored but do nothing yet). A configuration it cannot use gives a plugin that answers
    /// 500: an authentication plugin that cannot run must not let requests through.
    public static func make(_ plugin: Plugin, credentials: CredentialIndex) -> (any AccessPlugin)? {
        let made: (any AccessPlugin)?
        switch plugin.name {
        case "key-auth": made = KeyAuthPlugin(config: plugin.config, credentials: credentials)
        case "acl": made = ACLPlugin(config: plugin.config, credentials: credentials)
        default: return nil
        }
        return made ?? MisconfiguredPlugin(name: plugin.name)
    }
}

/// Stands in for a plugin whose configuration cannot be used: every request is refused.
struct MisconfiguredPlugin: AccessPlugin {
    let name: String

    func access(_ context: AccessContext) -> AccessResult {
        .respond(status: 500, message: "An unexpected error occurred (the \(name) plugin is misconfigured)")
    }
}

/// Reading plugin configuration values with their defaults.
extension JSONValue {
    func bool(_ key: String, default value: Bool) -> Bool? {
        switch self[key] {
        case nil, .null?: value
        case .bool(let flag)?: flag
        default: nil
        }
    }

    func strings(_ key: String, default value: [String]?) -> [String]?? {
        switch self[key] {
        case nil, .null?: return .some(value)
        case .array(let items)?:
            let texts = items.compactMap(\.string)
            return texts.count == items.count ? .some(texts) : nil
        default: return nil
        }
    }

    func optionalString(_ key: String) -> String?? {
        switch self[key] {
        case nil, .null?: .some(nil)
        case .string(let text)?: .some(text.isEmpty ? nil : text)
        default: nil
        }
    }
}

/// Identifies the consumer by an API key in a header or query argument (Kong's key-auth).
struct KeyAuthPlugin: AccessPlugin {
    let name = "key-auth"
    let keyNames: [String]
    /// `keyNames` lower-cased, as header names are compared.
    let headerNames: [String]
    let keyInHeader: Bool
    let keyInQuery: Bool
    let hideCredentials: Bool
    let runOnPreflight: Bool
    /// Who a request is taken to be from when it has no valid key, instead of answering 401.
    let anonymous: Identity?
    let credentials: CredentialIndex

    init?(config: JSONValue, credentials: CredentialIndex) {
        guard let keyNames = config.strings("key_names", default: ["apikey"]) ?? nil, !keyNames.isEmpty,
              let keyInHeader = config.bool("key_in_header", default: true),
              let keyInQuery = config.bool("key_in_query", default: true),
              let hideCredentials = config.bool("hide_credentials", default: false),
              let runOnPreflight = config.bool("run_on_preflight", default: true),
              let anonymous = config.optionalString("anonymous")
        else { return nil }
        self.keyNames = keyNames
        headerNames = keyNames.map { $0.lowercased() }
        self.keyInHeader = keyInHeader
        self.keyInQuery = keyInQuery
        self.hideCredentials = hideCredentials
        self.runOnPreflight = runOnPreflight
        self.credentials = credentials
        if let anonymous {
            guard let consumer = credentials.consumer(anonymous) else { return nil }
            self.anonymous = Identity(consumer: consumer, credentialID: nil, anonymous: true)
        } else {
            self.anonymous = nil
        }
    }

    func access(_ context: AccessContext) -> AccessResult {
        if !runOnPreflight, context.method == "OPTIONS" { return .proceed }
        // An earlier authentication plugin identified the consumer already.
        if context.consumer != nil, !context.isAnonymous { return .proceed }
        var found: String?
        for (name, lowercased) in zip(keyNames, headerNames) {
            var value = keyInHeader ? context.head.value(named: lowercased) : .none
            if value == .none, keyInQuery {
                let values = context.queryValues(name)
                value = values.isEmpty ? .none : values.count == 1 ? .one(values[0]) : .many
            }
            // Two keys for one name: refuse rather than guess which one counts.
            guard case .one(let key) = value else {
                if value == .many { return refuse("Duplicate API key found", context) }
                continue
            }
            found = key
            if hideCredentials {
                context.removeHeader(lowercased)
                context.removeQueryArgument(name)
            }
            break
        }
        guard let key = found else { return refuse("No API key found in request", context) }
        guard let identity = credentials.keyAuth(key) else { return refuse("Unauthorized", context) }
        context.identify(identity)
        return .proceed
    }

    /// 401, or the anonymous consumer when there is one.
    private func refuse(_ message: String, _ context: AccessContext) -> AccessResult {
        if let anonymous {
            context.identify(anonymous)
            return .proceed
        }
        return .respond(status: 401, message: message, headers: [.init("WWW-Authenticate", "Key realm=\"konnect\"")])
    }
}

/// Lets consumers in by their ACL groups (Kong's acl): `allow` lists the groups that may pass,
/// or `deny` those that may not.
struct ACLPlugin: AccessPlugin {
    let name = "acl"
    let allow: Set<String>?
    let deny: Set<String>?
    let hideGroupsHeader: Bool
    let credentials: CredentialIndex

    init?(config: JSONValue, credentials: CredentialIndex) {
        guard let allow = config.strings("allow", default: nil), let deny = config.strings("deny", default: nil),
              (allow == nil) != (deny == nil),
              let hideGroupsHeader = config.bool("hide_groups_header", default: false)
        else { return nil }
        self.allow = allow.map(Set.init)
        self.deny = deny.map(Set.init)
        self.hideGroupsHeader = hideGroupsHeader
        self.credentials = credentials
    }

    func access(_ context: AccessContext) -> AccessResult {
        guard let consumer = context.consumer else {
            return .respond(status: 401, message: "Unauthorized")
        }
        let groups = credentials.groups(of: consumer.id)
        let names = groups?.names ?? []
        let permitted = if let allow { names.contains(where: allow.contains) } else { !names.contains(where: deny!.contains) }
        guard permitted else { return .respond(status: 403, message: "You cannot consume this service") }
        if !hideGroupsHeader { context.groupsLine = groups?.headerLine }
        return .proceed
    }
}
