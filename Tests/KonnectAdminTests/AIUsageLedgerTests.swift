import Foundation
import KonnectAI
import KonnectPlugins
import KonnectStore
import NIOConcurrencyHelpers
import Testing

/// The usage ledger in front of its archive: what a node counts reaches the archive, survives a
/// restart, and waits in memory while the archive fails.
@Suite("AI usage ledger")
struct AIUsageLedgerTests {
    static let usage = Usage(inputTokens: 10, outputTokens: 4, cachedInputTokens: 2)

    static func record(_ ledger: AIUsageLedger, consumer: String? = "alice", at seconds: Double = Date().timeIntervalSince1970) {
        ledger.record(at: seconds, consumer: consumer, route: "r1", model: "chat", provider: "openai",
                      deployment: "gpt-4o-mini", usage: usage, cost: 0.5)
    }

    @Test func usageOutlivesARestartOfTheNode() throws {
        let directory = NSTemporaryDirectory() + "konnect-usage-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let ledger = AIUsageLedger()
            ledger.use(try SQLiteUsageArchive(directory: directory))
            Self.record(ledger)
            Self.record(ledger, consumer: nil)
            try ledger.flush()
            Self.record(ledger)
            // A node that stops flushes what it counted last (konnect's flusher does it on shutdown).
            try ledger.flush()
        }
        let restarted = AIUsageLedger()
        restarted.use(try SQLiteUsageArchive(directory: directory))
        let rows = try restarted.totals(AIUsageQuery(from: 0, to: 4e9, groupBy: [.consumer]))
        #expect(rows.map(\.group) == [[.consumer: ""], [.consumer: "alice"]])
        #expect(rows.map(\.totals.requests) == [1, 2])
        #expect(rows.last?.totals.inputTokens == 20 && rows.last?.totals.cachedTokens == 4 && rows.last?.totals.cost == 1)
        // A fresh process counts its metrics from zero; the archive keeps the history.
        #expect(restarted.totalsSinceStart.isEmpty)
    }

    @Test func rowsWaitInMemoryWhileTheArchiveFails() throws {
        let archive = FlakyArchive()
        let ledger = AIUsageLedger()
        ledger.use(archive)
        Self.record(ledger)
        archive.failing.withLockedValue { $0 = true }
        #expect(throws: FlakyArchive.Failure.self) { try ledger.flush() }
        Self.record(ledger)
        #expect(throws: FlakyArchive.Failure.self) { try ledger.totals(AIUsageQuery(from: 0, to: 4e9)) }
        archive.failing.withLockedValue { $0 = false }
        let total = try #require(try ledger.totals(AIUsageQuery(from: 0, to: 4e9)).first?.totals)
        #expect(total.requests == 2 && total.inputTokens == 20 && total.outputTokens == 8)
        // Nothing is archived twice.
        try ledger.flush()
        #expect(try ledger.totals(AIUsageQuery(from: 0, to: 4e9)).first?.totals.requests == 2)
    }
}

/// An archive in memory that fails while told to.
final class FlakyArchive: AIUsageArchive {
    struct Failure: Error {}
    let failing = NIOLockedValueBox(false)
    private let rows = NIOLockedValueBox<[AIUsageKey: AIUsageTotals]>([:])

    func add(_ added: [AIUsageKey: AIUsageTotals]) throws {
        if failing.withLockedValue({ $0 }) { throw Failure() }
        rows.withLockedValue { rows in
            for (key, totals) in added { rows[key, default: AIUsageTotals()].add(totals) }
        }
    }

    func totals(_ query: AIUsageQuery) throws -> [[AIUsageDimension: String]: AIUsageTotals] {
        rows.withLockedValue { rows in
            var groups: [[AIUsageDimension: String]: AIUsageTotals] = [:]
            for (key, totals) in rows where query.includes(key) { groups[query.group(of: key), default: AIUsageTotals()].add(totals) }
            return groups
        }
    }
}
