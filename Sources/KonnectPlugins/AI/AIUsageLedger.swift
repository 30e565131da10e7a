import KonnectAI
import NIOConcurrencyHelpers

/// Every AI request's tokens and cost, added up by minute, consumer, route and model: what
/// `GET /ai-usage` answers from. Kept in this process's memory for a week (older minutes, and the
/// oldest when there are too many, are dropped).
public final class AIUsageLedger: Sendable {
    public static let shared = AIUsageLedger()

    /// What one row of the ledger counts for.
    public struct Key: Hashable, Sendable {
        /// Minutes since 1970 (UTC).
        public var minute: Int64
        /// The consumer's id; empty for requests without one.
        public var consumer: String
        /// The route's id.
        public var route: String
        /// The model name the client asked for.
        public var model: String
        public var provider: String
        /// The provider's name for the model that answered.
        public var deployment: String
    }

    public struct Totals: Sendable, Equatable {
        public var requests = 0
        public var inputTokens = 0
        public var outputTokens = 0
        public var cachedTokens = 0
        /// US dollars, for the requests whose price is known.
        public var cost = 0.0
        /// Requests whose usage Konnect estimated (the provider reported none).
        public var estimated = 0

        public init() {}

        mutating func add(_ other: Totals) {
            requests += other.requests
            inputTokens += other.inputTokens
            outputTokens += other.outputTokens
            cachedTokens += other.cachedTokens
            cost += other.cost
            estimated += other.estimated
        }
    }

    static let retentionMinutes: Int64 = 7 * 24 * 60
    static let maximumRows = 500_000

    private let rows = NIOLockedValueBox<[Key: Totals]>([:])
    /// Totals since the process started, by everything but the minute (`minute` is 0): what
    /// `/metrics` exports as counters, which must never go down as old minutes are dropped.
    private let sinceStart = NIOLockedValueBox<[Key: Totals]>([:])

    public init() {}

    /// Counts one answered request.
    public func record(at seconds: Double, consumer: String?, route: String?, model: String, provider: String,
                       deployment: String, usage: Usage, cost: Double?) {
        let key = Key(minute: Int64(seconds / 60), consumer: consumer ?? "", route: route ?? "", model: model,
                      provider: provider, deployment: deployment)
        var totals = Totals()
        totals.requests = 1
        totals.inputTokens = usage.inputTokens
        totals.outputTokens = usage.outputTokens
        totals.cachedTokens = usage.cachedInputTokens
        totals.cost = cost ?? 0
        totals.estimated = usage.estimated ? 1 : 0
        rows.withLockedValue { rows in
            rows[key, default: Totals()].add(totals)
            if rows.count > Self.maximumRows { Self.prune(&rows, before: key.minute - Self.retentionMinutes) }
        }
        var series = key
        series.minute = 0
        sinceStart.withLockedValue { $0[series, default: Totals()].add(totals) }
    }

    /// Totals since the process started, by consumer, route, model, provider and deployment.
    public var totalsSinceStart: [(key: Key, totals: Totals)] {
        sinceStart.withLockedValue { $0.map { ($0.key, $0.value) } }
    }

    /// Drops minutes before `minute`, and then, if still too many, the oldest half.
    private static func prune(_ rows: inout [Key: Totals], before minute: Int64) {
        rows = rows.filter { $0.key.minute >= minute }
        if rows.count > maximumRows {
            let cut = rows.keys.map(\.minute).sorted()[rows.count / 2]
            rows = rows.filter { $0.key.minute > cut }
        }
    }

    /// A way of grouping rows.
    public enum Dimension: String, Sendable, CaseIterable {
        case consumer, route, model, provider, deployment, day, hour, minute
    }

    /// The totals of the rows between `from` and `to` (seconds since 1970, `to` excluded) that
    /// `include` keeps, grouped by `dimensions` (one group of everything when none).
    public func totals(from: Double, to: Double, where include: (Key) -> Bool = { _ in true },
                       groupBy dimensions: [Dimension]) -> [(group: [Dimension: String], totals: Totals)] {
        let first = Int64((from / 60).rounded(.down)), last = Int64((to / 60).rounded(.up))
        let now = Int64(RateWindow.now() / 60)
        var groups: [[Dimension: String]: Totals] = [:]
        rows.withLockedValue { rows in
            for (key, totals) in rows where key.minute >= first && key.minute < last && include(key) {
                var group: [Dimension: String] = [:]
                for dimension in dimensions { group[dimension] = Self.value(of: key, dimension) }
                groups[group, default: Totals()].add(totals)
            }
            if rows.count > Self.maximumRows / 2 { Self.prune(&rows, before: now - Self.retentionMinutes) }
        }
        return groups.map { ($0.key, $0.value) }.sorted { lhs, rhs in
            dimensions.lazy.map { (lhs.group[$0] ?? "", rhs.group[$0] ?? "") }.first { $0 != $1 }.map { $0 < $1 } ?? false
        }
    }

    private static func value(of key: Key, _ dimension: Dimension) -> String {
        switch dimension {
        case .consumer: key.consumer
        case .route: key.route
        case .model: key.model
        case .provider: key.provider
        case .deployment: key.deployment
        case .day: String(key.minute / (24 * 60) * 24 * 3600)
        case .hour: String(key.minute / 60 * 3600)
        case .minute: String(key.minute * 60)
        }
    }
}
