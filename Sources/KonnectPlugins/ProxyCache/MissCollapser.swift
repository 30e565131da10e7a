import NIOConcurrencyHelpers

/// Concurrent misses for one cache key, collapsed into one upstream request: the first request
/// leads (goes upstream and fills the entry); those arriving while it is under way wait, and are
/// woken once the entry is filled, or the leader gave up, to look again.
final class MissCollapser: Sendable {
    private struct Flight {
        var leader: UInt64
        var waiters: [@Sendable () -> Void]
    }

    private let state = NIOLockedValueBox<(next: UInt64, flights: [String: Flight])>((1, [:]))

    /// Leads the fetch of `key` (returns the leader's token), or queues `waiter` behind the
    /// request already leading it (returns nil).
    func lead(_ key: String, orWait waiter: @escaping @Sendable () -> Void) -> UInt64? {
        state.withLockedValue { state in
            if state.flights[key] != nil {
                state.flights[key]!.waiters.append(waiter)
                return nil
            }
            let token = state.next
            state.next += 1
            state.flights[key] = Flight(leader: token, waiters: [])
            return token
        }
    }

    /// The leader `token` is done with `key` (filled, or gave up): its waiters look again. A
    /// token that no longer leads (it finished before) changes nothing.
    func finish(_ key: String, token: UInt64) {
        let waiters: [@Sendable () -> Void] = state.withLockedValue { state in
            guard let flight = state.flights[key], flight.leader == token else { return [] }
            state.flights[key] = nil
            return flight.waiters
        }
        for waiter in waiters { waiter() }
    }
}
