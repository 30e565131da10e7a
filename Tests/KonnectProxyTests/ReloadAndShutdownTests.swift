import KonnectConfig
import KonnectProxy
import NIOCore
import Testing

@Suite("Reload and shutdown")
struct ReloadAndShutdownTests {
    @Test func newConfigurationTakesEffect() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0], paths: ["/old"]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            #expect(try await client.get("/new").status == 404)
            try await fx.runtime.apply(ProxyFixture.simple(port: fx.origin.port, paths: ["/new"]))
            #expect(try await client.get("/new").status == 200)
            #expect(try await client.get("/old").status == 404)
        }
    }

    @Test func inFlightRequestFinishesOnItsSnapshot() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0], paths: ["/"]) }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            // The origin answers well after the reload, even on a loaded machine.
            try await client.send("GET /slow?delay=3000 HTTP/1.1\r\nHost: a\r\n\r\n")
            try await Task.sleep(nanoseconds: 50_000_000)
            try await fx.runtime.apply(.empty)
            #expect(try await client.readResponse().status == 200)
            #expect(try await client.get("/").status == 404)
        }
    }

    @Test func reloadingUnderLoadFailsNoRequest() async throws {
        try await withProxy(configure: { ProxyFixture.simple(port: $0[0], paths: ["/a"]) }) { fx in
            let configs = [
                ProxyFixture.simple(port: fx.origin.port, paths: ["/a"]),
                ProxyFixture.simple(port: fx.origin.port, paths: ["/a", "/b"], servicePath: "/v2"),
            ]
            let failures = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        let client = try await fx.client()
                        defer { client.close() }
                        var failed = 0
                        for _ in 0..<150 where try await client.get("/a/x").status != 200 { failed += 1 }
                        return failed
                    }
                }
                group.addTask {
                    for round in 0..<40 {
                        try await fx.runtime.apply(configs[round % 2])
                        try await Task.sleep(nanoseconds: 10_000_000)
                    }
                    return 0
                }
                return try await group.reduce(0, +)
            }
            #expect(failures == 0)
        }
    }

    @Test func shutdownLetsInFlightRequestsFinish() async throws {
        let fixture = try await ProxyFixture.start(settings: { $0.shutdownGracePeriod = .seconds(30) },
                                                   configure: { ProxyFixture.simple(port: $0[0]) })
        let client = try await fixture.client()
        defer { client.close() }
        // The origin answers well after shutdown begins, even when other tests keep both cores busy
        // (a full parallel run has kept this task from running for over 3 s).
        try await client.send("GET /slow?delay=8000 HTTP/1.1\r\nHost: a\r\n\r\n")
        // Shutdown begins once the request is in flight (at the origin), however busy the machine.
        for _ in 0..<2000 where fixture.origin.requests == 0 { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(fixture.origin.requests == 1, "the request did not reach the origin before shutdown")
        async let stopped: Void = fixture.runtime.shutdown()
        let response = try await client.readResponse()
        #expect(response.status == 200)
        #expect(response.header("connection") == "close")
        await stopped
        await #expect(throws: (any Error).self) { _ = try await fixture.client() }
        for origin in fixture.origins { try await origin.close() }
        try await fixture.clientGroup.shutdownGracefully()
    }
}
