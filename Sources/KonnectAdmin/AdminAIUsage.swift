import Foundation
import HTTPTypes
import Hummingbird
import KonnectAI
import KonnectConfig
import KonnectPlugins
import KonnectStore

/// `GET /ai-usage`: the AI gateway's tokens and cost, filtered and grouped.
///
/// Query: `from` and `to` (seconds since 1970 or RFC 3339 times; the last 24 hours by default),
/// `consumer` (id or username), `route` (id or name), `model`, and `group_by` (a comma-separated
/// list of consumer, route, model, provider, deployment, day, hour, minute).
extension AdminAPI {
    func aiUsage(_ request: Request) async -> Response {
        let query = request.uri.queryParameters
        let now = Date().timeIntervalSince1970
        func time(_ name: String, default value: Double) -> Result<Double, EntityError> {
            guard let text = query[Substring(name)].map(String.init), !text.isEmpty else { return .success(value) }
            // Whole seconds in a sane range (a NaN or an infinity would trap in the ledger's arithmetic).
            if let seconds = Int64(text), (0...100_000_000_000).contains(seconds) { return .success(Double(seconds)) }
            if let date = ISO8601DateFormatter().date(from: text) { return .success(date.timeIntervalSince1970) }
            return .failure(EntityError(status: 400, message: "invalid option (\(name): expected seconds since 1970 or an RFC 3339 time)"))
        }
        let from: Double, to: Double
        switch (time("from", default: now - 86_400), time("to", default: now + 60)) {
        case (.success(let start), .success(let end)): (from, to) = (start, end)
        case (.failure(let error), _), (_, .failure(let error)): return Self.json(error.status, error.body)
        }
        var dimensions: [AIUsageDimension] = []
        for name in (query["group_by"].map(String.init) ?? "").split(separator: ",") {
            guard let dimension = AIUsageDimension(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                let known = AIUsageDimension.allCases.map(\.rawValue).joined(separator: ", ")
                return Self.json(400, .object(["message": .string("invalid option (group_by: \(name) is not one of \(known))")]))
            }
            if !dimensions.contains(dimension) { dimensions.append(dimension) }
        }
        let configuration = await control.configuration
        // Consumers and routes are given by id or name; the ledger keeps ids.
        let consumer = query["consumer"].map(String.init).map { given in
            configuration.consumers.first { $0.id == given || $0.username == given }?.id ?? given
        }
        let route = query["route"].map(String.init).map { given in
            configuration.routes.first { $0.id == given || $0.name == given }?.id ?? given
        }
        let groups: [(group: [AIUsageDimension: String], totals: AIUsageTotals)]
        do {
            groups = try AIUsageLedger.shared.totals(AIUsageQuery(
                from: from, to: to, consumer: consumer, route: route, model: query["model"].map(String.init),
                groupBy: dimensions))
        } catch {
            return Self.json(500, .object(["message": .string("cannot read the AI usage archive: \(error)")]))
        }
        let data: [JSONValue] = groups.map { group, totals in
            var row: [String: JSONValue] = [
                "requests": .number(Double(totals.requests)), "input_tokens": .number(Double(totals.inputTokens)),
                "output_tokens": .number(Double(totals.outputTokens)), "cached_tokens": .number(Double(totals.cachedTokens)),
                "cost": .number(totals.cost), "estimated_requests": .number(Double(totals.estimated)),
            ]
            for (dimension, value) in group {
                switch dimension {
                case .day, .hour, .minute: row[dimension.rawValue] = .number(Double(value) ?? 0)
                case .consumer:
                    row["consumer"] = value.isEmpty ? .null : .string(value)
                    if let username = configuration.consumers.first(where: { $0.id == value })?.username {
                        row["consumer_username"] = .string(username)
                    }
                case .route:
                    row["route"] = value.isEmpty ? .null : .string(value)
                    if let name = configuration.routes.first(where: { $0.id == value })?.name { row["route_name"] = .string(name) }
                default: row[dimension.rawValue] = .string(value)
                }
            }
            return .object(row)
        }
        return Self.json(200, .object([
            "from": .number(from.rounded(.down)), "to": .number(to.rounded(.down)),
            "group_by": .array(dimensions.map { .string($0.rawValue) }), "data": .array(data),
        ]))
    }
}
