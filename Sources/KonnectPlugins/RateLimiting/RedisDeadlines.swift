import NIOConcurrencyHelpers
import NIOCore

/// The deadlines of requests waiting on Redis, one list per event loop and timeout, watched by
/// one timer for the oldest: a timer per request cost more than all the rest of the request's
/// work on its loop. With one timeout per list, deadlines are added in the order they fall due.
///
/// Used only on its event loop (`on(_:timeout:)` hands each loop its own).
final class RedisDeadlines: @unchecked Sendable {
    /// One request's deadline. `expire` runs when it falls due before the request is `done`.
    final class Waiter {
        let deadline: NIODeadline
        var done = false
        var expire: (() -> Void)?

        init(deadline: NIODeadline) {
            self.deadline = deadline
        }
    }

    private struct Key: Hashable {
        let loop: ObjectIdentifier
        let timeout: Int64
    }

    private static let lists = NIOLockedValueBox<[Key: RedisDeadlines]>([:])

    private let loop: any EventLoop
    private let timeout: TimeAmount
    /// Oldest first; requests already done are dropped as the list is walked.
    private var waiting = CircularBuffer<Waiter>()
    private var timerArmed = false

    private init(loop: any EventLoop, timeout: TimeAmount) {
        self.loop = loop
        self.timeout = timeout
    }

    /// The list of `loop` for requests that wait at most `timeout`.
    static func on(_ loop: any EventLoop, timeout: TimeAmount) -> RedisDeadlines {
        let key = Key(loop: ObjectIdentifier(loop), timeout: timeout.nanoseconds)
        return lists.withLockedValue { lists in
            if let list = lists[key] { return list }
            let list = RedisDeadlines(loop: loop, timeout: timeout)
            lists[key] = list
            return list
        }
    }

    /// A request starting to wait now; set its `expire`, and its `done` when it is decided.
    func add() -> Waiter {
        while let first = waiting.first, first.done { waiting.removeFirst() }
        let waiter = Waiter(deadline: .now() + timeout)
        waiting.append(waiter)
        if !timerArmed { arm(at: waiter.deadline) }
        return waiter
    }

    private func arm(at deadline: NIODeadline) {
        timerArmed = true
        loop.scheduleTask(deadline: deadline) { [self] in fire() }
    }

    private func fire() {
        timerArmed = false
        let now = NIODeadline.now()
        while let first = waiting.first, first.done || first.deadline <= now {
            waiting.removeFirst()
            if !first.done { first.expire?() }
        }
        // An expiry may have started another wait on this loop, and armed the timer for it.
        if !timerArmed, let next = waiting.first { arm(at: next.deadline) }
    }
}
