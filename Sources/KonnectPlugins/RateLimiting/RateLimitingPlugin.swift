import KonnectConfig
import KonnectHTTP1
import KonnectRedis
import NIOCore

/// Kong's rate-limiting: requests per second … year for each consumer (or credential, consumer
/// group, client address, service, header value, path), counted on this node or in Redis.
/// Beyond Kong OSS: sliding windows, and a limit on requests in flight on this node
/// (`concurrency`).
final class RateLimitingPlugin: ReadOnlyAccess {
    let name = "rate-limiting"
    var phases: PluginPhases { concurrency == nil ? .access : [.access, .log] }

    enum LimitBy: String {
        case consumer, credential, ip, service, header, path
        case consumerGroup = "consumer-group"
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
    /// The redis policy's counters (nil for local).
    let redis: RedisRateCounters?
    let redisSettings: RedisRateCounters.Settings?
    let faultTolerant: Bool
    /// `X-RateLimit-Limit-<Window>: <limit>\r\nX-RateLimit-Remaining-<Window>: ` per window: the
    /// fixed part of each window's header lines, made once.
    /// (Where in `lineBytes`.)
    private let windowLinePrefixes: [Range<Int>]
    /// `RateLimit-Limit: <limit>\r\nRateLimit-Remaining: ` per window, for the window shown.
    private let summaryLinePrefixes: [Range<Int>]
    /// The fixed parts of the header lines, one after the other (read in place per request,
    /// which strings in an array are not).
    private let lineBytes: [UInt8]
    /// Room enough for the header lines of any request.
    private let headerBytes: Int

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
        faultTolerant = config.flag("fault_tolerant")
        if config.text("policy") == "redis", let record = config["redis"] {
            let settings = RedisRateCounters.Settings(record)
            redisSettings = settings
            redis = RedisRateCounters(settings)
        } else {
            redisSettings = nil
            redis = nil
        }
        self.counters = counters
        let limitTexts = limits.map { Self.integerText($0.count) }
        var lineBytes: [UInt8] = []
        func piece(_ text: String) -> Range<Int> {
            lineBytes += text.utf8
            return lineBytes.count - text.utf8.count..<lineBytes.count
        }
        windowLinePrefixes = zip(limits, limitTexts).map { limit, text in
            piece("X-RateLimit-Limit-\(limit.window.headerWord): \(text)\r\nX-RateLimit-Remaining-\(limit.window.headerWord): ")
        }
        summaryLinePrefixes = limitTexts.map { piece("RateLimit-Limit: \($0)\r\nRateLimit-Remaining: ") }
        self.lineBytes = lineBytes
        headerBytes = windowLinePrefixes.reduce(0) { $0 + $1.count + 22 } + (summaryLinePrefixes.map(\.count).max() ?? 0) + 64
    }

    /// Counted on this node with no limit on requests in flight: only the windows are counted.
    var readsOnly: Bool { redis == nil && concurrency == nil }

    func access(_ head: HTTP1Head, path: String, clientIP: String, chain: PluginChain,
                memory: inout ConnectionMemory, responseLines: inout ByteBuffer) -> AccessResult {
        guard !limits.isEmpty else { return .proceed }
        let key = counterKey(identity: nil, chain: chain, head: head, path: path, clientIP: clientIP, memory: &memory)
        let now = RateWindow.now()
        let usage = counters.take(key, limits: limits, now: now, sliding: sliding)
        if !hideClientHeaders {
            responseLines.writeHead(estimate: headerBytes) { writeHeaderLines(usage, now: now, &$0) }
        }
        return decision(usage, now)
    }

    func access(_ context: PluginContext) -> AccessResult {
        let key = counterKey(identity: context.identity, chain: context.chain, head: context.head, path: context.path,
                             clientIP: context.clientIP, memory: &context.memory)
        // The in-flight slot comes first, so that a request it turns away uses up no window's
        // quota; a slot taken is given back in the log phase, whatever the windows decide.
        if let concurrency {
            guard counters.enter(key, limit: concurrency) else {
                return .respond(status: errorCode, message: errorMessage, headers: [.init("Retry-After", "1")])
            }
            context.values[name] = key.identifier
        }
        guard !limits.isEmpty else { return .proceed }
        let now = RateWindow.now()
        guard let redis, let redisSettings else {
            return counted(counters.take(key, limits: limits, now: now, sliding: sliding), now, context)
        }
        if redis.isResting(at: now) { return withoutRedis(key, now, context) }
        // Redis answers on a loop of its own; the decision is made back on the request's loop,
        // by whichever comes first: the answer, or the request's deadline. The client's timeout
        // applies to each step (connecting, AUTH, EVALSHA, the EVAL after NOSCRIPT), so without
        // a deadline of its own a request could wait several of them. An answer after the
        // deadline is dropped (Redis has counted the request all the same).
        let pending = PendingAccess()
        let loop = context.eventLoop
        let timeout = TimeAmount.milliseconds(Int64(redisSettings.timeout))
        let waiter = RedisDeadlines.on(loop, timeout: timeout).add()
        // Called on the request's loop, by the answer or by the deadline.
        let decide = { (result: Result<RateUsage, any Error>) in
            guard !waiter.done else { return }
            waiter.done = true
            waiter.expire = nil
            switch result {
            case .success(let usage):
                pending.complete(self.counted(usage, now, context))
            case .failure(let error):
                redis.failed(at: RateWindow.now())
                RedisRateCounters.warn(error, settings: redisSettings, countingLocally: self.faultTolerant)
                pending.complete(self.withoutRedis(key, now, context))
            }
        }
        waiter.expire = { decide(.failure(RedisError.timeout(timeout))) }
        redis.take(key, limits: limits, now: now, sliding: sliding, on: loop, decide)
        return .wait(pending)
    }

    /// The decision when Redis has failed: counted on this node (`fault_tolerant`), or a 500.
    private func withoutRedis(_ key: RateKey, _ now: Double, _ context: PluginContext) -> AccessResult {
        guard faultTolerant else {
            return .respond(status: 500, message: "An unexpected error occurred (rate-limiting counters are unavailable)")
        }
        return counted(counters.take(key, limits: limits, now: now, sliding: sliding), now, context)
    }

    /// The request has been counted: refused when a window is full.
    private func counted(_ usage: RateUsage, _ now: Double, _ context: PluginContext) -> AccessResult {
        if !hideClientHeaders {
            context.writeResponseLines(estimate: headerBytes) { writeHeaderLines(usage, now: now, &$0) }
        }
        return decision(usage, now)
    }

    /// Refused when a window is full.
    private func decision(_ usage: RateUsage, _ now: Double) -> AccessResult {
        if let refused = usage.refusedBy {
            let retryAfter = max(1, usage.windows[refused].reset - Int64(now))
            return .respond(status: errorCode, message: errorMessage, headers: [.init("Retry-After", String(retryAfter))])
        }
        return .proceed
    }

    func log(_ context: PluginContext, _ record: LogRecord) {
        if let identifier = context.values[name] as? String {
            counters.leave(RateKey(context.chain, identifier: identifier))
        }
    }

    /// Who the request is counted for, within its route and service (as Kong keys its counters).
    private func counterKey(identity: Identity?, chain: PluginChain?, head: HTTP1Head, path: String, clientIP: String,
                            memory: inout ConnectionMemory) -> RateKey {
        var identifier: String?
        switch limitBy {
        case .consumer: identifier = identity?.consumer.id ?? identity?.credentialID
        case .credential: identifier = identity?.credentialID
        case .consumerGroup: identifier = identity?.consumerGroupID
        case .ip: break
        case .service: identifier = chain?.service
        case .header:
            if let headerName, case .one(let value) = head.value(named: headerName) { identifier = value }
        case .path: if path == self.path { identifier = path }
        }
        let client = identifier ?? clientIP
        // The connection's last request usually had the same key: it is not hashed again.
        if let last = memory.rateKey, last.identifier == client, last.scope == chain?.scope {
            return last
        }
        let key = RateKey(chain, identifier: client)
        // Kept while the connection idles, so only when short (a header value may be kilobytes).
        if client.utf8.count <= 64 { memory.rateKey = key }
        return key
    }

    /// `X-RateLimit-*` per window and `RateLimit-*` for the window with the fewest requests left
    /// (the longer one on a tie), as Kong sends them.
    /// (Written in place: nothing is built per request.)
    private func writeHeaderLines(_ usage: RateUsage, now: Double, _ lines: inout HTTP1HeadWriter) {
        lineBytes.withUnsafeBytes { fixed in
            // By index: the windows are not copied.
            var shown = 0
            var fewest = Int.max
            for index in usage.windows.indices {
                let remaining = usage.remaining(index)
                lines.write(UnsafeRawBufferPointer(rebasing: fixed[windowLinePrefixes[index]]))
                lines.writeDecimal(remaining)
                lines.write("\r\n")
                if remaining <= fewest {
                    shown = index
                    fewest = remaining
                }
            }
            lines.write(UnsafeRawBufferPointer(rebasing: fixed[summaryLinePrefixes[shown]]))
            lines.writeDecimal(fewest)
            lines.write("\r\nRateLimit-Reset: ")
            lines.writeDecimal(Int(max(1, usage.windows[shown].reset - Int64(now))))
            lines.write("\r\n")
        }
    }

    private static func integerText(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
