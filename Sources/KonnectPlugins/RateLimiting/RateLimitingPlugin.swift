import Foundation
import KonnectConfig

/// Kong's rate-limiting: requests per second … year for each consumer (or credential, client
/// address, service, header value, path), counted on this node. Beyond Kong OSS: sliding windows,
/// and a limit on requests in flight (`concurrency`).
struct RateLimitingPlugin: ProxyPlugin {
    let name = "rate-limiting"
    var phases: PluginPhases { concurrency == nil ? .access : [.access, .log] }

    enum LimitBy: String {
        case consumer, credential, ip, service, header, path
    }

    /// The configured windows, shortest first.
    let limits: [RateLimit]
    let limitBy: LimitBy
    /// `header_name`, lower-cased.
    let headerName: String?
    let path: String?
    let sliding: Bool
    let concurrency: Int?
    let hideClientHeaders: Bool
    let errorCode: Int
    let errorMessage: String
    let counters: LocalRateCounters
    /// `X-RateLimit-Limit-<Window>: <limit>\r\nX-RateLimit-Remaining-<Window>: ` per window: the
    /// fixed part of each window's header lines, made once.
    private let windowLinePrefixes: [String]
    private let limitTexts: [String]

    init(config: JSONValue, counters: LocalRateCounters = .shared) throws(PluginConfigProblem) {
        limits = RateWindow.allCases.compactMap { window in
            config.number("\(window)").map { RateLimit(window: window, count: $0) }
        }
        limitBy = LimitBy(rawValue: config.text("limit_by") ?? "consumer") ?? .consumer
        headerName = config.text("header_name")?.lowercased()
        path = config.text("path")
        sliding = config.text("window_type") == "sliding"
        concurrency = config.number("concurrency").map { Int($0) }
        hideClientHeaders = config.flag("hide_client_headers")
        errorCode = config.number("error_code").map { Int($0) } ?? 429
        errorMessage = config.text("error_message") ?? "API rate limit exceeded"
        if config.text("policy") == "redis" {
            throw PluginConfigProblem(description: "config.policy redis is not available in this build yet")
        }
        self.counters = counters
        limitTexts = limits.map { Self.integerText($0.count) }
        windowLinePrefixes = zip(limits, limitTexts).map { limit, text in
            "X-RateLimit-Limit-\(limit.window.headerWord): \(text)\r\nX-RateLimit-Remaining-\(limit.window.headerWord): "
        }
    }

    func access(_ context: PluginContext) -> AccessResult {
        let key = counterKey(context)
        if !limits.isEmpty {
            let now = Date().timeIntervalSince1970
            let usage = counters.take(key, limits: limits, now: now, sliding: sliding)
            if !hideClientHeaders { addHeaders(usage, now: now, context) }
            if let refused = usage.refusedBy {
                let retryAfter = max(1, usage.windows[refused].reset - Int64(now))
                return .respond(status: errorCode, message: errorMessage, headers: [.init("Retry-After", String(retryAfter))])
            }
        }
        if let concurrency {
            guard counters.enter(key, limit: concurrency) else {
                return .respond(status: errorCode, message: errorMessage, headers: [.init("Retry-After", "1")])
            }
            context.values[name] = key  // the slot is given back in the log phase
        }
        return .proceed
    }

    func log(_ context: PluginContext, _ record: LogRecord) {
        if let key = context.values[name] { counters.leave(key) }
    }

    /// Who the request is counted for, within its route and service (as Kong keys its counters).
    private func counterKey(_ context: PluginContext) -> String {
        var identifier: String?
        switch limitBy {
        case .consumer: identifier = context.consumer?.id ?? context.identity?.credentialID
        case .credential: identifier = context.identity?.credentialID
        case .ip: break
        case .service: identifier = context.serviceID
        case .header:
            if let headerName, case .one(let value) = context.head.value(named: headerName) { identifier = value }
        case .path: if context.path == path { identifier = path }
        }
        return "\(context.routeID ?? "")\u{1}\(context.serviceID ?? "")\u{1}\(identifier ?? context.clientIP)"
    }

    /// `X-RateLimit-*` per window and `RateLimit-*` for the window with the fewest requests left
    /// (the longer one on a tie), as Kong sends them.
    private func addHeaders(_ usage: RateUsage, now: Double, _ context: PluginContext) {
        var lines = ""
        lines.reserveCapacity(windowLinePrefixes.count * 64 + 80)
        var shown = 0
        for (index, window) in usage.windows.enumerated() {
            let remaining = window.remaining
            lines += windowLinePrefixes[index]
            lines += String(remaining)
            lines += "\r\n"
            let best = usage.windows[shown]
            if remaining < best.remaining || (remaining == best.remaining && index > shown) { shown = index }
        }
        let window = usage.windows[shown]
        lines += "RateLimit-Limit: \(limitTexts[shown])\r\nRateLimit-Remaining: \(window.remaining)\r\n"
        lines += "RateLimit-Reset: \(max(1, window.reset - Int64(now)))\r\n"
        context.addResponseLines(lines)
    }

    private static func integerText(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
