import KonnectConfig

/// Lets consumers in by their ACL groups (Kong's acl): `allow` lists the groups that may pass,
/// or `deny` those that may not (the schema makes sure exactly one is given).
final class ACLPlugin: ProxyPlugin {
    let name = "acl"
    var phases: PluginPhases { .access }
    let allow: GroupList
    let deny: GroupList
    let hideGroupsHeader: Bool

    init(config: JSONValue) {
        allow = GroupList(config.texts("allow"))
        deny = GroupList(config.texts("deny"))
        hideGroupsHeader = config.flag("hide_groups_header")
    }

    func access(_ context: PluginContext) -> AccessResult {
        guard let identity = context.identity else {
            return .respond(status: 401, message: "Unauthorized")
        }
        guard let groups = identity.groups else {
            return allow.isEmpty ? .proceed : .respond(status: 403, message: "You cannot consume this service")
        }
        let permitted = allow.isEmpty ? !deny.containsAny(groups.names) : allow.containsAny(groups.names)
        guard permitted else { return .respond(status: 403, message: "You cannot consume this service") }
        if !hideGroupsHeader, let line = groups.headerLine { context.addUpstreamLine(line) }
        return .proceed
    }

    /// Group names as configured. Lists are short, so they are searched in order, comparing
    /// strings without hashing them; a long one is also kept as a set.
    struct GroupList: Sendable {
        let names: [String]
        let set: Set<String>?

        init(_ names: [String]) {
            self.names = names
            set = names.count > 8 ? Set(names) : nil
        }

        var isEmpty: Bool { names.isEmpty }

        func containsAny(_ groups: [String]) -> Bool {
            if let set { return groups.contains(where: set.contains) }
            for group in groups where names.contains(group) { return true }
            return false
        }
    }
}
