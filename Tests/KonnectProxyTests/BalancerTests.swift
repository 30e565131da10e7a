import KonnectConfig
@testable import KonnectProxy
import Testing

@Suite("Load balancing")
struct BalancerTests {
    static func plan(_ algorithm: BalancerAlgorithm, weights: [Int], hashOn: HashOn = .none) -> UpstreamPlan {
        let targets = weights.enumerated().map { index, weight in
            TargetAddress(host: "10.0.0.\(index + 1)", port: 80, weight: weight, defaultPort: 80)
        }
        return UpstreamPlan(name: "u", algorithm: algorithm, hashOn: hashOn, hashFallback: .none,
                            targets: targets, slots: 10_000, loopCount: 1)
    }

    static func withinFivePercent(_ counts: [Int], weights: [Int]) -> Bool {
        let total = Double(counts.reduce(0, +))
        let weightTotal = Double(weights.reduce(0, +))
        return zip(counts, weights).allSatisfy { count, weight in
            let expected = total * Double(weight) / weightTotal
            return abs(Double(count) - expected) <= expected * 0.05
        }
    }

    @Test(arguments: [[1, 1], [1, 3], [5, 3, 2], [100, 10, 1, 50]])
    func roundRobinFollowsWeights(_ weights: [Int]) {
        let plan = Self.plan(.roundRobin, weights: weights)
        var counts = Array(repeating: 0, count: weights.count)
        for _ in 0..<10_000 { counts[plan.pick(loop: 0, hashKey: nil, excluded: [])!] += 1 }
        #expect(Self.withinFivePercent(counts, weights: weights), "\(counts)")
    }

    @Test func roundRobinInterleaves() {
        let plan = Self.plan(.roundRobin, weights: [2, 1])
        let picks = (0..<6).map { _ in plan.pick(loop: 0, hashKey: nil, excluded: [])! }
        #expect(picks == [0, 1, 0, 0, 1, 0])
    }

    @Test(arguments: [[1, 1, 1], [1, 3], [4, 2, 1]])
    func consistentHashingSpreadsKeysByWeight(_ weights: [Int]) {
        let plan = Self.plan(.consistentHashing, weights: weights, hashOn: .header("x-user"))
        var counts = Array(repeating: 0, count: weights.count)
        for user in 0..<100_000 {
            counts[plan.pick(loop: 0, hashKey: StableHash.hash("user-\(user)"), excluded: [])!] += 1
        }
        #expect(Self.withinFivePercent(counts, weights: weights), "\(counts)")
    }

    @Test func consistentHashingIsSticky() {
        let plan = Self.plan(.consistentHashing, weights: [1, 1, 1, 1])
        let key = StableHash.hash("alice")
        let first = plan.pick(loop: 0, hashKey: key, excluded: [])
        for _ in 0..<100 { #expect(plan.pick(loop: 0, hashKey: key, excluded: []) == first) }
        let other = plan.pick(loop: 0, hashKey: key, excluded: [first!])
        #expect(other != first && other != nil)
    }

    @Test func leastConnectionsPrefersIdleTargets() {
        let plan = Self.plan(.leastConnections, weights: [1, 1, 1])
        let state = plan.loopStates[0]
        state.active = [5, 0, 2]
        #expect(plan.pick(loop: 0, hashKey: nil, excluded: []) == 1)
        #expect(plan.pick(loop: 0, hashKey: nil, excluded: [1]) == 2)
    }

    @Test func leastConnectionsFollowsWeightsUnderEqualLoad() {
        let weights = [1, 2, 5]
        let plan = Self.plan(.leastConnections, weights: weights)
        var counts = Array(repeating: 0, count: weights.count)
        var inFlight: [Int] = []
        for _ in 0..<8_000 {
            let pick = plan.pick(loop: 0, hashKey: nil, excluded: [])!
            counts[pick] += 1
            plan.loopStates[0].active[pick] += 1
            inFlight.append(pick)
            if inFlight.count > 16 { plan.loopStates[0].active[inFlight.removeFirst()] -= 1 }
        }
        #expect(Self.withinFivePercent(counts, weights: weights), "\(counts)")
    }

    @Test func latencyPrefersTheFasterTarget() {
        let plan = Self.plan(.latency, weights: [1, 1])
        plan.loopStates[0].recordLatency(0, microseconds: 50_000)
        plan.loopStates[0].recordLatency(1, microseconds: 1_000)
        #expect(plan.pick(loop: 0, hashKey: nil, excluded: []) == 1)
    }

    @Test func excludingEveryTargetGivesNone() {
        let plan = Self.plan(.roundRobin, weights: [1, 1])
        #expect(plan.pick(loop: 0, hashKey: nil, excluded: [0, 1]) == nil)
    }
}

@Suite("Load balancing through the proxy")
struct BalancedProxyTests {
    @Test func requestsFollowTargetWeights() async throws {
        try await withProxy(originCount: 2, configure: { ports in
            Configuration(
                services: [Service(id: "s", host: "pool", port: 80)],
                routes: [Route(id: "r", paths: ["/"], serviceID: "s")],
                upstreams: [Upstream(id: "u", name: "pool")],
                targets: [Target(id: "t1", upstreamID: "u", host: "127.0.0.1", port: ports[0], weight: 25),
                          Target(id: "t2", upstreamID: "u", host: "127.0.0.1", port: ports[1], weight: 75)])
        }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            for _ in 0..<400 { #expect(try await client.get("/").status == 200) }
            #expect(fx.origins[0].requests == 100)
            #expect(fx.origins[1].requests == 300)
        }
    }

    @Test func hashOnCookieHandsOutACookieThatSticks() async throws {
        try await withProxy(originCount: 2, configure: { ports in
            Configuration(
                services: [Service(id: "s", host: "pool", port: 80)],
                routes: [Route(id: "r", paths: ["/"], serviceID: "s")],
                upstreams: [Upstream(id: "u", name: "pool", algorithm: .consistentHashing,
                                     hashOn: .cookie(name: "konnect-affinity", path: "/"))],
                targets: [Target(id: "t1", upstreamID: "u", host: "127.0.0.1", port: ports[0]),
                          Target(id: "t2", upstreamID: "u", host: "127.0.0.1", port: ports[1])])
        }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            let first = try await client.get("/")
            let cookie = try #require(first.header("set-cookie"))
            #expect(cookie.hasPrefix("konnect-affinity=") && cookie.hasSuffix("; Path=/"))
            let pair = String(cookie.split(separator: ";")[0])
            for _ in 0..<19 {
                let next = try await client.get("/", headers: [("Cookie", pair)])
                #expect(next.header("set-cookie") == nil)
            }
            #expect(Set([fx.origins[0].requests, fx.origins[1].requests]) == [0, 20])
        }
    }

    @Test func hashOnHeaderKeepsAUserOnOneTarget() async throws {
        try await withProxy(originCount: 2, configure: { ports in
            Configuration(
                services: [Service(id: "s", host: "pool", port: 80)],
                routes: [Route(id: "r", paths: ["/"], serviceID: "s")],
                upstreams: [Upstream(id: "u", name: "pool", algorithm: .consistentHashing, hashOn: .header("x-user"))],
                targets: [Target(id: "t1", upstreamID: "u", host: "127.0.0.1", port: ports[0]),
                          Target(id: "t2", upstreamID: "u", host: "127.0.0.1", port: ports[1])])
        }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            for _ in 0..<20 { #expect(try await client.get("/", headers: [("X-User", "alice")]).status == 200) }
            #expect(Set([fx.origins[0].requests, fx.origins[1].requests]) == [0, 20])
        }
    }
}
