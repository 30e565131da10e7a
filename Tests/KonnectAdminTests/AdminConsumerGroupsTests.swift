import Foundation
import KonnectAdmin
import KonnectConfig
import KonnectStore
import Testing

/// Consumer groups and their members through the Admin API, as Kong's endpoints shape them.
@Suite("Admin API: consumer groups")
struct AdminConsumerGroupsTests {
    /// The `field` of each object in a list.
    static func names(_ value: JSONValue?, _ field: String) -> [String] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap { $0[field]?.string }
    }

    @Test func membersAreAddedListedAndTakenOutFromEitherSide() async throws {
        try await AdminFixture().run { client in
            for name in ["alice", "bob", "carol"] {
                #expect(try await client.call(.post, "/consumers", json: "{\"username\": \"\(name)\"}").status == 201)
            }
            let gold = try await client.call(.post, "/consumer_groups", json: #"{"name": "gold", "tags": ["tier"]}"#)
            #expect(gold.status == 201)
            #expect(gold.body["name"] == .string("gold"))
            #expect(try await client.call(.post, "/consumer_groups", json: #"{"name": "gold"}"#).status == 409)
            #expect(try await client.call(.post, "/consumer_groups", json: "{}").body["fields"]?["name"] != nil)

            let added = try await client.call(.post, "/consumer_groups/gold/consumers", json: #"{"consumer": ["alice", "bob"]}"#)
            #expect(added.status == 201)
            #expect(added.body["consumer_group"]?["name"] == .string("gold"))
            #expect(Self.names(added.body["consumers"], "username") == ["alice", "bob"])
            let again = try await client.call(.post, "/consumer_groups/gold/consumers", form: "consumer=alice")
            #expect(again.status == 409)
            #expect(again.body["message"]?.string?.contains("already in group") == true)
            #expect(try await client.call(.post, "/consumer_groups/gold/consumers", json: "{}").status == 400)
            // All or nothing: one name that leads nowhere adds no one.
            let unknown = try await client.call(.post, "/consumer_groups/gold/consumers", json: #"{"consumer": ["carol", "nobody"]}"#)
            #expect(unknown.status == 404)
            #expect(unknown.body["message"] == .string("Consumer 'nobody' not found"))
            #expect(try await client.call(.get, "/consumer_groups/gold/consumers/carol").status == 404)
            #expect(try await client.call(.post, "/consumers/carol/consumer_groups", form: "group=silver").status == 404)

            #expect(try await client.call(.post, "/consumer_groups", json: #"{"name": "silver"}"#).status == 201)
            let joined = try await client.call(.post, "/consumers/carol/consumer_groups", form: "group[]=silver&group[]=gold")
            #expect(joined.status == 201)
            #expect(joined.body["consumer"]?["username"] == .string("carol"))
            #expect(Self.names(joined.body["consumer_groups"], "name") == ["silver", "gold"])

            let group = try await client.call(.get, "/consumer_groups/gold")
            #expect(group.body["consumer_group"]?["name"] == .string("gold"))
            #expect(Self.names(group.body["consumers"], "username") == ["alice", "bob", "carol"])
            // A consumer's groups come by name.
            #expect(Self.names(try await client.call(.get, "/consumers/carol/consumer_groups").body["consumer_groups"], "name") == ["gold", "silver"])
            #expect(try await client.call(.get, "/consumer_groups/gold/consumers/alice").body["consumer"]?["username"] == .string("alice"))
            #expect(try await client.call(.get, "/consumers/carol/consumer_groups/silver").body["consumer_group"]?["name"] == .string("silver"))

            #expect(try await client.call(.delete, "/consumers/alice/consumer_groups/gold").status == 204)
            #expect(try await client.call(.delete, "/consumers/alice/consumer_groups/gold").status == 404)
            #expect(try await client.call(.delete, "/consumers/bob").status == 204)
            let left = try await client.call(.get, "/consumer_groups/gold/consumers")
            #expect(Self.names(left.body["consumers"], "username") == ["carol"])
            // Deleting a group takes its members out of it, and only out of it.
            #expect(try await client.call(.delete, "/consumer_groups/silver").status == 204)
            #expect(Self.names(try await client.call(.get, "/consumers/carol/consumer_groups").body["consumer_groups"], "name") == ["gold"])
            #expect(try await client.call(.delete, "/consumer_groups/gold/consumers").status == 204)
            #expect(Self.names(try await client.call(.get, "/consumer_groups/gold").body["consumers"], "username") == [])
            // Memberships have no collection of their own, as in Kong.
            #expect(try await client.call(.get, "/consumer_group_consumers").status == 404)
        }
    }

    /// A group's plugins: created under it or naming it, listed with it, refused with a consumer
    /// too, and deleted with it.
    @Test func pluginsAreScopedToAGroup() async throws {
        try await AdminFixture().run { client in
            #expect(try await client.call(.post, "/consumers", json: #"{"username": "alice"}"#).status == 201)
            #expect(try await client.call(.post, "/consumer_groups", json: #"{"name": "gold"}"#).status == 201)
            let created = try await client.call(.post, "/consumer_groups/gold/plugins", json: #"{"name": "rate-limiting", "config": {"minute": 100}}"#)
            #expect(created.status == 201)
            let groupID = try #require(try await client.call(.get, "/consumer_groups/gold").body["consumer_group"]?["id"])
            #expect(created.body["consumer_group"]?["id"] == groupID)
            #expect(created.body["consumer"] == .null)
            let pluginID = try #require(created.body["id"]?.string)
            // One plugin of a name per group; another group, or the same name without a group, is fine.
            #expect(try await client.call(.post, "/consumer_groups/gold/plugins", json: #"{"name": "rate-limiting", "config": {"minute": 5}}"#).status == 409)
            #expect(try await client.call(.post, "/plugins", json: #"{"name": "rate-limiting", "config": {"minute": 5}}"#).status == 201)
            let both = try await client.call(.post, "/plugins", json: #"{"name": "cors", "consumer": "alice", "consumer_group": "gold"}"#)
            #expect(both.status == 400)
            #expect(both.body["fields"]?["consumer_group"] != nil)
            #expect(try await client.call(.post, "/plugins", json: #"{"name": "cors", "consumer_group": "bronze"}"#).status == 400)

            let group = try await client.call(.get, "/consumer_groups/gold")
            #expect(Self.names(group.body["plugins"], "id") == [pluginID])
            let listed = try await client.call(.get, "/consumer_groups/gold/plugins")
            #expect(Self.names(listed.body["data"], "id") == [pluginID])
            // The group's plugins go with it.
            #expect(try await client.call(.delete, "/consumer_groups/gold").status == 204)
            #expect(try await client.call(.get, "/plugins/\(pluginID)").status == 404)
        }
    }

    /// Memberships and a group's plugins.
    @Test func membershipsSurviveARestartAndExportAsDeclarative() async throws {
        let directory = NSTemporaryDirectory() + "konnect-groups-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func open() throws -> ControlPlane { try openControlPlane(in: directory) }
        let first = try open()
        _ = try await first.create(.consumers, body: .object(["username": .string("frank")]))
        _ = try await first.create(.consumerGroups, body: .object(["name": .string("gold")]))
        _ = try await first.addMembers(["frank"], to: ["gold"])
        _ = try await first.create(.plugins, body: .object(["name": "cors"]), in: .init(field: .consumerGroup, parent: "gold"))
        let before = await first.configuration
        #expect(before.consumerGroupConsumers.count == 1)
        #expect(before.plugins.first?.consumerGroupID == before.consumerGroups.first?.id)

        let loaded = try await open().loadFromStore()
        #expect(loaded == before)
        // The exported file reads back as the same configuration.
        #expect(try DeclarativeConfig.parse(loaded.declarativeYAML, source: "export") == loaded)
    }
}
