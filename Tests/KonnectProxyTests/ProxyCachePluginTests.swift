import Foundation
import KonnectConfig
import KonnectProxy
import NIOConcurrencyHelpers
import Testing

/// proxy-cache (memory strategy) against an origin whose every answer differs (`{"n": N}`, N
/// counting its requests), so a served copy is told from a fresh one.
@Suite("Plugins: proxy-cache")
struct ProxyCachePluginTests {
    /// Runs `body` with the gateway in front of a counting origin; each test names its own store.
    static func run(_ config: [String: JSONValue], status: Int = 200, failing: NIOLockedValueBox<Bool> = NIOLockedValueBox(false),
                    _ body: (ProxyFixture, @Sendable () -> Int) async throws -> Void) async throws {
        let count = NIOLockedValueBox(0)
        let store = "test-\(UInt64.random(in: 0...UInt64.max))"
        let plugin = Plugin(id: "p-cache", name: "proxy-cache",
                            config: .object(config.merging(["memory": .object(["dictionary_name": .string(store)])]) { $1 }))
        try await withStubServer(answer: { _ in
            (failing.withLockedValue { $0 } ? 500 : status, "{\"n\":\(count.withLockedValue { $0 += 1; return $0 })}")
        }) { origin in
            try await withProxy(configure: { _ in pluginConfiguration(port: origin.port, plugins: [plugin]) }) { fx in
                try await body(fx, { count.withLockedValue { $0 } })
            }
        }
    }

    @Test func aSecondRequestIsAnsweredFromTheCache() async throws {
        try await Self.run([:]) { fx, originRequests in
            let client = try await fx.client()
            defer { client.close() }
            let first = try await client.get("/items?a=1")
            #expect(first.header("x-cache-status") == "Miss")
            #expect(first.text == #"{"n":1}"#)
            let second = try await client.get("/items?a=1")
            #expect(second.status == 200)
            #expect(second.header("x-cache-status") == "Hit")
            #expect(second.text == #"{"n":1}"#)
            #expect(second.header("content-type") == "application/json")
            #expect(second.header("age") != nil)
            #expect(second.header("x-cache-key") == first.header("x-cache-key"))
            #expect(originRequests() == 1)
            // Another query, another entry; the same arguments in another order, the same one.
            #expect(try await client.get("/items?a=2").header("x-cache-status") == "Miss")
            #expect(try await client.get("/items?b=1&a=1").header("x-cache-status") == "Miss")
            #expect(try await client.get("/items?a=1&b=1").header("x-cache-status") == "Hit")
        }
    }

    /// A node has one cache, whichever event loop serves a request.
    @Test func whatOneLoopCachedAnotherServes() async throws {
        try await Self.run([:]) { fx, originRequests in
            // Connections are handed to the loops in turn: these two are served by different loops.
            let clients = try await [fx.client(), fx.client()]
            defer { for client in clients { client.close() } }
            #expect(try await clients[0].get("/shared").header("x-cache-status") == "Miss")
            let other = try await clients[1].get("/shared")
            #expect(other.header("x-cache-status") == "Hit")
            #expect(other.text == #"{"n":1}"#)
            #expect(originRequests() == 1)
        }
    }

    @Test(arguments: [
        // (what is different about the request or response, config)
        ("POST", [String: JSONValue]()),
        ("status 500", [:]),
        ("content type not kept", ["content_type": .array(["text/plain"])]),
        ("response Cache-Control: private", ["cache_control": true]),
        ("request Cache-Control: no-store", ["cache_control": true]),
    ])
    func whatMayNotBeCachedIsNot(_ kind: String, config: [String: JSONValue]) async throws {
        try await Self.run(config, status: kind == "status 500" ? 500 : 200) { fx, originRequests in
            let client = try await fx.client()
            defer { client.close() }
            for _ in 0..<2 {
                switch kind {
                case "POST":
                    try await client.send("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
                    #expect(try await client.readResponse().header("x-cache-status") == "Bypass")
                case "response Cache-Control: private":
                    #expect(try await client.get("/p?header=Cache-Control:private").header("x-cache-status") == "Bypass")
                case "request Cache-Control: no-store":
                    #expect(try await client.get("/p", headers: [("Cache-Control", "no-store")]).header("x-cache-status") == "Bypass")
                default:
                    // A response that may not be kept says so, as Kong's does.
                    #expect(try await client.get("/p").header("x-cache-status") == "Bypass")
                }
            }
            #expect(originRequests() == 2)
        }
    }

    @Test func cacheControlRefreshesAndSetsTheLifetime() async throws {
        try await Self.run(["cache_control": true]) { fx, originRequests in
            let client = try await fx.client()
            defer { client.close() }
            _ = try await client.get("/r")
            let refreshed = try await client.get("/r", headers: [("Cache-Control", "no-cache")])
            #expect(refreshed.header("x-cache-status") == "Refresh")
            #expect(refreshed.text == #"{"n":2}"#)
            // The refreshed copy is the one kept.
            #expect(try await client.get("/r").text == #"{"n":2}"#)
            #expect(originRequests() == 2)

            // max-age=3 from the origin: kept three seconds, not cache_ttl's five minutes. (Three,
            // not one: on a machine busy with other tests a second can pass between two requests.)
            _ = try await client.get("/short?header=Cache-Control:max-age%3D3")
            #expect(try await client.get("/short?header=Cache-Control:max-age%3D3").header("x-cache-status") == "Hit")
            try await Task.sleep(for: .milliseconds(4100))
            #expect(try await client.get("/short?header=Cache-Control:max-age%3D3").header("x-cache-status") == "Miss")
        }
    }

    /// With cache_control on, the client's Cache-Control says which copy it takes: none older
    /// than max-age, none that stays fresh for less than min-fresh, and with only-if-cached
    /// a 504 rather than a request upstream.
    @Test func theClientsCacheControlSaysWhichCopyItTakes() async throws {
        try await Self.run(["cache_control": true, "cache_ttl": 60]) { fx, originRequests in
            let client = try await fx.client()
            defer { client.close() }
            func get(_ directives: String? = nil) async throws -> TestClient.Response {
                try await client.get("/c", headers: directives.map { [("Cache-Control", $0)] } ?? [])
            }
            let none = try await get("only-if-cached")
            #expect(none.status == 504)
            #expect(originRequests() == 0)
            #expect(try await get().header("x-cache-status") == "Miss")
            let cached = try await get("only-if-cached")
            #expect(cached.header("x-cache-status") == "Hit")
            #expect(cached.text == #"{"n":1}"#)
            // The copy is fresh for 60 s: not for the 120 s min-fresh asks.
            let fresher = try await get("min-fresh=120")
            #expect(fresher.header("x-cache-status") == "Refresh")
            #expect(fresher.text == #"{"n":2}"#)
            #expect(try await get("max-age=30").text == #"{"n":2}"#)
            try await Task.sleep(for: .milliseconds(1100))
            // Now over a second old: too old for max-age=1.
            let younger = try await get("max-age=1")
            #expect(younger.header("x-cache-status") == "Refresh")
            #expect(younger.text == #"{"n":3}"#)
            #expect(originRequests() == 3)
        }
    }

    /// Cache-Control items that are not directives (no name, or a value that is not whole
    /// seconds) are ignored, as if they were not there, from the client and from the origin
    /// alike. (An item with no name once stopped the gateway.)
    @Test(arguments: ["=", "=5", " , =,", "max-age=nan", "max-age=inf", "max-age=-1", "max-age=1e3", "min-fresh=1e300"])
    func cacheControlThatIsNotADirectiveIsIgnored(_ directives: String) async throws {
        try await Self.run(["cache_control": true, "cache_ttl": 60]) { fx, originRequests in
            let client = try await fx.client()
            defer { client.close() }
            let origin = "/o?header=Cache-Control:" + directives.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            #expect(try await client.get(origin).header("x-cache-status") == "Miss")
            let again = try await client.get(origin, headers: [("Cache-Control", directives)])
            #expect(again.status == 200)
            #expect(again.header("x-cache-status") == "Hit")
            #expect(again.text == #"{"n":1}"#)
            #expect(originRequests() == 1)
        }
    }

    /// max-stale takes a copy past its freshness, while storage_ttl still keeps it.
    @Test func maxStaleTakesAKeptCopyPastItsFreshness() async throws {
        try await Self.run(["cache_control": true, "cache_ttl": 1, "storage_ttl": 60]) { fx, originRequests in
            let client = try await fx.client()
            defer { client.close() }
            _ = try await client.get("/s")
            try await Task.sleep(for: .milliseconds(1100))
            let stale = try await client.get("/s", headers: [("Cache-Control", "max-stale")])
            #expect(stale.header("x-cache-status") == "Hit")
            #expect(stale.text == #"{"n":1}"#)
            #expect(try await client.get("/s", headers: [("Cache-Control", "max-stale=600")]).text == #"{"n":1}"#)
            // Without max-stale the same copy is too old.
            #expect(try await client.get("/s").header("x-cache-status") == "Refresh")
            #expect(originRequests() == 2)
        }
    }

    /// Without max-age, the origin's Expires sets how long a copy is fresh; one in the past (or
    /// one that does not parse) means it is not kept.
    @Test func expiresSetsTheLifetimeWhenMaxAgeIsNotGiven() async throws {
        try await Self.run(["cache_control": true, "cache_ttl": 1]) { fx, originRequests in
            let client = try await fx.client()
            defer { client.close() }
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
            func path(_ expires: String) -> String {
                "/e?header=" + "Expires:\(expires)".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            }
            let later = path(formatter.string(from: Date().addingTimeInterval(3600)))
            #expect(try await client.get(later).header("x-cache-status") == "Miss")
            try await Task.sleep(for: .milliseconds(1100))
            // Past cache_ttl's one second, within the hour Expires gives.
            #expect(try await client.get(later).header("x-cache-status") == "Hit")
            for expires in [formatter.string(from: Date().addingTimeInterval(-60)), "0"] {
                #expect(try await client.get(path(expires)).header("x-cache-status") == "Bypass")
            }
            #expect(originRequests() == 3)
        }
    }

    @Test func varyHeadersAndQueryParamsTellEntriesApart() async throws {
        try await Self.run(["vary_headers": .array(["x-tenant"]), "vary_query_params": .array(["page"])]) { fx, originRequests in
            let client = try await fx.client()
            defer { client.close() }
            _ = try await client.get("/v?page=1&ts=1", headers: [("X-Tenant", "a")])
            // ts is not a vary parameter: the same entry.
            #expect(try await client.get("/v?page=1&ts=2", headers: [("X-Tenant", "a")]).header("x-cache-status") == "Hit")
            #expect(try await client.get("/v?page=1&ts=2", headers: [("X-Tenant", "b")]).header("x-cache-status") == "Miss")
            #expect(try await client.get("/v?page=2", headers: [("X-Tenant", "a")]).header("x-cache-status") == "Miss")
            #expect(originRequests() == 3)
        }
    }

    @Test func concurrentMissesMakeOneUpstreamRequest() async throws {
        try await Self.run([:]) { fx, originRequests in
            let statuses = try await withThrowingTaskGroup(of: (String?, String).self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        let client = try await fx.client()
                        defer { client.close() }
                        let response = try await client.get("/slow?delay=300")
                        return (response.header("x-cache-status"), response.text)
                    }
                }
                return try await group.reduce(into: [(String?, String)]()) { $0.append($1) }
            }
            #expect(originRequests() == 1)
            #expect(statuses.filter { $0.0 == "Miss" }.count == 1)
            #expect(statuses.filter { $0.0 == "Hit" }.count == 4)
            #expect(statuses.allSatisfy { $0.1 == #"{"n":1}"# })
        }
    }

    /// cache_ttl is how long a copy is fresh; storage_ttl how long it is kept. A kept copy past
    /// its freshness is fetched again and reported as Refresh.
    @Test func aCopyKeptPastItsFreshnessIsRefreshed() async throws {
        try await Self.run(["cache_ttl": 2, "storage_ttl": 60]) { fx, originRequests in
            let client = try await fx.client()
            defer { client.close() }
            // What is fresh depends on when each copy was stored; a loaded machine may take
            // longer than cache_ttl between two requests, so each check allows for that.
            let clock = ContinuousClock()
            var storedAt = clock.now
            #expect(try await client.get("/k").header("x-cache-status") == "Miss")
            let asked = clock.now
            let second = try await client.get("/k").header("x-cache-status")
            if asked - storedAt < .seconds(2) {
                #expect(second == "Hit")
            } else {
                #expect(second == "Refresh")
                storedAt = asked
            }
            try await Task.sleep(until: storedAt + .milliseconds(2100))
            let refreshedAt = clock.now
            let refreshed = try await client.get("/k")
            #expect(refreshed.header("x-cache-status") == "Refresh")
            #expect(refreshed.text == "{\"n\":\(originRequests())}")
            let again = try await client.get("/k")
            if clock.now - refreshedAt < .seconds(2) {
                #expect(again.header("x-cache-status") == "Hit")
                #expect(again.text == refreshed.text)
            }
        }
    }

    @Test func anExpiredCopyAnswersForAFailingUpstream() async throws {
        let failing = NIOLockedValueBox(false)
        try await Self.run(["cache_ttl": 1, "stale_if_error": 60], failing: failing) { fx, _ in
            let client = try await fx.client()
            defer { client.close() }
            #expect(try await client.get("/s").text == #"{"n":1}"#)
            try await Task.sleep(for: .milliseconds(1100))
            failing.withLockedValue { $0 = true }
            let stale = try await client.get("/s")
            #expect(stale.status == 200)
            #expect(stale.header("x-cache-status") == "Stale")
            #expect(stale.text == #"{"n":1}"#)
            #expect((Int(stale.header("age") ?? "") ?? 0) >= 1)
            // A healthy upstream again: a fresh copy.
            failing.withLockedValue { $0 = false }
            let fresh = try await client.get("/s")
            #expect(fresh.header("x-cache-status") == "Miss")
            #expect(fresh.text == #"{"n":3}"#)
        }
        // Without stale_if_error the failure reaches the client.
        let failingToo = NIOLockedValueBox(false)
        try await Self.run(["cache_ttl": 1], failing: failingToo) { fx, _ in
            let client = try await fx.client()
            defer { client.close() }
            _ = try await client.get("/s")
            try await Task.sleep(for: .milliseconds(1100))
            failingToo.withLockedValue { $0 = true }
            #expect(try await client.get("/s").status == 500)
        }
    }
}
