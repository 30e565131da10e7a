/// What one row of AI usage counts for: a minute, and who asked for which model through which
/// route, answered by which deployment.
public struct AIUsageKey: Hashable, Sendable {
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

    public init(minute: Int64, consumer: String, route: String, model: String, provider: String, deployment: String) {
        self.minute = minute
        self.consumer = consumer
        self.route = route
        self.model = model
        self.provider = provider
        self.deployment = deployment
    }
}

/// Requests, tokens and cost added up.
public struct AIUsageTotals: Sendable, Equatable {
    public var requests = 0
    public var inputTokens = 0
    public var outputTokens = 0
    public var cachedTokens = 0
    /// US dollars, for the requests whose price is known.
    public var cost = 0.0
    /// Requests whose usage Konnect estimated (the provider reported none).
    public var estimated = 0

    public init() {}

    /// One request's usage.
    public init(_ usage: Usage, cost: Double?) {
        requests = 1
        inputTokens = usage.inputTokens
        outputTokens = usage.outputTokens
        cachedTokens = usage.cachedInputTokens
        self.cost = cost ?? 0
        estimated = usage.estimated ? 1 : 0
    }

    /// Adds `other`; a count that would pass `Int.max` stays there (a provider reports the
    /// tokens, and a process runs for months).
    public mutating func add(_ other: AIUsageTotals) {
        func sum(_ a: Int, _ b: Int) -> Int {
            let (total, overflow) = a.addingReportingOverflow(b)
            return overflow ? (b > 0 ? .max : .min) : total
        }
        requests = sum(requests, other.requests)
        inputTokens = sum(inputTokens, other.inputTokens)
        outputTokens = sum(outputTokens, other.outputTokens)
        cachedTokens = sum(cachedTokens, other.cachedTokens)
        cost += other.cost
        estimated = sum(estimated, other.estimated)
    }
}

/// A way of grouping usage.
public enum AIUsageDimension: String, Sendable, CaseIterable {
    case consumer, route, model, provider, deployment, day, hour, minute

    /// The group `key` falls in: the field itself, or the start of its day, hour or minute in
    /// seconds since 1970.
    public func value(of key: AIUsageKey) -> String {
        switch self {
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

/// A question to the usage records: the rows between two times that match the filters, grouped.
public struct AIUsageQuery: Sendable {
    /// The first minute counted (minutes since 1970).
    public var firstMinute: Int64
    /// The first minute no longer counted.
    public var endMinute: Int64
    public var consumer: String?
    public var route: String?
    public var model: String?
    public var groupBy: [AIUsageDimension]

    /// The minutes that overlap `from ..< to` (seconds since 1970).
    public init(from: Double, to: Double, consumer: String? = nil, route: String? = nil, model: String? = nil,
                groupBy: [AIUsageDimension] = []) {
        firstMinute = Int64((from / 60).rounded(.down))
        endMinute = Int64((to / 60).rounded(.up))
        self.consumer = consumer
        self.route = route
        self.model = model
        self.groupBy = groupBy
    }

    public func includes(_ key: AIUsageKey) -> Bool {
        key.minute >= firstMinute && key.minute < endMinute && (consumer == nil || key.consumer == consumer)
            && (route == nil || key.route == route) && (model == nil || key.model == model)
    }

    /// The group of `key`, by this query's dimensions.
    public func group(of key: AIUsageKey) -> [AIUsageDimension: String] {
        var group: [AIUsageDimension: String] = [:]
        for dimension in groupBy { group[dimension] = dimension.value(of: key) }
        return group
    }

    /// `groups` in the order of their values, dimension by dimension.
    public func sorted(_ groups: [[AIUsageDimension: String]: AIUsageTotals]) -> [(group: [AIUsageDimension: String], totals: AIUsageTotals)] {
        groups.map { ($0.key, $0.value) }.sorted { lhs, rhs in
            groupBy.lazy.map { (lhs.group[$0] ?? "", rhs.group[$0] ?? "") }.first { $0 != $1 }.map { $0 < $1 } ?? false
        }
    }
}

/// Where AI usage is kept once counted: the node's memory, or a database that outlives restarts.
public protocol AIUsageArchive: Sendable {
    /// Adds `rows` to what is kept (a row already kept for the same key grows by it).
    func add(_ rows: [AIUsageKey: AIUsageTotals]) throws

    /// The totals of the kept rows `query` includes, by its groups.
    func totals(_ query: AIUsageQuery) throws -> [[AIUsageDimension: String]: AIUsageTotals]
}
