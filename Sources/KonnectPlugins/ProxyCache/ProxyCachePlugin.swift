import Crypto
import Foundation
import KonnectConfig
import KonnectHTTP1
import NIOCore

/// Kong's proxy-cache with the memory strategy: responses to cacheable requests are kept in
/// memory (`ProxyCacheStore`, bounded by bytes, least recently used out first) and served by the
/// gateway until they expire. `X-Cache-Status` says what happened: Hit, Miss, Refresh (the client
/// asked for a fresh copy), Bypass (not cacheable) or Stale. Beyond Kong OSS: concurrent misses
/// for one key make one upstream request (the others wait for its answer), and with
/// `stale_if_error` an expired copy answers for an upstream that fails.
final class ProxyCachePlugin: ProxyPlugin {
    let name = "proxy-cache"
    var phases: PluginPhases { [.access, .responseHeaders, .responseBody, .log] }

    let responseCodes: Set<Int>
    let requestMethods: Set<String>
    /// Media types (lower-cased, parameters left out) of the responses kept.
    let contentTypes: Set<String>
    let cacheTTL: Double
    let cacheControl: Bool
    let storageTTL: Double?
    let varyQueryParams: [String]
    let varyHeaders: [String]
    let ignoreURICase: Bool
    let sendAge: Bool
    let sendStatus: Bool
    let sendKey: Bool
    /// Seconds past expiry a copy may still answer for a failing upstream (0: never).
    let staleIfError: Double
    let collapseMisses: Bool
    let store: ProxyCacheStore
    /// The store's bound: a response body larger than this could never be kept, so it is not
    /// gathered past it.
    let maxBytes: Int

    /// `configuration` is the one the plugin is part of: the store's bound is the largest
    /// `memory.max_bytes` of the enabled proxy-cache plugins that share it.
    init(config: JSONValue, configuration: Configuration = .empty) {
        var codes = Set<Int>()
        if case .array(let items)? = config["response_code"] {
            for case .number(let code) in items { codes.insert(Int(code)) }
        }
        responseCodes = codes
        requestMethods = Set(config.texts("request_method"))
        contentTypes = Set(config.texts("content_type").map { FormEncoding.mediaType($0) })
        cacheTTL = config.number("cache_ttl") ?? 300
        cacheControl = config.flag("cache_control")
        storageTTL = config.number("storage_ttl")
        varyQueryParams = config.texts("vary_query_params").sorted()
        varyHeaders = config.texts("vary_headers").map { $0.lowercased() }.sorted()
        ignoreURICase = config.flag("ignore_uri_case")
        staleIfError = config.number("stale_if_error") ?? 0
        collapseMisses = config["collapse_misses"].map { $0 == .bool(true) } ?? true
        let headers = config["response_headers"] ?? .null
        sendAge = headers["age"].map { $0 == .bool(true) } ?? true
        sendStatus = headers["X-Cache-Status"].map { $0 == .bool(true) } ?? true
        sendKey = headers["X-Cache-Key"].map { $0 == .bool(true) } ?? true
        let (dictionary, maxBytes) = Self.memory(config)
        self.maxBytes = maxBytes
        let shared = configuration.plugins.filter { $0.enabled && $0.name == "proxy-cache" }.map { Self.memory($0.config) }
            .filter { $0.dictionary == dictionary }.map(\.maxBytes)
        store = ProxyCacheStore.named(dictionary, maxBytes: max(maxBytes, shared.max() ?? 0))
    }

    /// The store a config names, and the bytes it asks for.
    private static func memory(_ config: JSONValue) -> (dictionary: String, maxBytes: Int) {
        let memory = config["memory"] ?? .null
        return (memory.text("dictionary_name") ?? "kong_db_cache", Int(memory.number("max_bytes") ?? Double(64 << 20)))
    }

    /// Per request: the key being filled, and the response as it arrives.
    final class Filling {
        let key: String
        let status: String
        /// The token of the miss this request leads, when others may be waiting for it.
        var leader: UInt64?
        /// When the expired copy kept as the fallback was stored (for its `Age`).
        var fallbackStoredAt: Double?
        var response: CachedResponse?

        init(key: String, status: String) {
            self.key = key
            self.status = status
        }
    }

    func access(_ context: PluginContext) -> AccessResult {
        guard requestMethods.contains(context.method) else {
            status("Bypass", context)
            return .proceed
        }
        let requestCacheControl = cacheControl ? Self.directives(context.head.value(named: "cache-control")) : [:]
        if requestCacheControl["no-store"] != nil {
            status("Bypass", context)
            return .proceed
        }
        let key = cacheKey(context)
        if sendKey { context.addResponseHeader("X-Cache-Key", key) }
        // With cache_control off the client's Cache-Control says nothing: any fresh copy will do.
        let client = cacheControl ? ClientFreshness(requestCacheControl) : ClientFreshness()
        return lookUp(key, client, mayWait: collapseMisses && !client.noCache, context)
    }

    /// What the client's `Cache-Control` accepts from the cache (with `cache_control` on).
    struct ClientFreshness {
        /// `no-cache`, or `max-age=0`: only a copy fetched for this request will do.
        var noCache = false
        /// `max-age`: no copy older than this. `min-fresh`: none that stays fresh for less.
        var maxAge: Double?
        var minFresh: Double?
        /// `max-stale`: a copy this long past its freshness will do (infinite without a value).
        var maxStale: Double?
        /// `only-if-cached`: answer from the cache or with 504, never from the upstream.
        var onlyIfCached = false

        init() {}

        init(_ directives: [String: String]) {
            maxAge = ProxyCachePlugin.deltaSeconds(directives["max-age"])
            minFresh = ProxyCachePlugin.deltaSeconds(directives["min-fresh"])
            maxStale = directives["max-stale"].map { ProxyCachePlugin.deltaSeconds($0) ?? .infinity }
            noCache = directives["no-cache"] != nil || maxAge == 0
            onlyIfCached = directives["only-if-cached"] != nil
        }

        /// Whether `cached` may answer at `now`; a copy past its freshness only when it is
        /// still `kept` (within storage_ttl) and `max-stale` allows it.
        func accepts(_ cached: CachedResponse, now: Double, kept: Bool) -> Bool {
            if noCache { return false }
            if let maxAge, now - cached.storedAt > maxAge { return false }
            if let minFresh, cached.expires - now < minFresh { return false }
            if cached.expires > now { return true }
            guard kept, let maxStale else { return false }
            return now - cached.expires <= maxStale
        }
    }

    /// A hit is answered; a miss goes upstream, or waits for the request already fetching it.
    private func lookUp(_ key: String, _ client: ClientFreshness, mayWait: Bool, _ context: PluginContext) -> AccessResult {
        let now = Date().timeIntervalSince1970
        let cached = store.get(key)
        // A copy past its freshness but still within storage_ttl is refreshed, as Kong reports
        // it; without storage_ttl a copy is kept only as long as it is fresh.
        let kept = cached.map { cached in storageTTL.map { now - cached.storedAt <= $0 } ?? false } ?? false
        if let cached, client.accepts(cached, now: now, kept: kept) { return hit(cached, now: now, context) }
        if client.onlyIfCached {
            status("Miss", context)
            return .respond(status: 504, message: "No cached response (the request's Cache-Control says only-if-cached)")
        }
        let filling = Filling(key: key, status: client.noCache || kept || cached.map { $0.expires > now } == true ? "Refresh" : "Miss")
        if mayWait {
            let pending = PendingAccess()
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            let token = store.misses.lead(key) {
                loop.execute {
                    let (plugin, context) = bound.value
                    pending.complete(plugin.lookUp(key, client, mayWait: false, context))
                }
            }
            guard let token else { return .wait(pending) }
            filling.leader = token
        }
        if let cached, staleIfError > 0, cached.expires + staleIfError > now {
            context.fallback = stored(cached)
            filling.fallbackStoredAt = cached.storedAt
        }
        context.values[name] = filling
        return .proceed
    }

    private func hit(_ cached: CachedResponse, now: Double, _ context: PluginContext) -> AccessResult {
        status("Hit", context)
        if sendAge { context.addResponseHeader("Age", String(Int(now - cached.storedAt))) }
        return stored(cached)
    }

    private func stored(_ cached: CachedResponse) -> AccessResult {
        .respondStored(status: cached.status, headers: cached.headers, body: cached.body)
    }

    func responseHeaders(_ context: PluginContext, status code: Int) {
        guard let filling = context.values[name] as? Filling else { return }
        if context.usedFallback {
            status("Stale", context)
            if sendAge, let storedAt = filling.fallbackStoredAt {
                context.addResponseHeader("Age", String(Int(Date().timeIntervalSince1970 - storedAt)))
            }
            return
        }
        guard let head = context.responseHead, let ttl = cacheableTTL(status: code, head) else {
            // Konnect's own answer, or a response that may not be kept.
            status("Bypass", context)
            return
        }
        status(filling.status, context)
        let now = Date().timeIntervalSince1970
        let headers = head.allFields().filter { !Self.notStored.contains($0.name.lowercased()) }
            .map { AccessResult.Header($0.name, $0.value) }
        filling.response = CachedResponse(status: code, headers: headers, body: ByteBuffer(), storedAt: now,
                                          expires: now + ttl)
    }

    func responseBody(_ context: PluginContext, _ part: ByteBuffer, last: Bool) -> ByteBuffer {
        guard let filling = context.values[name] as? Filling, filling.response != nil else { return part }
        guard (filling.response?.body.readableBytes ?? 0) + part.readableBytes <= maxBytes else {
            // Too large to keep: what was gathered goes now, not when the exchange ends.
            filling.response = nil
            return part
        }
        var copy = part
        filling.response?.body.writeBuffer(&copy)
        if last, let response = filling.response {
            store.set(filling.key, response)
            filling.response = nil
            if let token = filling.leader { store.misses.finish(filling.key, token: token) }
        }
        return part
    }

    /// However the exchange ended, requests waiting on this one's miss look again.
    func log(_ context: PluginContext, _ record: LogRecord) {
        if let filling = context.values[name] as? Filling, let token = filling.leader {
            store.misses.finish(filling.key, token: token)
        }
    }

    // MARK: Keys and rules

    /// Kong's ingredients: the route, the consumer, the method, the path, the query arguments
    /// (only `vary_query_params` when given) and the `vary_headers`; hashed.
    private func cacheKey(_ context: PluginContext) -> String {
        var text = "\(context.routeID ?? "")|\(context.identity?.consumer.id ?? "")|\(context.method)|"
        text += ignoreURICase ? context.path.lowercased() : context.path
        text += "|"
        let query = (context.query.map(String.init) ?? "").split(separator: "&").map(String.init).sorted()
        let kept = varyQueryParams.isEmpty ? query : query.filter { pair in
            varyQueryParams.contains(String(pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]))
        }
        text += kept.joined(separator: "&")
        for name in varyHeaders {
            text += "|\(name)="
            if case .one(let value) = context.head.value(named: name) { text += value }
        }
        return SHA256.hash(data: Array(text.utf8)).withUnsafeBytes { NameBasedUUID.hex(UnsafeRawBufferPointer(rebasing: $0.prefix(16))) }
    }

    /// How long the upstream's response may be kept, or nil when it may not be.
    private func cacheableTTL(status: Int, _ head: HTTP1Head) -> Double? {
        guard responseCodes.contains(status) else { return nil }
        guard case .one(let contentType) = head.value(named: "content-type"),
              contentTypes.contains("*/*") || contentTypes.contains(FormEncoding.mediaType(contentType)) else { return nil }
        var ttl = cacheTTL
        if cacheControl {
            let directives = Self.directives(head.value(named: "cache-control"))
            if directives["no-store"] != nil || directives["private"] != nil || directives["no-cache"] != nil { return nil }
            if let age = Self.deltaSeconds(directives["s-maxage"]) ?? Self.deltaSeconds(directives["max-age"]) {
                guard age > 0 else { return nil }
                ttl = age
            } else if case .one(let expires) = head.value(named: "expires") {
                // Expires, from the origin's own clock (its Date) when it sends one; a date that
                // does not parse means already expired (RFC 9111).
                guard let end = HTTPDate.parse(expires) else { return nil }
                var start = Date().timeIntervalSince1970
                if case .one(let date) = head.value(named: "date"), let sent = HTTPDate.parse(date) { start = sent }
                guard end - start > 0 else { return nil }
                ttl = end - start
            }
        }
        return ttl
    }

    private func status(_ text: String, _ context: PluginContext) {
        if sendStatus { context.addResponseHeader("X-Cache-Status", text) }
    }

    /// HTTP dates as RFC 9110 defines them (`Sun, 06 Nov 1994 08:49:37 GMT`), in seconds since 1970.
    enum HTTPDate {
        static func parse(_ text: String) -> Double? {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
            return formatter.date(from: text.trimmingCharacters(in: .whitespaces))?.timeIntervalSince1970
        }
    }

    /// Hop-by-hop fields, and those the gateway writes itself on a hit.
    static let notStored: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
        "content-length", "x-request-id", "via", "x-konnect-upstream-latency", "x-konnect-proxy-latency", "age",
        "x-cache-status", "x-cache-key", "set-cookie",
    ]

    /// `Cache-Control` directives, names lower-cased, values without quotes; an item without a
    /// name (`=`, `=5`) is left out.
    static func directives(_ header: HeaderValue) -> [String: String] {
        guard case .one(let text) = header else { return [:] }
        var directives: [String: String] = [:]
        for item in text.split(separator: ",") {
            let equals = item.firstIndex(of: "=")
            let name = item[..<(equals ?? item.endIndex)].trimmingCharacters(in: .whitespaces).lowercased()
            guard !name.isEmpty else { continue }
            directives[name] = equals.map { item[item.index(after: $0)...].trimmingCharacters(in: CharacterSet(charactersIn: " \"")) } ?? ""
        }
        return directives
    }

    /// A directive's delta-seconds: digits only (RFC 9111), a larger value than 2^31 taken as
    /// 2^31; nil for anything else (`nan`, `inf`, `-1`, `1e3` …).
    static func deltaSeconds(_ text: String?) -> Double? {
        guard let text, !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return min(Double(text) ?? .infinity, 2_147_483_648)
    }
}
