import Testing

@testable import KonnectConfig

/// Consumer groups in declarative files: decK's `consumers[].groups`, and the top-level
/// `consumer_group_consumers` that `GET /config` writes.
@Suite("Declarative configuration: consumer groups")
struct ConsumerGroupsConfigTests {
    @Test func consumersJoinGroupsByNameOrAtTopLevel() throws {
        let configuration = try CredentialsConfigTests.parse("""
            consumer_groups:
              - name: gold
                tags: [tier]
              - name: silver
            consumers:
              - username: alice
                groups:
                  - name: gold
                  - silver
              - username: bob
            consumer_group_consumers:
              - consumer_group: gold
                consumer: {name: bob}
            """)
        let gold = try #require(configuration.consumerGroups.first { $0.name == "gold" })
        let alice = try #require(configuration.consumers.first { $0.username == "alice" })
        let bob = try #require(configuration.consumers.first { $0.username == "bob" })
        #expect(gold.tags == ["tier"])
        #expect(configuration.consumers(in: gold.id).map(\.username) == ["alice", "bob"])
        #expect(configuration.groups(of: alice.id).map(\.name) == ["gold", "silver"])
        #expect(configuration.groups(of: bob.id).map(\.name) == ["gold"])
        // Ids follow from the names, so the same file gives the same ids every time.
        #expect(try CredentialsConfigTests.parse("consumer_groups:\n  - name: gold\n").consumerGroups.first?.id == gold.id)
        // What Konnect exports reads back the same.
        #expect(try DeclarativeConfig.parse(configuration.declarativeYAML) == configuration)
    }

    /// A group's plugins: nested in it, or naming it (alone or with a route or service); they
    /// export and read back the same.
    @Test func pluginsAreScopedToAGroupNestedOrByName() throws {
        let configuration = try CredentialsConfigTests.parse("""
            services:
              - name: orders
                url: http://orders.internal
                routes:
                  - name: list
                    paths: [/orders]
            consumer_groups:
              - name: gold
                plugins:
                  - name: rate-limiting
                    config: {minute: 100}
              - name: silver
            plugins:
              - name: rate-limiting
                consumer_group: silver
                config: {minute: 10}
              - name: rate-limiting
                consumer_group: {name: silver}
                route: list
                config: {minute: 5}
              - name: rate-limiting
                config: {minute: 1}
            """)
        let gold = try #require(configuration.consumerGroups.first { $0.name == "gold" })
        let silver = try #require(configuration.consumerGroups.first { $0.name == "silver" })
        let limits = configuration.plugins.map { ($0.consumerGroupID, $0.routeID != nil, $0.config["minute"]) }
        #expect(limits.count == 4)
        #expect(limits.contains { $0.0 == gold.id && !$0.1 && $0.2 == 100 })
        #expect(limits.contains { $0.0 == silver.id && !$0.1 && $0.2 == 10 })
        #expect(limits.contains { $0.0 == silver.id && $0.1 && $0.2 == 5 })
        #expect(limits.contains { $0.0 == nil && $0.2 == 1 })
        // Ids follow from name and scope: two plugins of a name in two groups have their own.
        #expect(Set(configuration.plugins.map(\.id)).count == 4)
        #expect(try DeclarativeConfig.parse(configuration.declarativeYAML) == configuration)
    }

    struct Refusal: Sendable, CustomStringConvertible {
        var description: String
        var body: String
        var path: String
    }

    static let refusals = [
        Refusal(description: "an unknown group", body: """
            consumers:
              - username: alice
                groups: [bronze]
            """, path: "consumers[0].groups[0]"),
        Refusal(description: "the same group twice", body: """
            consumer_groups: [{name: gold}]
            consumers:
              - username: alice
                groups: [gold, {name: gold}]
            """, path: "consumers[0].groups[1].name"),
        Refusal(description: "a group without a name", body: """
            consumer_groups: [{tags: [x]}]
            """, path: "consumer_groups[0].name"),
        Refusal(description: "two groups of one name", body: """
            consumer_groups: [{name: gold}, {name: gold}]
            """, path: "consumer_groups[1].name"),
        Refusal(description: "a membership without its consumer", body: """
            consumer_groups: [{name: gold}]
            consumer_group_consumers: [{consumer_group: gold}]
            """, path: "consumer_group_consumers[0].consumer"),
        Refusal(description: "a plugin for a group that does not exist", body: """
            plugins: [{name: cors, consumer_group: bronze}]
            """, path: "plugins[0].consumer_group"),
        Refusal(description: "a plugin for both a consumer and a group", body: """
            consumer_groups: [{name: gold}]
            consumers: [{username: alice}]
            plugins: [{name: cors, consumer_group: gold, consumer: alice}]
            """, path: "plugins[0].consumer_group"),
        Refusal(description: "a nested plugin naming another group", body: """
            consumer_groups:
              - name: gold
                plugins: [{name: cors, consumer_group: silver}]
              - name: silver
            """, path: "consumer_groups[0].plugins[0].consumer_group"),
        Refusal(description: "two plugins of one name for one group", body: """
            consumer_groups:
              - name: gold
                plugins: [{name: cors}]
            plugins: [{name: cors, consumer_group: gold}]
            """, path: "plugins[0].name"),
        Refusal(description: "groups that are not a list", body: """
            consumer_groups: [{name: gold}]
            consumers: [{username: alice, groups: gold}]
            """, path: "consumers[0].groups"),
    ]

    @Test(arguments: refusals)
    func aBadGroupIsNamedByItsPath(_ refusal: Refusal) {
        let found = CredentialsConfigTests.issues(refusal.body)
        #expect(found.contains { $0.path == refusal.path }, "issues: \(found)")
    }
}
