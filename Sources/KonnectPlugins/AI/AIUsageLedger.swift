import KonnectAI
import NIOConcurrencyHelpers

/// Every AI request's tokens and cost, added up by minute, consumer, route and model: what
/// `GET /ai-usage` and `/metrics` answer from.
///
/// Counting a request only adds to a table in memory, so the proxy never waits on a disk. The
/// node's flusher moves that table to the archive once a second, and a question about usage
/// moves it first. The archive is the node's memory (a week of minutes) until the node gives it
/// a database (`use(_:)`).
public final class AIUsageLedger: Sendable {
    public static let shared = AIUsageLedger()

    /// More rows than this waiting for the archive (it has been failing for a long time) and
    /// the oldest minutes are dropped.
    static let maximumPendingRows = 500_000

    /// Rows counted since the last flush.
    private let pending = NIOLockedValueBox<[AIUsageKey: AIUsageTotals]>([:])
    /// Totals since the process started, by everything but the minute (`minute` is 0): what
    /// `/metrics` exports as counters, which must never go down.
    private let sinceStart = NIOLockedValueBox<[AIUsageKey: AIUsageTotals]>([:])
    /// Held for a whole flush, so that a question asked during another's flush waits for its rows.
    private let archive = NIOLockedValueBox<any AIUsageArchive>(MemoryUsageArchive())

    public init() {}

    /// From now on, keeps usage in `archive` (what the previous archive kept stays there).
    public func use(_ archive: any AIUsageArchive) {
        self.archive.withLockedValue { $0 = archive }
    }

    /// Counts one answered request.
    public func record(at seconds: Double, consumer: String?, route: String?, model: String, provider: String,
                       deployment: String, usage: Usage, cost: Double?) {
        let key = AIUsageKey(minute: Int64(seconds / 60), consumer: consumer ?? "", route: route ?? "", model: model,
                             provider: provider, deployment: deployment)
        let totals = AIUsageTotals(usage, cost: cost)
        pending.withLockedValue { rows in
            rows[key, default: AIUsageTotals()].add(totals)
            if rows.count > Self.maximumPendingRows { Self.dropOldestHalf(&rows) }
        }
        var series = key
        series.minute = 0
        sinceStart.withLockedValue { $0[series, default: AIUsageTotals()].add(totals) }
    }

    /// Moves what was counted since the last flush to the archive. When the archive fails, the
    /// rows wait for the next flush.
    public func flush() throws {
        try archive.withLockedValue { archive in
            let rows = pending.withLockedValue { rows in
                defer { rows = [:] }
                return rows
            }
            guard !rows.isEmpty else { return }
            do {
                try archive.add(rows)
            } catch {
                pending.withLockedValue { newer in
                    for (key, totals) in rows { newer[key, default: AIUsageTotals()].add(totals) }
                    if newer.count > Self.maximumPendingRows { Self.dropOldestHalf(&newer) }
                }
                throw error
            }
        }
    }

    /// The totals `query` asks for, in the order of its groups (everything counted so far
    /// included).
    public func totals(_ query: AIUsageQuery) throws -> [(group: [AIUsageDimension: String], totals: AIUsageTotals)] {
        try flush()
        return query.sorted(try archive.withLockedValue { try $0.totals(query) })
    }

    /// Totals since the process started, by consumer, route, model, provider and deployment.
    public var totalsSinceStart: [(key: AIUsageKey, totals: AIUsageTotals)] {
        sinceStart.withLockedValue { $0.map { ($0.key, $0.value) } }
    }

    static func dropOldestHalf(_ rows: inout [AIUsageKey: AIUsageTotals]) {
        let cut = rows.keys.map(\.minute).sorted()[rows.count / 2]
        rows = rows.filter { $0.key.minute > cut }
    }
}

/// Usage kept in the node's memory for a week (older minutes, and the oldest when there are too
/// many, are dropped): the archive of a node without a data directory.
final class MemoryUsageArchive: AIUsageArchive {
    static let retentionMinutes: Int64 = 7 * 24 * 60
    static let maximumRows = 500_000

    private let rows = NIOLockedValueBox<[AIUsageKey: AIUsageTotals]>([:])

    func add(_ added: [AIUsageKey: AIUsageTotals]) {
        let oldest = Int64(RateWindow.now() / 60) - Self.retentionMinutes
        rows.withLockedValue { rows in
            for (key, totals) in added { rows[key, default: AIUsageTotals()].add(totals) }
            if rows.count > Self.maximumRows {
                rows = rows.filter { $0.key.minute >= oldest }
                if rows.count > Self.maximumRows { AIUsageLedger.dropOldestHalf(&rows) }
            }
        }
    }

    func totals(_ query: AIUsageQuery) -> [[AIUsageDimension: String]: AIUsageTotals] {
        let oldest = Int64(RateWindow.now() / 60) - Self.retentionMinutes
        return rows.withLockedValue { rows in
            var groups: [[AIUsageDimension: String]: AIUsageTotals] = [:]
            for (key, totals) in rows where key.minute >= oldest && query.includes(key) {
                groups[query.group(of: key), default: AIUsageTotals()].add(totals)
            }
            return groups
        }
    }
}
