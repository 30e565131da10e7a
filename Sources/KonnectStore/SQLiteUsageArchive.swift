import Foundation
import GRDB
import KonnectAI

/// AI usage kept in its own SQLite file in the data directory (`ai-usage.db`), so that it
/// outlives restarts and never touches the configuration's database: writing it does not look
/// like a configuration change to other processes, and a backup of the configuration stays
/// small.
///
/// Rows are by minute for a week, then added up by hour (the minute of an older row is the
/// start of its hour), and dropped after `retentionDays`. A commit reaches the disk's cache
/// before it returns (WAL with `synchronous = NORMAL`): a killed process loses nothing already
/// added, a power cut may lose the last commits. The node adds what it counted once a second.
public final class SQLiteUsageArchive: AIUsageArchive {
    public let path: String
    public let retentionDays: Int
    private let pool: DatabasePool
    /// Minute rows older than this are added up by hour.
    static let minuteRowsFor: Int64 = 7 * 24 * 60
    /// The hour the old rows were last added up and dropped (minutes since 1970).
    private let compactedHour = LockedMinute()

    /// The file's name inside the data directory.
    public static let fileName = "ai-usage.db"

    static let columns = ["minute", "consumer", "route", "model", "provider", "deployment"]
    static let counters = ["requests", "input_tokens", "output_tokens", "cached_tokens", "cost", "estimated"]
    /// The start of an insert of whole rows; `upsert` makes a row that exists grow instead. A
    /// count stops at the largest integer (SQLite would turn it into a float that no longer
    /// reads as an integer); the cost is a float already.
    static let insert = "INSERT INTO ai_usage (\((columns + counters).joined(separator: ", ")))"
    static let upsert = "ON CONFLICT (\(columns.joined(separator: ", "))) DO UPDATE SET "
        + counters.map { name in
            name == "cost" ? "cost = cost + excluded.cost"
                : "\(name) = CASE WHEN \(name) > \(Int.max) - excluded.\(name) THEN \(Int.max) ELSE \(name) + excluded.\(name) END"
        }.joined(separator: ", ")

    /// Opens (creating when needed) the archive in `directory` and brings its table up to date.
    public init(directory: String, retentionDays: Int = 400) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent(Self.fileName)
        self.retentionDays = retentionDays
        var configuration = GRDB.Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        pool = try DatabasePool(path: path, configuration: configuration)
        var migrator = DatabaseMigrator()
        migrator.registerMigration("001_ai_usage") { db in
            try db.create(table: "ai_usage", options: .withoutRowID) { table in
                table.column("minute", .integer).notNull()
                for column in Self.columns.dropFirst() { table.column(column, .text).notNull() }
                for counter in Self.counters { table.column(counter, counter == "cost" ? .double : .integer).notNull() }
                table.primaryKey(Self.columns)
            }
        }
        try migrator.migrate(pool)
    }

    public func add(_ rows: [AIUsageKey: AIUsageTotals]) throws {
        let insert = "\(Self.insert) VALUES (\(Array(repeating: "?", count: 12).joined(separator: ", "))) \(Self.upsert)"
        let newest = rows.keys.map(\.minute).max() ?? 0
        try pool.write { db in
            let statement = try db.cachedStatement(sql: insert)
            for (key, totals) in rows {
                try statement.execute(arguments: [
                    key.minute, key.consumer, key.route, key.model, key.provider, key.deployment,
                    totals.requests, totals.inputTokens, totals.outputTokens, totals.cachedTokens, totals.cost, totals.estimated,
                ])
            }
            if compactedHour.advance(to: newest / 60 * 60) { try compact(db, now: newest) }
        }
    }

    /// Adds minute rows older than a week up by hour, and drops rows older than the retention.
    private func compact(_ db: Database, now minute: Int64) throws {
        let sums = Self.counters.map { "SUM(\($0))" }.joined(separator: ", ")
        let cut = minute - Self.minuteRowsFor
        // Rows at the start of an hour stay where they are; the rest of the hour joins them.
        try db.execute(sql: """
            \(Self.insert)
            SELECT minute / 60 * 60, consumer, route, model, provider, deployment, \(sums)
            FROM ai_usage WHERE minute < ? AND minute % 60 != 0
            GROUP BY minute / 60, consumer, route, model, provider, deployment
            \(Self.upsert)
            """, arguments: [cut])
        try db.execute(sql: "DELETE FROM ai_usage WHERE minute < ? AND minute % 60 != 0", arguments: [cut])
        try db.execute(sql: "DELETE FROM ai_usage WHERE minute < ?", arguments: [minute - Int64(retentionDays) * 24 * 60])
    }

    public func totals(_ query: AIUsageQuery) throws -> [[AIUsageDimension: String]: AIUsageTotals] {
        let groups = query.groupBy.map(Self.expression)
        var filters = ["minute >= ?", "minute < ?"]
        var arguments: [any DatabaseValueConvertible] = [query.firstMinute, query.endMinute]
        for (column, value) in [("consumer", query.consumer), ("route", query.route), ("model", query.model)] {
            if let value {
                filters.append("\(column) = ?")
                arguments.append(value)
            }
        }
        let sql = "SELECT \((groups + Self.counters.map { "SUM(\($0))" }).joined(separator: ", ")) FROM ai_usage "
            + "WHERE \(filters.joined(separator: " AND "))"
            + (groups.isEmpty ? "" : " GROUP BY \(groups.joined(separator: ", "))")
        return try pool.read { db in
            var result: [[AIUsageDimension: String]: AIUsageTotals] = [:]
            for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)) {
                // SUM over no rows is NULL: the one group of an empty range.
                guard let requests = row[groups.count] as Int?, requests > 0 else { continue }
                var group: [AIUsageDimension: String] = [:]
                for (index, dimension) in query.groupBy.enumerated() {
                    let value: DatabaseValue = row[index]
                    group[dimension] = String.fromDatabaseValue(value) ?? Int64.fromDatabaseValue(value).map(String.init) ?? ""
                }
                var totals = AIUsageTotals()
                totals.requests = requests
                totals.inputTokens = row[groups.count + 1]
                totals.outputTokens = row[groups.count + 2]
                totals.cachedTokens = row[groups.count + 3]
                totals.cost = row[groups.count + 4]
                totals.estimated = row[groups.count + 5]
                result[group, default: AIUsageTotals()].add(totals)
            }
            return result
        }
    }

    /// The SQL for a dimension's value, as `AIUsageDimension.value(of:)` computes it.
    private static func expression(_ dimension: AIUsageDimension) -> String {
        switch dimension {
        case .consumer, .route, .model, .provider, .deployment: dimension.rawValue
        case .day: "minute / 1440 * 86400"
        case .hour: "minute / 60 * 3600"
        case .minute: "minute * 60"
        }
    }
}

/// A minute that only moves forward.
private final class LockedMinute: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64 = 0

    /// Moves to `minute` when it is later; whether it moved.
    func advance(to minute: Int64) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard minute > value else { return false }
        value = minute
        return true
    }
}
