/// A model the AI gateway serves, declared once for every `ai-gateway` plugin (the `ai_models`
/// entity, at `/ai-models`): the name clients ask for, how one of its deployments is chosen,
/// and the deployments. Its fields are exactly those of an element of ai-gateway's
/// `config.models`, checked and completed by the same schema (`PluginSchema.aiModelFields`).
public struct AIGatewayModel: Sendable, Hashable {
    public var id: String
    /// What clients send as `model`; unique among AI models.
    public var name: String
    /// `fallback`, `weighted`, `least-latency` or `lowest-cost`.
    public var routing: String
    /// Seconds a deployment that failed is passed over.
    public var cooldown: Double
    /// Where the model is served, in order of preference: each deployment's fields as the schema
    /// gives them (every field present, defaults filled in, `null` where unset).
    public var deployments: [JSONValue]
    public var tags: [String]

    public init(id: String, name: String, routing: String = "fallback", cooldown: Double = 30,
                deployments: [JSONValue] = [], tags: [String] = []) {
        self.id = id
        self.name = name
        self.routing = routing
        self.cooldown = cooldown
        self.deployments = deployments
        self.tags = tags
    }

    /// The model as an element of ai-gateway's `config.models`.
    public var modelConfig: JSONValue {
        .object([
            "name": .string(name), "routing": .string(routing), "cooldown": .number(cooldown),
            "deployments": .array(deployments),
        ])
    }
}

extension AIGatewayModel: EntityValue {
    public static var kind: EntityKind { .aiModels }
    public static var list: WritableKeyPath<Configuration, [AIGatewayModel]> { \.aiModels }
    public var entity: Entity { .aiModel(self) }
    public var uniqueName: String? { name }

    public var jsonFields: [String: JSONValue] {
        guard case .object(var fields) = modelConfig else { return [:] }
        fields["tags"] = EntityField.list(tags)
        return fields
    }
}
