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
