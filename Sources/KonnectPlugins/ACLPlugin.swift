import KonnectConfig

/// Lets consumers in by their ACL groups (Kong's acl): `allow` lists the groups that may pass,
/// or `deny` those that may not (the schema makes sure exactly one is given).
struct ACLPlugin: ProxyPlugin {
    let name = "acl"
    var phases: PluginPhases { .access }
    let allow: Set<String>
    let deny: Set<String>
    let hideGroupsHeader: Bool

    init(config: JSONValue) {
        allow = Set(config.texts("allow"))
        deny = Set(config.texts("deny"))
        hideGroupsHeader = config.flag("hide_groups_header")
    }

    func access(_ context: PluginContext) -> AccessResult {
        guard let identity = context.identity else {
            return .respond(status: 401, message: "Unauthorized")
        }
        let groups = identity.groups
        let names = groups?.names ?? []
        let permitted = allow.isEmpty ? !names.contains(where: deny.contains) : names.contains(where: allow.contains)
        guard permitted else { return .respond(status: 403, message: "You cannot consume this service") }
        if !hideGroupsHeader, let line = groups?.headerLine { context.addUpstreamLine(line) }
        return .proceed
    }
}
