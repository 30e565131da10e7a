import KonnectAI
import Testing

/// The deployment order a model's routing gives, with a manual clock.
@Suite("AI: model routing")
struct AIModelRouterTests {
    static func model(_ routing: AIModel.Routing, weights: [Int] = [1, 1, 1], prices: [Price?] = [nil, nil, nil]) -> AIModel {
        AIModel(name: "m", routing: routing, deployments: zip(weights, prices).enumerated().map { index, pair in
            AIModel.Deployment(target: AIDeployment(provider: "openai", model: "d\(index)"), weight: pair.0, price: pair.1)
        }, cooldown: 30)
    }

    @Test func fallbackTriesDeploymentsInOrderAndPassesOverAFailedOneUntilItCoolsDown() {
        let router = AIModelRouter(Self.model(.fallback))
        #expect(router.plan(now: 100) == [0, 1, 2])
        router.failed(0, now: 100, retryAfter: nil)
        #expect(router.plan(now: 101) == [1, 2, 0])  // still tried, but last
        #expect(router.plan(now: 129) == [1, 2, 0])
        #expect(router.plan(now: 130) == [0, 1, 2])  // the 30 s cool-down is over
    }

    @Test func aProvidersRetryAfterSetsTheCoolDown() {
        let router = AIModelRouter(Self.model(.fallback))
        router.failed(1, now: 100, retryAfter: 5)
        #expect(router.plan(now: 104) == [0, 2, 1])
        #expect(router.plan(now: 105) == [0, 1, 2])
    }

    @Test func aSuccessEndsACoolDown() {
        let router = AIModelRouter(Self.model(.fallback))
        router.failed(0, now: 100, retryAfter: nil)
        router.succeeded(0, milliseconds: 10)
        #expect(router.plan(now: 101) == [0, 1, 2])
    }

    @Test func weightedRoutingSplitsByWeightEvenly() {
        let router = AIModelRouter(Self.model(.weighted, weights: [3, 1, 0]))
        let firsts = (0..<8).map { _ in router.plan(now: 0)[0] }
        #expect(firsts.filter { $0 == 0 }.count == 6)
        #expect(firsts.filter { $0 == 1 }.count == 2)
        #expect(!firsts.contains(2))  // weight 0: a fallback only
        // Smooth: the light one is not left to the end of the cycle.
        #expect(Array(firsts.prefix(4)).contains(1))
        // The others follow in order, as fallbacks.
        #expect(router.plan(now: 0).count == 3)
    }

    @Test func weightedRoutingLeavesOutADeploymentCoolingDown() {
        let router = AIModelRouter(Self.model(.weighted, weights: [3, 1, 1]))
        router.failed(0, now: 0, retryAfter: nil)
        let firsts = (0..<4).map { _ in router.plan(now: 1)[0] }
        #expect(firsts.sorted() == [1, 1, 2, 2])
    }

    @Test func leastLatencyMeasuresEachDeploymentThenPrefersTheFastest() {
        let router = AIModelRouter(Self.model(.leastLatency))
        router.succeeded(0, milliseconds: 300)
        // Unmeasured ones come first, so each gets measured.
        #expect(router.plan(now: 0) == [1, 2, 0])
        router.succeeded(1, milliseconds: 100)
        router.succeeded(2, milliseconds: 200)
        #expect(router.plan(now: 0) == [1, 2, 0])
        // An average, not the last sample: one slow answer does not flip the order at once.
        router.succeeded(1, milliseconds: 400)
        #expect(router.plan(now: 0) == [1, 2, 0])
        for _ in 0..<5 { router.succeeded(1, milliseconds: 400) }
        #expect(router.plan(now: 0) == [2, 0, 1])
    }

    @Test func lowestCostOrdersByPriceWithUnpricedLast() {
        let router = AIModelRouter(Self.model(.lowestCost, prices: [
            Price(input: 3, output: 15), nil, Price(input: 0.15, output: 0.6),
        ]))
        #expect(router.plan(now: 0) == [2, 0, 1])
        router.failed(2, now: 0, retryAfter: nil)
        #expect(router.plan(now: 1) == [0, 1, 2])
    }

    @Test(arguments: [
        // (usage, price, cost in dollars)
        (Usage(inputTokens: 1_000_000, outputTokens: 0), Price(input: 3, output: 15), 3.0),
        (Usage(inputTokens: 0, outputTokens: 1_000_000), Price(input: 3, output: 15), 15.0),
        // Cached prompt tokens at the cached price; the rest at the input price.
        (Usage(inputTokens: 1_000_000, outputTokens: 0, cachedInputTokens: 400_000), Price(input: 3, output: 15, cachedInput: 0.3), 1.92),
        // No cached price: cached tokens cost as input.
        (Usage(inputTokens: 1_000, outputTokens: 500, cachedInputTokens: 200), Price(input: 2, output: 8), 0.006),
    ])
    func costFollowsThePriceTable(usage: Usage, price: Price, dollars: Double) {
        #expect(abs(price.cost(of: usage) - dollars) < 1e-9)
    }
}
