/// A named set of consumers (Kong's consumer group). rate-limiting can count each group's
/// requests together (`limit_by: consumer-group`).
public struct ConsumerGroup: Sendable, Hashable {
    public var id: String
    public var name: String
    public var tags: [String]

    public init(id: String, name: String, tags: [String] = []) {
        self.id = id
        self.name = name
        self.tags = tags
    }
}

/// One consumer in one consumer group (Kong's `consumer_group_consumers`). It goes with either.
public struct ConsumerGroupMembership: Sendable, Hashable {
    public var id: String
    public var groupID: String
    public var consumerID: String

    public init(id: String, groupID: String, consumerID: String) {
        self.id = id
        self.groupID = groupID
        self.consumerID = consumerID
    }

    /// The id a membership gets when none is given: one per pair, so adding a consumer to a
    /// group twice names the same membership.
    public static func derivedID(group: String, consumer: String) -> String {
        NameBasedUUID.make(name: "consumer_group_consumer:\(group):\(consumer)")
    }
}

extension ConsumerGroup: EntityValue {
    public static var kind: EntityKind { .consumerGroups }
    public static var list: WritableKeyPath<Configuration, [ConsumerGroup]> { \.consumerGroups }
    public var entity: Entity { .consumerGroup(self) }
    public var uniqueName: String? { name }

    public var jsonFields: [String: JSONValue] {
        ["name": .string(name), "tags": EntityField.list(tags)]
    }
}

extension ConsumerGroupMembership: EntityValue {
    public static var kind: EntityKind { .consumerGroupConsumers }
    public static var list: WritableKeyPath<Configuration, [ConsumerGroupMembership]> { \.consumerGroupConsumers }
    public var entity: Entity { .consumerGroupMembership(self) }
    public var tags: [String] { [] }
    public var references: [EntityReferenceField: String] { [.consumerGroup: groupID, .consumer: consumerID] }

    public mutating func setReferences(_ ids: [EntityReferenceField: String]) {
        groupID = ids[.consumerGroup] ?? ""
        consumerID = ids[.consumer] ?? ""
    }

    public var jsonFields: [String: JSONValue] {
        ["consumer_group": EntityField.reference(groupID), "consumer": EntityField.reference(consumerID)]
    }
}

extension Configuration {
    /// The consumer groups `consumer` is in, by name.
    public func groups(of consumerID: String) -> [ConsumerGroup] {
        let ids = Set(consumerGroupConsumers.filter { $0.consumerID == consumerID }.map(\.groupID))
        return consumerGroups.filter { ids.contains($0.id) }.sorted { $0.name < $1.name }
    }

    /// The consumers in `group`, in the order they were added.
    public func consumers(in groupID: String) -> [Consumer] {
        let ids = consumerGroupConsumers.filter { $0.groupID == groupID }.map(\.consumerID)
        let byID = Dictionary(consumers.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return ids.compactMap { byID[$0] }
    }
}
