import Foundation
import KonnectAI
@testable import KonnectStore
import Testing

/// AI usage in its SQLite archive (`ai-usage.db`).
@Suite("AI usage archive")
struct SQLiteUsageArchiveTests {
    /// Minutes since 1970 of 2026-11-22 12:00 UTC, a start of an hour.
    static let noon: Int64 = 29_922_480

    static func key(_ minute: Int64, consumer: String = "alice", model: String = "chat", deployment: String = "gpt-4o-mini") -> AIUsageKey {
        AIUsageKey(minute: minute, consumer: consumer, route: "r1", model: model, provider: "openai", deployment: deployment)
    }

    static func totals(_ requests: Int, input: Int, output: Int, cached: Int = 0, cost: Double = 0, estimated: Int = 0) -> AIUsageTotals {
        var totals = AIUsageTotals()
        totals.requests = requests
        totals.inputTokens = input
        totals.outputTokens = output
        totals.cachedTokens = cached
        totals.cost = cost
        totals.estimated = estimated
        return totals
    }

    static func query(_ groupBy: [AIUsageDimension] = [], consumer: String? = nil, from: Int64 = 0, to: Int64 = noon + 100_000) -> AIUsageQuery {
        AIUsageQuery(from: Double(from * 60), to: Double(to * 60), consumer: consumer, groupBy: groupBy)
    }

    @Test func rowsGrowAndOutliveReopening() throws {
        let directory = DataDirectory()
        do {
            let archive = try SQLiteUsageArchive(directory: directory.path)
            try archive.add([Self.key(Self.noon): Self.totals(1, input: 100, output: 20, cached: 40, cost: 0.001)])
            try archive.add([
                Self.key(Self.noon): Self.totals(2, input: 10, output: 5, cost: 0.002, estimated: 1),
                Self.key(Self.noon + 1, consumer: ""): Self.totals(1, input: 7, output: 3),
            ])
        }
        let reopened = try SQLiteUsageArchive(directory: directory.path)
        let all = try reopened.totals(Self.query())
        #expect(all.count == 1)
        let total = try #require(all[[:]])
        #expect(total.requests == 4 && total.inputTokens == 117 && total.outputTokens == 28 && total.cachedTokens == 40)
        #expect(abs(total.cost - 0.003) < 1e-12 && total.estimated == 1)

        let byConsumer = try reopened.totals(Self.query([.consumer, .minute]))
        #expect(byConsumer[[.consumer: "alice", .minute: String(Self.noon * 60)]]?.requests == 3)
        #expect(byConsumer[[.consumer: "", .minute: String((Self.noon + 1) * 60)]]?.requests == 1)
        #expect(try reopened.totals(Self.query(consumer: "alice"))[[:]]?.inputTokens == 110)
        // The minute range: `to` excluded.
        #expect(try reopened.totals(Self.query(from: Self.noon + 1))[[:]]?.requests == 1)
        #expect(try reopened.totals(Self.query(to: Self.noon)).isEmpty)
    }

    /// A row's count stops at the largest integer rather than turning into a float that would
    /// no longer read back as one (providers report the tokens).
    @Test func aCountStopsAtTheLargestInteger() throws {
        let directory = DataDirectory()
        let archive = try SQLiteUsageArchive(directory: directory.path)
        for _ in 0..<2 { try archive.add([Self.key(Self.noon): Self.totals(1, input: Int.max - 10, output: 1)]) }
        let total = try #require(try archive.totals(Self.query())[[:]])
        #expect(total.inputTokens == Int.max)
        #expect(total.requests == 2 && total.outputTokens == 2)
    }

    @Test func groupsMatchWhatTheMemoryLedgerComputes() throws {
        let directory = DataDirectory()
        let archive = try SQLiteUsageArchive(directory: directory.path)
        let rows: [AIUsageKey: AIUsageTotals] = [
            Self.key(Self.noon - 1, deployment: "claude-sonnet-4-5"): Self.totals(1, input: 1, output: 1),
            Self.key(Self.noon + 61): Self.totals(1, input: 2, output: 2),
            Self.key(Self.noon + 24 * 60, model: "other"): Self.totals(1, input: 4, output: 4),
        ]
        try archive.add(rows)
        for dimensions: [AIUsageDimension] in [[.day], [.hour], [.model, .deployment], [.route, .provider]] {
            let query = Self.query(dimensions)
            var expected: [[AIUsageDimension: String]: AIUsageTotals] = [:]
            for (key, totals) in rows { expected[query.group(of: key), default: AIUsageTotals()].add(totals) }
            #expect(try archive.totals(query) == expected, "grouped by \(dimensions)")
        }
    }

    @Test func minutesOlderThanAWeekAreAddedUpByHourAndOldHoursDropped() throws {
        let directory = DataDirectory()
        let archive = try SQLiteUsageArchive(directory: directory.path, retentionDays: 30)
        let weekAgo = Self.noon - 7 * 24 * 60
        try archive.add([
            // Eight days ago: three minutes of one hour, one of them its first.
            Self.key(weekAgo - 24 * 60): Self.totals(1, input: 1, output: 1),
            Self.key(weekAgo - 24 * 60 + 5): Self.totals(1, input: 2, output: 2),
            Self.key(weekAgo - 24 * 60 + 59): Self.totals(1, input: 4, output: 4),
            // Six days ago: kept by minute.
            Self.key(weekAgo + 24 * 60 + 5): Self.totals(1, input: 8, output: 8),
            // 31 days ago: past the retention.
            Self.key(Self.noon - 31 * 24 * 60): Self.totals(1, input: 16, output: 16),
        ])
        // Compaction runs on the first write of an hour, for the newest minute written.
        try archive.add([Self.key(Self.noon): Self.totals(1, input: 32, output: 32)])
        let byMinute = try archive.totals(Self.query([.minute]))
        #expect(byMinute == [
            [.minute: String((weekAgo - 24 * 60) * 60)]: Self.totals(3, input: 7, output: 7),
            [.minute: String((weekAgo + 24 * 60 + 5) * 60)]: Self.totals(1, input: 8, output: 8),
            [.minute: String(Self.noon * 60)]: Self.totals(1, input: 32, output: 32),
        ])
    }

    @Test func anEmptyArchiveAnswersNoGroups() throws {
        let directory = DataDirectory()
        let archive = try SQLiteUsageArchive(directory: directory.path)
        #expect(try archive.totals(Self.query()).isEmpty)
        #expect(try archive.totals(Self.query([.model])).isEmpty)
    }
}
