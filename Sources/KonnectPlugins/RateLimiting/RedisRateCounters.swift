import Foundation
import KonnectConfig
import KonnectRedis
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Rate-limiting counters kept in Redis (the `redis` policy), so that every node sharing the
/// server shares the limit.
///
/// One Lua script reads every window's count, decides, and increments them all or none: a check
/// and its increments are one atomic step on the server, so N nodes sharing a limit of L let
/// exactly L requests through, and a refused request uses up no window's quota. The keys of one
/// client share a hash tag, so the script also runs on a Redis Cluster.
struct RedisRateCounters: Sendable {
    let client: RedisClient
    let settings: Settings

    /// The settings of a plugin's `redis` record.
    struct Settings: Hashable, Sendable {
        var host: String
        var port: Int
        var username: String?
        var password: String?
        var database: Int
        var ssl: Bool
        var sslVerify: Bool
        var serverName: String?
        /// Milliseconds to connect and to wait for each answer.
        var timeout: Int

        init(_ redis: JSONValue) {
            host = redis.text("host") ?? "127.0.0.1"
            port = Int(redis.number("port") ?? 6379)
            username = redis.text("username")
            password = redis.text("password")
            database = Int(redis.number("database") ?? 0)
            ssl = redis.flag("ssl")
            sslVerify = redis.flag("ssl_verify")
            serverName = redis.text("server_name")
            timeout = Int(redis.number("timeout") ?? 2000)
        }
    }

    /// Clients by settings, kept for the process: plugins are rebuilt with every configuration
    /// change, their Redis connections are not.
    private static let clients = NIOLockedValueBox<[Settings: RedisClient]>([:])

    init(_ settings: Settings) {
        self.settings = settings
        client = Self.clients.withLockedValue { clients in
            if let client = clients[settings] { return client }
            let timeout = TimeAmount.milliseconds(Int64(settings.timeout))
            let client = RedisClient(
                configuration: RedisConfiguration(
                    host: settings.host, port: settings.port, username: settings.username, password: settings.password,
                    database: settings.database, tls: settings.ssl, tlsVerify: settings.sslVerify,
                    serverName: settings.serverName, connectTimeout: timeout, commandTimeout: timeout),
                eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
            clients[settings] = client
            return client
        }
    }

    /// KEYS: each window's key for this period, then (sliding windows) each window's key for the
    /// previous period. ARGV: the window count, then per window its limit, the seconds its key
    /// lives, and the weight of the previous period (0 for a fixed window). Returns the index of
    /// the first full window (0: none, and every window was counted), then each window's count
    /// before this request, as text (Redis would cut a Lua number to an integer).
    static let script = RedisScript("""
        local n = tonumber(ARGV[1])
        local refused = 0
        local used = {}
        for i = 1, n do
          local limit = tonumber(ARGV[3 * i - 1])
          local weight = tonumber(ARGV[3 * i + 1])
          local count = tonumber(redis.call('GET', KEYS[i]) or '0')
          if weight > 0 then
            count = count + weight * tonumber(redis.call('GET', KEYS[n + i]) or '0')
          end
          if refused == 0 and count + 1 > limit then refused = i end
          used[i] = tostring(count)
        end
        if refused == 0 then
          for i = 1, n do
            if redis.call('INCR', KEYS[i]) == 1 then redis.call('EXPIRE', KEYS[i], ARGV[3 * i]) end
          end
        end
        table.insert(used, 1, refused)
        return used
        """)

    /// Counts one request for `key`, as `LocalRateCounters.take` does, on the Redis server;
    /// `done` runs on `loop`, the request's. The requests of one turn of the loop go together
    /// (`RedisBatch`).
    func take(_ key: RateKey, limits: [RateLimit], now: Double, sliding: Bool, on loop: any EventLoop,
              _ done: @escaping (Result<RateUsage, any Error>) -> Void) {
        let tag = "ratelimit:{\(key.scope):\(key.identifier)}"
        var current: [String] = [], previous: [String] = []
        var arguments = [String(limits.count)]
        var periods: [(start: Int64, end: Int64)] = []
        for limit in limits {
            let period = limit.window.period(containing: now)
            periods.append(period)
            let length = period.end - period.start
            current.append("\(tag):\(limit.window):\(period.start)")
            // The previous period of a calendar month is not a fixed length back; its start is.
            let before = limit.window.period(containing: Double(period.start - 1)).start
            previous.append("\(tag):\(limit.window):\(before)")
            let weight = sliding ? max(0, 1 - (now - Double(period.start)) / Double(length)) : 0
            let lives = (period.end - Int64(now.rounded(.down))) + (sliding ? length : 0)
            arguments += [Self.number(limit.count), String(lives), String(weight)]
        }
        let ends = periods.map { $0.end }
        let keys = sliding ? current + previous : current
        RedisBatch.on(loop, client: client, script: Self.script).eval([String(keys.count)] + keys + arguments) { result in
            done(result.flatMap { reply in
                guard let items = reply.array, items.count == limits.count + 1, let refused = items[0].int,
                      (0...limits.count).contains(refused) else {
                    return .failure(RedisError.protocolError("unexpected rate-limiting script reply"))
                }
                var usage = RateUsage(refusedBy: refused > 0 ? refused - 1 : nil)
                for (index, limit) in limits.enumerated() {
                    // A count, as the script writes it; anything else counts as none.
                    let used = items[index + 1].string.flatMap(Double.init).flatMap { $0.isFinite && $0 >= 0 ? $0 : nil } ?? 0
                    usage.windows.append(.init(limit: limit, used: used, reset: ends[index]))
                }
                return .success(usage)
            })
        }
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    // MARK: Resting after a failure

    /// How long a server is left alone after a failure. Without a rest, every request would
    /// wait up to the timeout for a server that does not answer (one whose packets are
    /// dropped); with it, one request a second finds out whether the server is back.
    static let restInterval = 1.0
    /// Until when each server is left alone (seconds since 1970).
    private static let restingUntil = NIOLockedValueBox<[Settings: Double]>([:])

    /// Whether requests should be decided without the server for now: it failed less than
    /// `restInterval` ago.
    func isResting(at now: Double) -> Bool {
        Self.restingUntil.withLockedValue { ($0[settings] ?? 0) > now }
    }

    /// The server failed a request at `now`: leave it alone for `restInterval`.
    func failed(at now: Double) {
        Self.restingUntil.withLockedValue { $0[settings] = now + Self.restInterval }
    }

    // MARK: Logging a lost Redis

    private static let logger = Logger(label: "konnect.plugins.rate-limiting")
    /// When the last "Redis failed" line was written for each server (seconds since 1970): one
    /// per server every 10 s at most.
    private static let lastWarnings = NIOLockedValueBox<[Settings: Double]>([:])

    static func warn(_ error: any Error, settings: Settings, countingLocally: Bool) {
        let now = Date().timeIntervalSince1970
        let due = lastWarnings.withLockedValue { last in
            guard now - (last[settings] ?? 0) >= 10 else { return false }
            last[settings] = now
            return true
        }
        guard due else { return }
        let what = countingLocally ? "counting on this node meanwhile (fault_tolerant)" : "refusing requests with 500"
        logger.warning("rate-limiting: Redis at \(settings.host):\(settings.port) failed (\(error)); \(what)")
    }
}
