import HTTPTypes
import Hummingbird
import KonnectConfig
import KonnectStore

/// Kong's consumer group endpoints beyond the generic ones (`/consumer_groups` lists and
/// creates, `/consumer_groups/{g}` is put, patched and deleted like any entity):
///
/// - `GET /consumer_groups/{g}`: `{consumer_group, consumers, plugins}`; the group's plugins are
///   created and listed at `/consumer_groups/{g}/plugins` (a generic nested endpoint).
/// - `/consumer_groups/{g}/consumers`: GET lists, POST adds `consumer` (one, or a list),
///   DELETE empties the group; `/consumer_groups/{g}/consumers/{c}`: GET, DELETE.
/// - `/consumers/{c}/consumer_groups`: GET lists, POST adds to `group` (one, or a list),
///   DELETE takes the consumer out of all; `/consumers/{c}/consumer_groups/{g}`: GET, DELETE.
extension AdminAPI {
    /// The response for a consumer group path, or nil when `segments` is not one.
    func consumerGroups(_ segments: [String], request: Request) async throws -> Response? {
        let method = request.method
        switch (segments.count, segments.first, segments.count > 2 ? segments[2] : nil) {
        case (2, "consumer_groups", _) where method == .get:
            let group = try await control.consumerGroup(segments[1])
            let consumers = await control.consumers(inGroup: group.entity.id)
            let plugins = await control.plugins(ofGroup: group.entity.id)
            return Self.json(200, .object([
                "consumer_group": group.json, "consumers": .array(consumers.map(\.json)), "plugins": .array(plugins.map(\.json)),
            ]))
        case (3, "consumer_groups", "consumers"):
            let group = try await control.consumerGroup(segments[1])
            switch method {
            case .get:
                return Self.json(200, .object(["consumers": .array(await control.consumers(inGroup: group.entity.id).map(\.json))]))
            case .post:
                let keys = try await names(in: request, field: "consumer", noun: "a consumer's id or username")
                let added = try await control.addMembers(keys, to: [group.entity.id])
                return Self.json(201, .object(["consumer_group": group.json, "consumers": .array(added.consumers.map(\.json))]))
            case .delete:
                try await control.removeMembers(group: group.entity.id, consumer: nil)
                return Response(status: .noContent)
            default:
                return Self.methodNotAllowed
            }
        case (3, "consumers", "consumer_groups"):
            let consumer = try await control.consumer(segments[1])
            switch method {
            case .get:
                return Self.json(200, .object(["consumer_groups": .array(await control.groups(ofConsumer: consumer.entity.id).map(\.json))]))
            case .post:
                let keys = try await names(in: request, field: "group", noun: "a consumer group's id or name")
                let added = try await control.addMembers([consumer.entity.id], to: keys)
                return Self.json(201, .object(["consumer_groups": .array(added.groups.map(\.json)), "consumer": consumer.json]))
            case .delete:
                try await control.removeMembers(group: nil, consumer: consumer.entity.id)
                return Response(status: .noContent)
            default:
                return Self.methodNotAllowed
            }
        case (4, "consumer_groups", "consumers"), (4, "consumers", "consumer_groups"):
            let byGroup = segments[0] == "consumer_groups"
            let group = try await control.consumerGroup(byGroup ? segments[1] : segments[3])
            let consumer = try await control.consumer(byGroup ? segments[3] : segments[1])
            guard await control.isMember(group: group.entity.id, consumer: consumer.entity.id) else {
                return Self.json(404, .object([
                    "message": .string("Consumer '\(consumer.entity.id)' not found in Group '\(group.entity.id)'"),
                ]))
            }
            switch method {
            case .get:
                return Self.json(200, byGroup ? .object(["consumer": consumer.json]) : .object(["consumer_group": group.json]))
            case .delete:
                try await control.removeMembers(group: group.entity.id, consumer: consumer.entity.id)
                return Response(status: .noContent)
            default:
                return Self.methodNotAllowed
            }
        default:
            return nil
        }
    }

    /// `field` of the body: one name or id, or a list of them (`consumer=a` or
    /// `{"consumer": ["a", "b"]}`); Kong's 400 when missing.
    private func names(in request: Request, field: String, noun: String) async throws -> [String] {
        let body = try await body(of: request, fieldTypes: [field: "string"])
        switch body[field] {
        case .string(let name)?:
            return [name]
        case .array(let items)? where !items.isEmpty:
            let names = items.compactMap(\.string)
            guard names.count == items.count else { break }
            return names
        case nil, .null?:
            throw EntityError(status: 400, message: "must provide \(field)")
        default:
            break
        }
        throw EntityError.schemaViolation([ConfigIssue(path: field, expected: "\(noun), or a non-empty list of them")])
    }
}
