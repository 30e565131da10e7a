import KonnectConfig

/// Consumer group membership, as Kong's Admin API manages it: from the group's side
/// (`/consumer_groups/{g}/consumers`) and from the consumer's (`/consumers/{c}/consumer_groups`).
extension ControlPlane {
    /// The group `key` names (id or name), or Kong's 404.
    public func consumerGroup(_ key: String) throws(EntityError) -> Record {
        guard let group = lookUp(.consumerGroups, .idOrName(key)) else {
            throw EntityError(status: 404, message: "Group '\(key)' not found")
        }
        return group
    }

    /// The consumer `key` names (id or username), or Kong's 404.
    public func consumer(_ key: String) throws(EntityError) -> Record {
        guard let consumer = lookUp(.consumers, .idOrName(key)) else {
            throw EntityError(status: 404, message: "Consumer '\(key)' not found")
        }
        return consumer
    }

    /// The consumers in a group, in the order they were added.
    public func consumers(inGroup groupID: String) -> [Record] {
        current.consumerGroupConsumers.filter { $0.groupID == groupID }.compactMap { record(.consumers, $0.consumerID) }
    }

    /// The plugins scoped to a group, in the order they were created.
    public func plugins(ofGroup groupID: String) -> [Record] {
        current.plugins.filter { $0.consumerGroupID == groupID }.compactMap { record(.plugins, $0.id) }
    }

    /// The groups a consumer is in, by name.
    public func groups(ofConsumer consumerID: String) -> [Record] {
        current.groups(of: consumerID).compactMap { record(.consumerGroups, $0.id) }
    }

    /// Whether the consumer is in the group.
    public func isMember(group groupID: String, consumer consumerID: String) -> Bool {
        current.consumerGroupConsumers.contains { $0.groupID == groupID && $0.consumerID == consumerID }
    }

    /// Puts every consumer named in `consumers` into every group named in `groups`, all or
    /// nothing: a name that leads nowhere is a 404, a consumer already in one of the groups a 409.
    public func addMembers(_ consumers: [String], to groups: [String]) async throws(EntityError) -> (groups: [Record], consumers: [Record]) {
        try requireDatabase(.consumerGroupConsumers, verb: "create")
        let groupRecords = try groups.map { key throws(EntityError) in try consumerGroup(key) }
        let consumerRecords = try consumers.map { key throws(EntityError) in try consumer(key) }
        var added: [Record] = []
        let time = now()
        for (groupKey, group) in zip(groups, groupRecords) {
            for (consumerKey, consumer) in zip(consumers, consumerRecords) {
                let id = ConsumerGroupMembership.derivedID(group: group.entity.id, consumer: consumer.entity.id)
                if isMember(group: group.entity.id, consumer: consumer.entity.id) || added.contains(where: { $0.entity.id == id }) {
                    throw EntityError(status: 409, message: "Consumer '\(consumerKey)' already in group '\(groupKey)'")
                }
                let membership = ConsumerGroupMembership(id: id, groupID: group.entity.id, consumerID: consumer.entity.id)
                added.append(Record(entity: membership.entity, createdAt: time, updatedAt: time))
            }
        }
        try await commit(added.map { .put(Self.stored($0)) }) {
            for record in added { remember(record) }
        }
        return (groupRecords, consumerRecords)
    }

    /// Takes consumers out of groups: one consumer out of one group, or, with nil for either,
    /// out of all of them. Returns how many memberships went.
    @discardableResult
    public func removeMembers(group groupID: String?, consumer consumerID: String?) async throws(EntityError) -> Int {
        try requireDatabase(.consumerGroupConsumers, verb: "delete")
        let removed = current.consumerGroupConsumers.filter { membership in
            (groupID == nil || membership.groupID == groupID) && (consumerID == nil || membership.consumerID == consumerID)
        }.map(\.id)
        guard !removed.isEmpty else { return 0 }
        try await commit(removed.map { .delete(.consumerGroupConsumers, id: $0) }) {
            for id in removed { forget(.consumerGroupConsumers, id: id) }
        }
        return removed.count
    }
}
