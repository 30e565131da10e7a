import KonnectConfig

/// Lets consumers in by their ACL groups (Kong's acl): `allow` lists the groups that may pass,
/// or `deny` those that may not (the schema makes sure exactly one is given).
struct ACLPlugin: ProxyPlugin {
    let name = "acl"
    var phases: PluginPhases { .access }
    let allow: Set<String>
    let deny: Set<String>
    let hideGroupsHeader: Bool
    let credentials: CredentialIndex

    init(config: JSONValue, credentials: CredentialIndex) {
        allow = Set(config.texts("allow"))
        deny = Set(config.texts("deny"))
        hideGroupsHeader = config.flag("hide_groups_header")
        self.credentials = credentials
    }

    func access(_ context: PluginContext) -> AccessResult {
        guard let consumer = context.consumer else {
            return .respond(status: 401, message: "Unauthorized")
        }
        let groups = credentials.groups(of: consumer.id)
        let names = groups?.names ?? []
        let permitted = allow.isEmpty ? !names.contains(where: deny.contains) : names.contains(where: allow.contains)
        guard permitted else { return .respond(status: 403, message: "You cannot consume this service") }
        if !hideGroupsHeader, let line = groups?.headerLine { context.addUpstreamLine(line) }
        return .proceed
    }
}
