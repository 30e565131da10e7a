import Yams

extension ConfigReader {
    static let pluginProtocols = ["grpc", "grpcs", "http", "https", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss"]

    static let pluginSchema = FieldSchema(
        noun: "a plugin",
        fields: ["id", "name", "config", "enabled", "service", "route", "consumer", "consumer_group", "protocols", "tags", "instance_name", "ordering"]
    )

    /// Reads a plugin; `parent` is the entity it is nested under, which scopes it.
    func readPlugin(_ node: Node, at path: String, index: Int, parent: PluginParent?) {
        guard let fields = fields(node, at: path, schema: Self.pluginSchema) else { return }
        var plugin = Plugin(id: "", name: "")
        var name: Located<String>?
        if let node = fields["name"] {
            if let text = string(node, at: fields.path("name"), expected: "a plugin name") {
                if KnownPlugins.names.contains(text) {
                    plugin.name = text
                    name = Located(value: text, path: fields.path("name"), location: TextLocation(node))
                } else {
                    let hint = Self.closest(to: text, among: KnownPlugins.names.sorted()).map { " (did you mean \"\($0)\"?)" } ?? ""
                    report(fields.path("name"), node: node, expected: "the name of a plugin Konnect knows\(hint)")
                }
            }
        } else {
            reportMissing("name", in: fields, expected: "a plugin name such as rate-limiting")
        }
        if let node = fields["config"] {
            if case .mapping = node {
                plugin.config = json(node, at: fields.path("config"))
            } else {
                report(fields.path("config"), node: node, expected: "a map of the plugin's settings")
            }
        }
        if let schema = PluginSchema.named(plugin.name) {
            checkConfig(&plugin, schema: schema, node: fields["config"], fields: fields)
        }
        if let node = fields["enabled"], let value = boolean(node, at: fields.path("enabled")) {
            plugin.enabled = value
        }
        if let node = fields["protocols"],
            let protocols = protocolList(node, at: fields.path("protocols"), options: Self.pluginProtocols), !protocols.isEmpty
        {
            plugin.protocols = protocols
        }
        if let node = fields["ordering"] {
            _ = mapEntries(node, at: fields.path("ordering"), expected: "a map with before and/or after")
        }
        plugin.tags = tags(fields)

        let info = DraftInfo(fields, index: index, givenID: givenID(fields), name: name)
        plugins.append(PluginDraft(
            plugin: plugin, info: info, instanceName: entityName(fields, "instance_name"),
            serviceReference: reference(fields, "service", kind: "a service"),
            routeReference: reference(fields, "route", kind: "a route"),
            consumerReference: reference(fields, "consumer", kind: "a consumer"),
            consumerGroupReference: reference(fields, "consumer_group", kind: "a consumer group"),
            parent: parent
        ))
    }

    /// Checks a plugin's config against its schema and fills in the defaults; each problem is
    /// reported at the field it concerns (`config.key_names[1]`).
    private func checkConfig(_ plugin: inout Plugin, schema: PluginSchema, node: Node?, fields: Fields) {
        if let node, case .mapping = node {} else if node != nil { return }  // reported above
        let (config, problems) = schema.normalize(plugin.config)
        plugin.config = config
        for problem in problems {
            let path = fields.path("config") + problem.dotted.dropFirst("config".count)
            if let node {
                report(path, node: Self.node(at: problem.path[...], in: node), expected: problem.expected)
            } else {
                report(path, fields.location, expected: problem.expected)
            }
        }
    }

    /// The node a schema path leads to below `node`, as far as it exists.
    static func node(at path: ArraySlice<PluginSchema.PathStep>, in node: Node) -> Node {
        guard let step = path.first else { return node }
        let child: Node?
        switch (step, node) {
        case (.key(let key), .mapping(let mapping)): child = mapping.first { $0.key.string == key }?.value
        case (.index(let index), .sequence(let sequence)): child = index < sequence.count ? sequence[index] : nil
        default: child = nil
        }
        return child.map { Self.node(at: path.dropFirst(), in: $0) } ?? node
    }
}
