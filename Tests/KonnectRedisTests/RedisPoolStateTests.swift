import Testing

@testable import KonnectRedis

@Suite("Redis pool state")
struct RedisPoolStateTests {
    /// Leases once, building connections named by their id.
    static func lease(_ state: inout RedisPoolState<Int>) -> RedisPoolState<Int>.Lease {
        state.lease { $0 }
    }

    @Test func opensLazilyAndReusesIdleConnections() {
        var state = RedisPoolState<Int>(maxConnections: 4)
        #expect(state.entries.isEmpty)
        guard case .new(0) = Self.lease(&state) else { Issue.record("expected a new connection"); return }
        state.release(id: 0)
        guard case .existing(0) = Self.lease(&state) else { Issue.record("expected connection 0 again"); return }
        #expect(state.entries.count == 1)
    }

    @Test func opensUpToTheLimitThenPipelinesOnTheLeastBusy() {
        var state = RedisPoolState<Int>(maxConnections: 3)
        for _ in 0..<100 {
            _ = Self.lease(&state)
            #expect(state.entries.count <= 3)
        }
        #expect(state.entries.count == 3)
        // 100 requests spread evenly: 34, 33, 33.
        #expect(state.entries.map(\.inFlight).sorted() == [33, 33, 34])
        for _ in 0..<10 { state.release(id: 2) }
        guard case .existing(2) = Self.lease(&state) else { Issue.record("expected the least busy, 2"); return }
    }

    @Test func prefersAnIdleConnectionOverOpeningOne() {
        var state = RedisPoolState<Int>(maxConnections: 4)
        _ = Self.lease(&state)            // 0 busy
        _ = Self.lease(&state)            // opens 1
        state.release(id: 1)              // 1 idle
        guard case .existing(1) = Self.lease(&state) else { Issue.record("expected idle connection 1"); return }
        #expect(state.entries.count == 2)
    }

    @Test func removedConnectionsAreReplaced() {
        var state = RedisPoolState<Int>(maxConnections: 1)
        _ = Self.lease(&state)
        state.remove(id: 0)
        state.release(id: 0)              // a late release for a removed connection is ignored
        guard case .new(1) = Self.lease(&state) else { Issue.record("expected a new connection 1"); return }
        #expect(state.entries.count == 1)
    }

    @Test func closeHandsBackEveryConnectionAndRefusesLeases() {
        var state = RedisPoolState<Int>(maxConnections: 2)
        _ = Self.lease(&state)
        _ = Self.lease(&state)
        #expect(state.close().sorted() == [0, 1])
        #expect(state.entries.isEmpty)
        guard case .closed = Self.lease(&state) else { Issue.record("expected closed"); return }
    }
}
