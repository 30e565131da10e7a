import Foundation
import KonnectConfig
import KonnectProxy
import Testing

/// rate-limiting (local policy) on the proxy path. Counters are process-wide, so every test
/// counts under identifiers of its own (a random header value, or its own consumers); windows are
/// a day or longer so that no test straddles a period boundary in practice.
@Suite("Plugins: rate-limiting")
struct RateLimitingPluginTests {
    static func byHeader(_ extra: [String: JSONValue] = [:]) -> JSONValue {
        .object(["day": 3, "month": 10, "limit_by": "header", "header_name": "X-Client"].merging(extra) { $1 })
    }

    static func configuration(port: Int, config: JSONValue) -> Configuration {
        pluginConfiguration(port: port, plugins: [Plugin(id: "p-rl", name: "rate-limiting", config: config)])
    }

    /// Alone on its route rate-limiting runs without a plugin context; next to a plugin that needs
    /// one (correlation-id), with it. The client sees the same either way.
    @Test(arguments: [false, true])
    func requestsOverTheLimitAreRefusedWithTheHeadersThatSaySo(besideAnotherPlugin: Bool) async throws {
        let me = UUID().uuidString
        let plugins = [Plugin(id: "p-rl", name: "rate-limiting", config: Self.byHeader())]
            + (besideAnotherPlugin ? [Plugin(id: "p-cid", name: "correlation-id", config: .object(["echo_downstream": true]))] : [])
        try await withProxy(configure: { pluginConfiguration(port: $0[0], plugins: plugins) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            for expected in [2, 1, 0] {
                let response = try await client.get("/x", headers: [("X-Client", me)])
                #expect(response.status == 200)
                #expect(response.header("x-ratelimit-limit-day") == "3")
                #expect(response.header("x-ratelimit-remaining-day") == String(expected))
                // One connection: nothing of the last response's lines is left over.
                #expect(response.headerValues("x-ratelimit-remaining-day").count == 1)
                #expect(response.header("x-ratelimit-limit-month") == "10")
                #expect(response.header("x-ratelimit-remaining-month") == String(expected + 7))
                // The window with the fewest requests left is the one RateLimit-* describe.
                #expect(response.header("ratelimit-limit") == "3")
                #expect(response.header("ratelimit-remaining") == String(expected))
                let reset = try #require(Int(response.header("ratelimit-reset") ?? ""))
                #expect(reset >= 1 && reset <= 86_400)
            }
            let refused = try await client.get("/x", headers: [("X-Client", me)])
            #expect(refused.status == 429)
            #expect(refused.text.contains("API rate limit exceeded"))
            #expect(refused.header("ratelimit-remaining") == "0")
            #expect(refused.header("x-ratelimit-remaining-day") == "0")
            // A refused request is not counted: the month still has 7 left, as Kong shows it.
            #expect(refused.header("x-ratelimit-remaining-month") == "7")
            #expect((refused.header("konnect-request-id") != nil) == besideAnotherPlugin)
            let retryAfter = try #require(Int(refused.header("retry-after") ?? ""))
            #expect(retryAfter >= 1 && retryAfter <= 86_400)
            #expect(fx.origin.requests == 3)
            // Another client is counted on its own.
            #expect(try await client.get("/x", headers: [("X-Client", UUID().uuidString)]).status == 200)
        }
    }

    /// One connection whose requests come from two clients in turn: each is counted under its
    /// own key (the connection's last key is reused only when it is the same).
    @Test func clientsTakingTurnsOnOneConnectionAreCountedApart() async throws {
        let (a, b) = (UUID().uuidString, UUID().uuidString)
        try await withProxy(configure: { Self.configuration(port: $0[0], config: Self.byHeader()) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            var remaining: [String] = []
            for who in [a, b, a, a, b, a] {
                let response = try await client.get("/x", headers: [("X-Client", who)])
                remaining.append(response.status == 200 ? response.header("x-ratelimit-remaining-day") ?? "?" : String(response.status))
            }
            #expect(remaining == ["2", "2", "1", "0", "1", "429"])
        }
    }

    @Test func theRefusalAndTheHeadersAreConfigurable() async throws {
        let me = UUID().uuidString
        let config = Self.byHeader(["day": 1, "hide_client_headers": true, "error_code": 503, "error_message": "Slow down"])
        try await withProxy(configure: { Self.configuration(port: $0[0], config: config) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let first = try await client.get("/x", headers: [("X-Client", me)])
            #expect(first.status == 200)
            #expect(!first.headers.contains { $0.0.lowercased().contains("ratelimit") })
            let refused = try await client.get("/x", headers: [("X-Client", me)])
            #expect(refused.status == 503)
            #expect(refused.text.contains("Slow down"))
            #expect(refused.header("retry-after") != nil)
        }
    }

    /// A limit has no upper bound (as in Kong): one past what an integer holds is counted and
    /// reported, not a crash of the gateway on the first request.
    @Test func aLimitLargerThanAnyIntegerIsCountedAndShown() async throws {
        let me = UUID().uuidString
        let config: JSONValue = .object(["day": .number(1e300), "limit_by": "header", "header_name": "X-Client"])
        try await withProxy(configure: { Self.configuration(port: $0[0], config: config) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            for _ in 0..<2 {
                let response = try await client.get("/x", headers: [("X-Client", me)])
                #expect(response.status == 200)
                #expect(response.header("x-ratelimit-limit-day") == "1e+300")
                #expect(response.header("x-ratelimit-remaining-day") == String(Int.max))
            }
        }
    }

    @Test func consumersAreCountedApartAndAnonymousRequestsByAddress() async throws {
        let alice = Consumer(id: UUID().uuidString.lowercased(), username: "alice")
        let bob = Consumer(id: UUID().uuidString.lowercased(), username: "bob")
        try await withProxy(configure: { ports in
            pluginConfiguration(port: ports[0], plugins: [
                Plugin(id: "p-key", name: "key-auth", config: .object(["anonymous": .string("bob")])),
                Plugin(id: "p-rl", name: "rate-limiting", config: .object(["month": 2])),
            ], consumers: [alice, bob]) {
                $0.keyAuthCredentials = [KeyAuthCredential(id: "k-a", consumerID: alice.id, key: "alice-key")]
            }
        }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let statuses = { (key: String?) async throws -> [Int] in
                var statuses: [Int] = []
                for _ in 0..<3 { statuses.append(try await client.get("/x", headers: key.map { [("apikey", $0)] } ?? []).status) }
                return statuses
            }
            #expect(try await statuses("alice-key") == [200, 200, 429])
            // Requests without a key are the anonymous consumer's, counted together.
            #expect(try await statuses(nil) == [200, 200, 429])
        }
    }

    /// `limit_by: consumer-group`: the consumers of a group share one count; a consumer in
    /// several groups counts in the first by name; one in no group is counted by address.
    @Test func consumersOfAGroupShareOneLimit() async throws {
        let ids = (0..<4).map { _ in UUID().uuidString.lowercased() }
        let consumers = ["alice", "carol", "dave", "erin"].enumerated().map { Consumer(id: ids[$0.offset], username: $0.element) }
        let gold = ConsumerGroup(id: UUID().uuidString.lowercased(), name: "gold")
        let silver = ConsumerGroup(id: UUID().uuidString.lowercased(), name: "silver")
        // A route of its own: requests counted by address share nothing with other tests.
        let route = UUID().uuidString.lowercased()
        try await withProxy(configure: { ports in
            pluginConfiguration(port: ports[0], plugins: [
                Plugin(id: "p-key", name: "key-auth", config: .object([:]), routeID: route),
                Plugin(id: "p-rl", name: "rate-limiting", config: .object(["month": 2, "limit_by": "consumer-group"]), routeID: route),
            ], consumers: consumers) {
                $0.routes[0].id = route
                $0.keyAuthCredentials = consumers.map { KeyAuthCredential(id: "k-\($0.id)", consumerID: $0.id, key: "\($0.username!)-key") }
                $0.consumerGroups = [silver, gold]
                $0.consumerGroupConsumers = [(gold, 0), (silver, 1), (gold, 1), (silver, 2)].map { group, consumer in
                    ConsumerGroupMembership(id: UUID().uuidString, groupID: group.id, consumerID: ids[consumer])
                }
            }
        }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let status = { (who: String) async throws -> Int in try await client.get("/x", headers: [("apikey", "\(who)-key")]).status }
            #expect(try await status("alice") == 200)
            #expect(try await status("alice") == 200)
            // carol is in gold too (and in silver, which comes after it by name).
            #expect(try await status("carol") == 429)
            #expect(try await status("dave") == 200)
            #expect(try await status("dave") == 200)
            #expect(try await status("dave") == 429)
            // erin is in no group: counted by her address, which nobody else on this route was.
            #expect(try await status("erin") == 200)
            #expect(try await status("erin") == 200)
            #expect(try await status("erin") == 429)
        }
    }

    /// Plugins scoped to consumer groups give each tier its own limit: a group's instance beats
    /// the route's, a consumer's own beats its group's, and a consumer in two groups gets the
    /// instance of the first by name that has one.
    @Test func eachConsumerGroupGetsItsOwnLimit() async throws {
        let names = ["alice", "bob", "carol", "dave", "erin"]
        let ids = names.map { _ in UUID().uuidString.lowercased() }
        let consumers = names.enumerated().map { Consumer(id: ids[$0.offset], username: $0.element) }
        let gold = ConsumerGroup(id: UUID().uuidString.lowercased(), name: "gold")
        let silver = ConsumerGroup(id: UUID().uuidString.lowercased(), name: "silver")
        let route = UUID().uuidString.lowercased()
        let limit = { (day: Int) -> JSONValue in .object(["day": .number(Double(day)), "limit_by": "consumer"]) }
        try await withProxy(configure: { ports in
            pluginConfiguration(port: ports[0], plugins: [
                Plugin(id: "p-key", name: "key-auth", config: .object([:]), routeID: route),
                Plugin(id: "p-route", name: "rate-limiting", config: limit(100), routeID: route),
                Plugin(id: "p-gold", name: "rate-limiting", config: limit(3), consumerGroupID: gold.id),
                Plugin(id: "p-silver", name: "rate-limiting", config: limit(1), consumerGroupID: silver.id),
                Plugin(id: "p-dave", name: "rate-limiting", config: limit(7), consumerID: ids[3]),
            ], consumers: consumers) {
                $0.routes[0].id = route
                $0.keyAuthCredentials = consumers.map { KeyAuthCredential(id: "k-\($0.id)", consumerID: $0.id, key: "\($0.username!)-key") }
                $0.consumerGroups = [silver, gold]
                // alice: gold; bob: silver; carol: both (gold comes first by name); dave: gold,
                // with a plugin of his own; erin: no group.
                $0.consumerGroupConsumers = [(gold, 0), (silver, 1), (silver, 2), (gold, 2), (gold, 3)].map { group, consumer in
                    ConsumerGroupMembership(id: UUID().uuidString, groupID: group.id, consumerID: ids[consumer])
                }
            }
        }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let get = { (who: String) async throws -> TestClient.Response in try await client.get("/x", headers: [("apikey", "\(who)-key")]) }
            for (who, day) in [("alice", "3"), ("bob", "1"), ("carol", "3"), ("dave", "7"), ("erin", "100")] {
                #expect(try await get(who).header("x-ratelimit-limit-day") == day, "\(who)")
            }
            #expect(try await get("bob").status == 429)
            #expect(try await get("alice").status == 200)
            #expect(try await get("alice").status == 200)
            #expect(try await get("alice").status == 429)
            #expect(try await get("erin").status == 200)
        }
    }

    /// Sends a request whose body waits for `100 Continue`, which the proxy sends once the access
    /// phase has let the request through: its in-flight slot is taken until the body (2 bytes)
    /// is sent. Returns the first status the client gets: 100, or the refusal.
    static func holdSlot(_ client: TestClient, _ me: String) async throws -> Int {
        try await client.send("POST /x HTTP/1.1\r\nHost: a\r\nX-Client: \(me)\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        return try await client.readStatus()
    }

    /// A request the in-flight limit turns away is not counted in the windows: it used nothing.
    @Test func aRequestRefusedForConcurrencyUsesNoWindowQuota() async throws {
        let config = Self.byHeader(["day": 3, "month": .null, "concurrency": 1])
        let me = UUID().uuidString
        try await withProxy(configure: { Self.configuration(port: $0[0], config: config) }) { fx in
            let slow = try await fx.client()
            let other = try await fx.client()
            defer { slow.close(); other.close() }
            #expect(try await Self.holdSlot(slow, me) == 100)
            let refused = try await other.get("/x", headers: [("X-Client", me)])
            #expect(refused.status == 429)
            #expect(refused.header("retry-after") == "1")
            try await slow.send("ok")
            #expect(try await slow.readResponse().header("x-ratelimit-remaining-day") == "2")
            // Two requests counted so far (the slow one and this one), not three.
            let after = try await other.get("/x", headers: [("X-Client", me)])
            #expect(after.status == 200)
            #expect(after.header("x-ratelimit-remaining-day") == "1")
        }
    }

    /// A node's limit is one limit, whichever event loop serves a request.
    @Test func theLoopsOfANodeCountAgainstOneLimit() async throws {
        let me = UUID().uuidString
        try await withProxy(threads: 2, configure: { Self.configuration(port: $0[0], config: Self.byHeader(["day": 5])) }) { fx in
            // Connections are handed to the loops in turn: these two are served by different loops.
            let clients = try await [fx.client(), fx.client()]
            defer { for client in clients { client.close() } }
            var remaining: [String?] = []
            var statuses: [Int] = []
            for index in 0..<6 {
                let response = try await clients[index % 2].get("/x", headers: [("X-Client", me)])
                statuses.append(response.status)
                remaining.append(response.header("x-ratelimit-remaining-day"))
            }
            #expect(statuses == [200, 200, 200, 200, 200, 429])
            #expect(remaining == ["4", "3", "2", "1", "0", "0"])
            #expect(fx.origin.requests == 5)
        }
    }

    /// A slot is given back before the client has the whole response: a client that waits for
    /// each answer is never turned away, even when its requests alternate between event loops.
    @Test func aClientThatWaitsForEachAnswerIsNeverRefusedASlot() async throws {
        let config = Self.byHeader(["day": .null, "month": .null, "concurrency": 1])
        let me = UUID().uuidString
        try await withProxy(threads: 2, configure: { Self.configuration(port: $0[0], config: config) }) { fx in
            let clients = try await [fx.client(), fx.client()]
            defer { for client in clients { client.close() } }
            var statuses: [Int] = []
            for index in 0..<400 {
                statuses.append(try await clients[index % 2].get("/x", headers: [("X-Client", me)]).status)
            }
            #expect(statuses.filter { $0 != 200 }.isEmpty, "\(statuses.filter { $0 != 200 }.count) of 400 refused")
        }
    }

    @Test func requestsInFlightAreLimitedAndTheirSlotsComeBack() async throws {
        let config = Self.byHeader(["day": .null, "month": .null, "concurrency": 2])
        let me = UUID().uuidString
        try await withProxy(configure: { Self.configuration(port: $0[0], config: config) }) { fx in
            let third = try await fx.client()
            defer { third.close() }
            let holding = try await [fx.client(), fx.client()]
            for client in holding { #expect(try await Self.holdSlot(client, me) == 100) }
            let during = try await third.get("/x", headers: [("X-Client", me)])
            #expect(during.status == 429, "\(during.status) \(during.text)")
            for client in holding {
                try await client.send("ok")
                #expect(try await client.readResponse().status == 200)
                client.close()
            }
            #expect(try await third.get("/x", headers: [("X-Client", me)]).status == 200)

            // Clients that leave in the middle of sending their request give their slots back.
            for _ in 0..<2 {
                let leaving = try await fx.client()
                #expect(try await Self.holdSlot(leaving, me) == 100)
                try await leaving.send("a")
                leaving.close()
            }
            // The proxy notices a close when its loop gets to it: both slots are free again
            // within a few tries, and never if one stayed taken.
            var firstStatuses: [Int] = []
            for _ in 0..<50 {
                let pair = try await [fx.client(), fx.client()]
                firstStatuses = []
                for client in pair { firstStatuses.append(try await Self.holdSlot(client, me)) }
                for client in pair { client.close() }
                if firstStatuses == [100, 100] { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(firstStatuses == [100, 100])
        }
    }
}
