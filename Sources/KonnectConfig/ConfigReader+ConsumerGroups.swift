import Yams

/// A consumer's place in a consumer group, as read, until both ids are settled.
struct MembershipDraft {
    var path: String
    var location: TextLocation
    var givenID: Located<String>?
    var group: Reference?
    var consumer: Reference?
    /// Index into the consumer drafts when written in a consumer's `groups`.
    var parentConsumer: Int?
}

extension ConfigReader {
    static let consumerGroupSchema = FieldSchema(noun: "a consumer group", fields: ["id", "name", "tags", "plugins"])
    static let membershipSchema = FieldSchema(
        noun: "a consumer group membership", fields: ["id", "consumer_group", "consumer"]
    )

    func readConsumerGroup(_ node: Node, at path: String, index: Int) {
        guard let fields = fields(node, at: path, schema: Self.consumerGroupSchema) else { return }
        let name = requiredString(fields, "name", expected: "a group name of printable characters",
                                  where: { !$0.isEmpty && ConfigSyntax.isPrintable($0) })
        let group = ConsumerGroup(id: "", name: name?.value ?? "", tags: tags(fields))
        addDraft(group.entity, fields, index: index, name: name, parent: nil) { _ in "consumer_group:name:\(group.name)" }
        // Plugins nested in a group apply to its consumers.
        let groupIndex = drafts[.consumerGroups, default: []].count - 1
        eachEntity(in: fields, "plugins", noun: "plugins") { readPlugin($0, at: $1, index: $2, parent: .consumerGroup(groupIndex)) }
    }

    /// A top-level `consumer_group_consumers` entry (what `GET /config` writes):
    /// `{consumer_group: …, consumer: …}`.
    func readMembership(_ node: Node, at path: String, index: Int) {
        guard let fields = fields(node, at: path, schema: Self.membershipSchema) else { return }
        var draft = MembershipDraft(path: path, location: fields.location, givenID: givenID(fields))
        draft.group = reference(fields, "consumer_group", kind: "a consumer group")
        draft.consumer = reference(fields, "consumer", kind: "a consumer")
        for key in ["consumer_group", "consumer"] where fields[key] == nil {
            reportMissing(key, in: fields, expected: "the \(key == "consumer" ? "consumer" : "consumer group") of the membership")
        }
        memberships.append(draft)
    }

    /// A consumer's `groups` (decK's form): each a group's name or id, or `{name: …}` / `{id: …}`.
    func readGroups(of consumer: Int, in fields: Fields) {
        guard let node = fields["groups"] else { return }
        let path = fields.path("groups")
        guard let nodes = list(node, at: path, expected: "a list of consumer groups (names, or maps with a name)") else { return }
        for (index, element) in nodes.enumerated() {
            let elementPath = Self.path(path, index: index)
            guard let group = reference(element, at: elementPath, kind: "a consumer group") else { continue }
            memberships.append(MembershipDraft(path: elementPath, location: TextLocation(element), group: group,
                                               parentConsumer: consumer))
        }
    }

    /// Settles each membership's group and consumer, and its id; a consumer in the same group
    /// twice is an issue.
    func resolveMemberships(groups: EntityIndex, consumers consumerIndex: EntityIndex) -> [ConsumerGroupMembership] {
        let groupIDs = drafts[.consumerGroups, default: []].map(\.entity.id)
        var seen: [String: String] = [:]
        var ids: [String: String] = [:]
        var result: [ConsumerGroupMembership] = []
        for draft in memberships {
            let consumer = scope(implied: draft.parentConsumer, reference: draft.consumer, in: consumerIndex) {
                self.consumers[$0].info.path
            }
            let group = draft.group.flatMap { lookUp($0, in: groups) }
            guard let consumer, let group else { continue }
            let membership = ConsumerGroupMembership(
                id: draft.givenID?.value ?? "", groupID: groupIDs[group], consumerID: consumers[consumer].consumer.id
            )
            let pair = "\(membership.groupID) \(membership.consumerID)"
            if let first = seen[pair] {
                report(draft.group?.path ?? draft.path, draft.location, value: draft.group?.written,
                       expected: "a group the consumer is not already in (\(first) has it)")
                continue
            }
            seen[pair] = draft.path
            var settled = membership
            if settled.id.isEmpty {
                settled.id = ConsumerGroupMembership.derivedID(group: membership.groupID, consumer: membership.consumerID)
            }
            if let first = ids[settled.id] {
                report(draft.givenID?.path ?? draft.path, draft.givenID?.location ?? draft.location, value: draft.givenID?.value,
                       expected: "an id not used by another membership (\(first) has it)")
                continue
            }
            ids[settled.id] = draft.path
            result.append(settled)
        }
        return result
    }
}
