import Foundation
import HummingbirdTesting
import KonnectAI
import KonnectConfig
import KonnectPlugins
import NIOCore
import Testing

/// The elements of a JSON array (none for anything else).
private func items(_ value: JSONValue) -> [JSONValue] {
    if case .array(let elements) = value { return elements }
    return []
}

/// `GET /ai-usage`: the AI gateway's usage ledger, filtered and grouped.
@Suite("Admin API: ai-usage")
struct AdminAIUsageTests {
    @Test func usageIsFilteredAndGroupedByModelConsumerAndTime() async throws {
        // A model name of this test's own: the ledger is shared by every test in the process.
        let model = "usage-\(UUID().uuidString)"
        try await AdminFixture().run { client in
            let created = try await client.call(.post, "/consumers", json: #"{"username": "ledger-alice"}"#)
            let alice = try #require(created.body["id"]?.string)
            let now = Date().timeIntervalSince1970
            let ledger = AIUsageLedger.shared
            ledger.record(at: now - 30, consumer: alice, route: "r1", model: model, provider: "openai", deployment: "gpt-4o-mini",
                          usage: Usage(inputTokens: 100, outputTokens: 20, cachedInputTokens: 40), cost: 0.001)
            ledger.record(at: now - 20, consumer: alice, route: "r1", model: model, provider: "anthropic", deployment: "claude-sonnet-4-5",
                          usage: Usage(inputTokens: 10, outputTokens: 5), cost: 0.002)
            ledger.record(at: now - 10, consumer: nil, route: "r1", model: model, provider: "openai", deployment: "gpt-4o-mini",
                          usage: Usage(inputTokens: 7, outputTokens: 3, estimated: true), cost: nil)
            // Two days ago: outside the default range (the last 24 hours).
            ledger.record(at: now - 2 * 86_400, consumer: alice, route: "r1", model: model, provider: "openai",
                          deployment: "gpt-4o-mini", usage: Usage(inputTokens: 1000, outputTokens: 1000), cost: 1)

            let all = try await client.call(.get, "/ai-usage?model=\(model)")
            #expect(all.status == 200)
            let total = try #require(all.body["data"].map(items)?.first)
            #expect(total["requests"] == .number(3))
            #expect(total["input_tokens"] == .number(117))
            #expect(total["output_tokens"] == .number(28))
            #expect(total["cached_tokens"] == .number(40))
            #expect(abs((total["cost"].flatMap { if case .number(let cost) = $0 { cost } else { nil } } ?? 0) - 0.003) < 1e-12)
            #expect(total["estimated_requests"] == .number(1))

            // Alice by username, grouped by provider.
            let byProvider = try await client.call(.get, "/ai-usage?model=\(model)&consumer=ledger-alice&group_by=provider")
            let rows = try #require(byProvider.body["data"].map(items))
            #expect(rows.map { $0["provider"] } == [.string("anthropic"), .string("openai")])
            #expect(rows.map { $0["requests"] } == [.number(1), .number(1)])

            // Grouped by consumer: the request without one has a null consumer.
            let byConsumer = try await client.call(.get, "/ai-usage?model=\(model)&group_by=consumer")
            let consumers = try #require(byConsumer.body["data"].map(items))
            #expect(Set(consumers.compactMap { $0["consumer_username"]?.string }) == ["ledger-alice"])
            #expect(consumers.contains { $0["consumer"] == .null && $0["requests"] == .number(1) })

            // A range that reaches back two days, by day.
            let byDay = try await client.call(.get, "/ai-usage?model=\(model)&from=\(Int(now) - 3 * 86_400)&group_by=day")
            #expect(byDay.body["data"].map(items)?.reduce(0.0) { sum, row in
                if case .number(let requests)? = row["requests"] { sum + requests } else { sum }
            } == 4)
        }
    }

    @Test(arguments: [
        ("/ai-usage?group_by=week", "group_by"),
        ("/ai-usage?from=yesterday", "from"),
        ("/ai-usage?to=2026-13-45", "to"),
        ("/ai-usage?from=nan", "from"),
        ("/ai-usage?to=1e400", "to"),
        ("/ai-usage?from=-5", "from"),
    ])
    func badOptionsAre400NamingTheOption(path: String, option: String) async throws {
        try await AdminFixture().run { client in
            let response = try await client.call(.get, path)
            #expect(response.status == 400)
            #expect(response.body["message"]?.string?.contains(option) == true)
        }
    }

    @Test func metricsExportTheLedgerAsPrometheusCounters() async throws {
        let model = "metrics-\(UUID().uuidString)"
        AIUsageLedger.shared.record(at: Date().timeIntervalSince1970, consumer: nil, route: "r\"1", model: model,
                                    provider: "openai", deployment: "gpt-4o-mini",
                                    usage: Usage(inputTokens: 12, outputTokens: 5, cachedInputTokens: 2), cost: 0.25)
        try await AdminFixture().run { client in
            let (status, contentType, text) = try await client.execute(uri: "/metrics", method: .get) { response in
                (response.status.code, response.headers[.contentType], String(buffer: response.body))
            }
            #expect(status == 200)
            #expect(contentType?.hasPrefix("text/plain; version=0.0.4") == true)
            let labels = #"model="\#(model)",provider="openai",deployment="gpt-4o-mini",route="r\"1",consumer="""#
            let lines = Set(text.split(separator: "\n").map(String.init))
            #expect(lines.contains("# TYPE konnect_ai_tokens_total counter"))
            #expect(lines.contains("konnect_ai_requests_total{\(labels)} 1"))
            #expect(lines.contains("konnect_ai_tokens_total{\(labels),kind=\"input\"} 12"))
            #expect(lines.contains("konnect_ai_tokens_total{\(labels),kind=\"output\"} 5"))
            #expect(lines.contains("konnect_ai_tokens_total{\(labels),kind=\"cached\"} 2"))
            #expect(lines.contains("konnect_ai_cost_dollars_total{\(labels)} 0.25"))
        }
    }
}
