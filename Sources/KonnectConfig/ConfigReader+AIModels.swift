import Yams

extension ConfigReader {
    static let aiModelSchema = FieldSchema(
        noun: "an AI model", fields: ["id"] + PluginSchema.aiModelFields.map(\.name) + ["tags"]
    )

    /// Reads an AI model (`ai_models`). Its fields are checked and completed by the schema of an
    /// element of ai-gateway's `config.models`, so a model is accepted or refused the same way in
    /// either place; each problem is reported at its field (`ai_models[0].deployments[1].provider`).
    func readAIModel(_ node: Node, at path: String, index: Int) {
        guard let fields = fields(node, at: path, schema: Self.aiModelSchema) else { return }
        var given: [String: JSONValue] = [:]
        for field in PluginSchema.aiModelFields {
            if let value = fields[field.name] { given[field.name] = json(value, at: fields.path(field.name)) }
        }
        let (model, problems) = PluginSchema.normalizeAIModel(.object(given))
        for problem in problems {
            let problemPath = problem.dotted(from: path)
            if let found = Self.writtenNode(at: problem.path[...], in: node) {
                report(problemPath, node: found, expected: problem.expected)
            } else {
                // A required field left out: where its map begins.
                report(problemPath, TextLocation(Self.node(at: problem.path[...], in: node)), expected: problem.expected)
            }
        }
        var name: Located<String>?
        if let nameNode = fields["name"], case .string(let text)? = model["name"], !text.isEmpty,
           !problems.contains(where: { $0.path == [.key("name")] }) {
            name = Located(value: text, path: fields.path("name"), location: TextLocation(nameNode))
        }
        var deployments: [JSONValue] = []
        if case .array(let items)? = model["deployments"] { deployments = items }
        var cooldown = 30.0
        if case .number(let seconds)? = model["cooldown"] { cooldown = seconds }
        let aiModel = AIGatewayModel(id: "", name: name?.value ?? "", routing: model["routing"]?.string ?? "fallback",
                                     cooldown: cooldown, deployments: deployments, tags: tags(fields))
        addDraft(aiModel.entity, fields, index: index, name: name, parent: nil) { _ in "ai_model:name:\(aiModel.name)" }
    }

    /// The node written at a schema path below `node`; nil when the path leads to nothing (a
    /// field left out) or to `null`.
    private static func writtenNode(at path: ArraySlice<PluginSchema.PathStep>, in node: Node) -> Node? {
        guard let step = path.first else { return node.isNullValue ? nil : node }
        switch (step, node) {
        case (.key(let key), .mapping(let mapping)):
            return mapping.first { $0.key.string == key }.flatMap { writtenNode(at: path.dropFirst(), in: $0.value) }
        case (.index(let index), .sequence(let sequence)):
            return index < sequence.count ? writtenNode(at: path.dropFirst(), in: sequence[index]) : nil
        default:
            return nil
        }
    }
}
