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
    /// are stored but do nothing yet). A configuration it cannot use gives a `MisconfiguredPlugin`,
    /// which answers 500: an authentication plugin that cannot run must not let requests through.
    public static func make(_ plugin: Plugin, credentials: CredentialIndex) -> (any AccessPlugin)? {
        do throws(PluginConfigProblem) {
            switch plugin.name {
            case "key-auth": return try KeyAuthPlugin(config: plugin.config, credentials: credentials)
            case "acl": return try ACLPlugin(config: plugin.config, credentials: credentials)
            default: return nil
            }
        } catch {
            return MisconfiguredPlugin(name: plugin.name, pluginID: plugin.id, problem: error.description)
        }
    }
}

/// What is wrong with a plugin's configuration.
struct PluginConfigProblem: Error, CustomStringConvertible {
    var description: String
}

/// Stands in for a plugin whose configuration cannot be used: every request is refused. The
/// operator learns why from the log (`ConfigSnapshot.pluginProblems`); the client only gets 500.
public struct MisconfiguredPlugin: AccessPlugin {
    public let name: String
    public let pluginID: String
    /// What is wrong, naming the field.
    public let problem: String

    public func access(_ context: AccessContext) -> AccessResult {
        .respond(status: 500, message: "An unexpected error occurred (the \(name) plugin is misconfigured)")
    }
}

/// Reading plugin configuration values with their defaults; a value of the wrong type is a
/// problem naming the field.
extension JSONValue {
    func bool(_ key: String, default value: Bool) throws(PluginConfigProblem) -> Bool {
        switch self[key] {
        case nil, .null?: return value
        case .bool(let flag)?: return flag
        default: throw PluginConfigProblem(description: "config.\(key) must be true or false")
        }
    }

    func strings(_ key: String) throws(PluginConfigProblem) -> [String]? {
        switch self[key] {
        case nil, .null?: return nil
        case .array(let items)?:
            let texts = items.compactMap(\.string)
            if texts.count == items.count { return texts }
        default: break
        }
        throw PluginConfigProblem(description: "config.\(key) must be a list of strings")
    }

    func optionalString(_ key: String) throws(PluginConfigProblem) -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text.isEmpty ? nil : text
        default: throw PluginConfigProblem(description: "config.\(key) must be a string")
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

    init(config: JSONValue, credentials: CredentialIndex) throws(PluginConfigProblem) {
        keyNames = try config.strings("key_names") ?? ["apikey"]
        guard !keyNames.isEmpty else { throw PluginConfigProblem(description: "config.key_names must name at least one key") }
        headerNames = keyNames.map { $0.lowercased() }
        keyInHeader = try config.bool("key_in_header", default: true)
        keyInQuery = try config.bool("key_in_query", default: true)
        hideCredentials = try config.bool("hide_credentials", default: false)
        runOnPreflight = try config.bool("run_on_preflight", default: true)
        self.credentials = credentials
        if let name = try config.optionalString("anonymous") {
            guard let consumer = credentials.consumer(name) else {
                throw PluginConfigProblem(description: "config.anonymous names no consumer (\(name))")
            }
            anonymous = Identity(consumer: consumer, credentialID: nil, anonymous: true)
        } else {
            anonymous = nil
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

    init(config: JSONValue, credentials: CredentialIndex) throws(PluginConfigProblem) {
        let allow = try config.strings("allow"), deny = try config.strings("deny")
        guard (allow == nil) != (deny == nil) else {
            throw PluginConfigProblem(description: "config needs exactly one of allow and deny")
        }
        self.allow = allow.map(Set.init)
        self.deny = deny.map(Set.init)
        hideGroupsHeader = try config.bool("hide_groups_header", default: false)
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
