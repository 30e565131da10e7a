import KonnectConfig
import KonnectPlugins
import Testing

@Suite("Plugin scopes and order")
struct PluginScopesTests {
    static let route = "11111111-1111-4111-8111-111111111111"
    static let service = "22222222-2222-4222-8222-222222222222"
    static let consumer = "33333333-3333-4333-8333-333333333333"
    static let group = "55555555-5555-4555-8555-555555555555"

    /// A rate-limiting instance for the scope written as `r`, `s`, `c`, `g` (consumer group)
    /// letters ("" is global), tagged with that text so the winner can be told apart.
    static func instance(_ scope: String, enabled: Bool = true, group: String = group) -> Plugin {
        Plugin(id: scope, name: "rate-limiting", enabled: enabled,
               serviceID: scope.contains("s") ? service : nil, routeID: scope.contains("r") ? route : nil,
               consumerID: scope.contains("c") ? consumer : nil, consumerGroupID: scope.contains("g") ? group : nil,
               tags: [scope.isEmpty ? "global" : scope])
    }

    struct Case: Sendable, CustomTestStringConvertible {
        /// Scopes configured, as `r`/`s`/`c` letters.
        var configured: [String]
        /// Whether the request has been identified as the consumer.
        var identified: Bool
        /// The scope whose instance applies, or nil for none.
        var winner: String?

        var testDescription: String {
            "\(configured.map { $0.isEmpty ? "global" : $0 }) \(identified ? "with" : "without") consumer → \(winner.map { $0.isEmpty ? "global" : $0 } ?? "none")"
        }
    }

    static let cases: [Case] = [
        Case(configured: ["", "s", "r", "rs", "c", "sc", "rc", "rsc"], identified: true, winner: "rsc"),
        Case(configured: ["", "s", "r", "rs", "c", "sc", "rc"], identified: true, winner: "rc"),
        Case(configured: ["", "s", "r", "rs", "c", "sc"], identified: true, winner: "sc"),
        Case(configured: ["", "s", "r", "rs", "c"], identified: true, winner: "rs"),
        Case(configured: ["", "s", "r", "c"], identified: true, winner: "c"),
        Case(configured: ["", "s", "r"], identified: true, winner: "r"),
        Case(configured: ["", "s"], identified: true, winner: "s"),
        Case(configured: [""], identified: true, winner: ""),
        // Before (or without) authentication, consumer scopes do not apply.
        Case(configured: ["", "s", "r", "c", "rc", "rsc"], identified: false, winner: "r"),
        Case(configured: ["c", "sc"], identified: false, winner: nil),
        Case(configured: ["c", "s"], identified: false, winner: "s"),
        // Route and service together beat a consumer alone.
        Case(configured: ["c", "rs"], identified: true, winner: "rs"),
        Case(configured: [], identified: true, winner: nil),
    ]

    @Test(arguments: cases)
    func theMostSpecificScopeWins(_ test: Case) {
        let scopes = PluginScopes(plugins: test.configured.shuffled().map { Self.instance($0) })
        let applied = scopes.applicable(route: Self.route, service: Self.service,
                                        consumer: test.identified ? Self.consumer : nil)
        #expect(applied.map(\.id) == (test.winner.map { [$0] } ?? []))
    }

    /// Kong's twelve levels with consumer groups, most specific first: with all of them
    /// configured from a level down, that level's instance applies.
    @Test func groupScopesTakeTheirPlaceInKongsPrecedence() {
        let order = ["rsc", "rsg", "rc", "sc", "rg", "sg", "rs", "c", "g", "r", "s", ""]
        for start in order.indices {
            let scopes = PluginScopes(plugins: order[start...].shuffled().map { Self.instance($0) })
            let applied = scopes.applicable(route: Self.route, service: Self.service, consumer: Self.consumer, groups: [Self.group])
            #expect(applied.map(\.id) == [order[start]], "configured from \(order[start])")
            // Unidentified, neither consumer nor group scopes apply.
            let anonymous = scopes.applicable(route: Self.route, service: Self.service, consumer: nil)
            #expect(anonymous.map(\.id) == order[start...].first { !$0.contains("c") && !$0.contains("g") }.map { [$0] } ?? [])
        }
    }

    /// A consumer in several groups gets, at each level, the instance of the first group (by
    /// name: the order given) that has one; a group it is not in gives nothing.
    @Test func ofSeveralGroupsTheFirstWithAnInstanceGivesIt() {
        let first = "66666666-6666-4666-8666-666666666666"
        let scopes = PluginScopes(plugins: [
            Plugin(id: "second", name: "rate-limiting", consumerGroupID: Self.group),
            Plugin(id: "first-cors", name: "cors", consumerGroupID: first),
            Plugin(id: "elsewhere", name: "acl", consumerGroupID: "77777777-7777-4777-8777-777777777777"),
        ])
        #expect(scopes.hasConsumerScopes)
        let applied = scopes.applicable(route: Self.route, service: Self.service, consumer: Self.consumer, groups: [first, Self.group])
        #expect(applied.map(\.id).sorted() == ["first-cors", "second"])
        let both = PluginScopes(plugins: [Self.instance("g"), Plugin(id: "first", name: "rate-limiting", consumerGroupID: first)])
        #expect(both.applicable(route: Self.route, service: Self.service, consumer: Self.consumer, groups: [first, Self.group]).map(\.id) == ["first"])
        #expect(both.applicable(route: Self.route, service: Self.service, consumer: Self.consumer, groups: [Self.group, first]).map(\.id) == ["g"])
    }

    @Test func instancesForOtherEntitiesDoNotApply() {
        let other = "44444444-4444-4444-8444-444444444444"
        let scopes = PluginScopes(plugins: [
            Plugin(id: "other-route", name: "cors", routeID: other),
            Plugin(id: "other-service", name: "acl", serviceID: other),
            Plugin(id: "other-consumer", name: "key-auth", consumerID: other),
            Plugin(id: "this-route-other-service", name: "jwt", serviceID: other, routeID: Self.route),
        ])
        #expect(scopes.applicable(route: Self.route, service: Self.service, consumer: Self.consumer).isEmpty)
        #expect(scopes.hasConsumerScopes)
    }

    @Test func aDisabledInstanceDoesNotHideALessSpecificOne() {
        let scopes = PluginScopes(plugins: [Self.instance("r", enabled: false), Self.instance("")])
        #expect(scopes.applicable(route: Self.route, service: Self.service, consumer: nil).map(\.id) == [""])
        #expect(!scopes.hasConsumerScopes)
    }

    @Test func pluginsRunInKongsPriorityOrderThenByName() {
        let names = ["rate-limiting", "acl", "key-auth", "correlation-id", "prometheus", "cors", "datadog", "ai-proxy"]
        let scopes = PluginScopes(plugins: names.map { Plugin(id: $0, name: $0) })
        #expect(scopes.applicable(route: nil, service: nil, consumer: nil).map(\.name) == [
            "correlation-id", "cors", "key-auth", "acl", "rate-limiting", "ai-proxy", "prometheus", "datadog",
        ])
        #expect(PluginPriority.runsBefore("key-auth", "acl"))
        #expect(PluginPriority.runsBefore("acl", "rate-limiting"))
        // Without a number, after every plugin that has one; among themselves by name.
        #expect(PluginPriority.runsBefore("post-function", "some-plugin"))
        #expect(PluginPriority.runsBefore("a-plugin", "b-plugin"))
    }

    /// Routes whose plugins only read the request run them without a context (the cheaper path);
    /// one plugin that needs more sends the whole route the usual way.
    @Test func routesWhosePluginsOnlyReadRunWithoutAContext() {
        let local: JSONValue = .object(["minute": 5, "limit_by": "ip"])
        let routes: [(String, [(String, JSONValue)], Bool)] = [
            ("rate-local", [("rate-limiting", local)], true),
            ("three", [("rate-limiting", local), ("ip-restriction", .object(["deny": .array(["10.0.0.0/8"])])),
                       ("bot-detection", .object([:]))], true),
            ("redis", [("rate-limiting", .object(["minute": 5, "policy": "redis", "redis": .object(["host": "127.0.0.1"])]))], false),
            ("in-flight", [("rate-limiting", .object(["concurrency": 2]))], false),
            ("with-key-auth", [("rate-limiting", local), ("key-auth", .object([:]))], false),
            ("with-correlation-id", [("rate-limiting", local), ("correlation-id", .object([:]))], false),
            ("none", [], false),
        ]
        let configuration = Configuration(
            routes: routes.map { Route(id: $0.0, name: $0.0, paths: ["/\($0.0)"]) },
            plugins: routes.flatMap { route in
                route.1.map { Plugin(id: "\(route.0)-\($0.0)", name: $0.0, config: $0.1, routeID: route.0) }
            })
        let set = PluginSet(configuration)
        for (route, _, readsOnly) in routes {
            #expect(set.chain(route: route, service: nil).readsOnly == readsOnly, "\(route)")
        }
    }
}
