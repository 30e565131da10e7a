import Dispatch
import KonnectIO
import NIOConcurrencyHelpers
import NIOCore
import Testing

@Suite struct SocketLoopTests {
    private struct Boom: Error, Equatable {}

    @Test func executeFromAnotherThreadRunsTheTaskOnTheLoop() async throws {
        let loop = SocketLoop(name: "t-execute")
        #expect(!loop.inEventLoop)
        let insideFromDispatch = loop.makePromise(of: Bool.self)
        try await blocking {
            #expect(!loop.inEventLoop)
            loop.execute { insideFromDispatch.succeed(loop.inEventLoop) }
        }
        #expect(try await insideFromDispatch.futureResult.get())

        // A second task, after the loop has gone back to waiting, must wake it again.
        let second = loop.makePromise(of: Bool.self)
        loop.execute { second.succeed(loop.inEventLoop) }
        #expect(try await second.futureResult.get())
        try await loop.shutdownGracefully()
    }

    @Test func tasksFromOneThreadRunInTheOrderTheyWereSubmitted() async throws {
        let loop = SocketLoop(name: "t-order")
        let order = NIOLockedValueBox<[Int]>([])
        try await blocking {
            for index in 0..<1_000 {
                loop.execute { order.withLockedValue { $0.append(index) } }
            }
        }
        try await loop.submit {}.get()
        #expect(order.withLockedValue { $0 } == Array(0..<1_000))
        try await loop.shutdownGracefully()
    }

    @Test func tasksFromManyThreadsAllRunAndKeepEachThreadsOrder() async throws {
        let loop = SocketLoop(name: "t-threads")
        let seen = NIOLockedValueBox<[[Int]]>(Array(repeating: [], count: 4))
        let offLoop = NIOLockedValueBox(0)
        try await blocking {
            DispatchQueue.concurrentPerform(iterations: 4) { thread in
                for index in 0..<500 {
                    loop.execute {
                        if !loop.inEventLoop { offLoop.withLockedValue { $0 += 1 } }
                        seen.withLockedValue { $0[thread].append(index) }
                    }
                }
            }
        }
        try await loop.submit {}.get()
        for (thread, indices) in seen.withLockedValue({ $0 }).enumerated() {
            #expect(indices == Array(0..<500), "tasks from thread \(thread) ran out of order or went missing")
        }
        #expect(offLoop.withLockedValue { $0 } == 0)
        try await loop.shutdownGracefully()
    }

    @Test func tasksASubmittedTaskQueuesRunOnTheLoopToo() async throws {
        let loop = SocketLoop(name: "t-nested")
        let result = try await loop.flatSubmit {
            let inner = loop.makePromise(of: Bool.self)
            loop.execute { inner.succeed(loop.inEventLoop) }
            return inner.futureResult
        }.get()
        #expect(result)
        try await loop.shutdownGracefully()
    }

    @Test func scheduledTasksRunAfterTheirDelayShortestFirst() async throws {
        let loop = SocketLoop(name: "t-schedule")
        let order = NIOLockedValueBox<[Int64]>([])
        let start = NIODeadline.now()
        let delays: [Int64] = [150, 30, 90, 60]
        let tasks = delays.map { delay in
            loop.scheduleTask(in: .milliseconds(delay)) { () -> (NIODeadline, Bool) in
                order.withLockedValue { $0.append(delay) }
                return (NIODeadline.now(), loop.inEventLoop)
            }
        }
        for (delay, task) in zip(delays, tasks) {
            let (ranAt, onLoop) = try await task.futureResult.get()
            #expect(ranAt >= start + .milliseconds(delay), "the \(delay) ms task ran early")
            #expect(onLoop)
        }
        #expect(order.withLockedValue { $0 } == [30, 60, 90, 150])
        try await loop.shutdownGracefully()
    }

    @Test func aTaskScheduledOnTheLoopRunsOnTheLoop() async throws {
        let loop = SocketLoop(name: "t-schedule-local")
        let start = NIODeadline.now()
        let (ranAt, onLoop) = try await loop.flatSubmit {
            loop.scheduleTask(in: .milliseconds(40)) { (NIODeadline.now(), loop.inEventLoop) }.futureResult
        }.get()
        #expect(onLoop)
        #expect(ranAt >= start + .milliseconds(40))
        try await loop.shutdownGracefully()
    }

    @Test func aScheduledTaskThatThrowsFailsItsFuture() async throws {
        let loop = SocketLoop(name: "t-schedule-throw")
        let task = loop.scheduleTask(in: .milliseconds(5)) { () throws -> Int in throw Boom() }
        await #expect(throws: Boom()) { try await task.futureResult.get() }
        try await loop.shutdownGracefully()
    }

    @Test func aCancelledTaskNeverRunsAndItsFutureFailsWithCancelled() async throws {
        let loop = SocketLoop(name: "t-cancel")
        let ran = NIOLockedValueBox(false)
        let doomed = loop.scheduleTask(in: .milliseconds(50)) { ran.withLockedValue { $0 = true } }
        doomed.cancel()
        // A later timer has run, so the cancelled one's time has come and gone.
        try await loop.scheduleTask(in: .milliseconds(150)) {}.futureResult.get()
        await #expect(throws: EventLoopError.cancelled) { try await doomed.futureResult.get() }
        #expect(!ran.withLockedValue { $0 })
        try await loop.shutdownGracefully()
    }

    @Test func aTaskCancelledOnTheLoopNeverRuns() async throws {
        let loop = SocketLoop(name: "t-cancel-local")
        let ran = NIOLockedValueBox(false)
        let future = try await loop.submit {
            let doomed = loop.scheduleTask(in: .milliseconds(30)) { ran.withLockedValue { $0 = true } }
            doomed.cancel()
            return doomed.futureResult
        }.get()
        try await loop.scheduleTask(in: .milliseconds(100)) {}.futureResult.get()
        await #expect(throws: EventLoopError.cancelled) { try await future.get() }
        #expect(!ran.withLockedValue { $0 })
        try await loop.shutdownGracefully()
    }

    /// A task due while the loop is busy, cancelled from another thread before the loop gets back
    /// to its timers, must not run: `cancel()` returning means it will not.
    @Test func aTaskCancelledFromAnotherThreadWhileTheLoopIsBusyNeverRuns() async throws {
        let loop = SocketLoop(name: "t-cancel-race")
        let ran = NIOLockedValueBox(false)
        let scheduled = NIOLockedValueBox<Scheduled<Void>?>(nil)
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        // Scheduled from inside the task that then keeps the loop busy, so the timer is in the
        // heap and cannot run before the cancel, however slow the machine.
        loop.execute {
            scheduled.withLockedValue { $0 = loop.scheduleTask(in: .milliseconds(20)) { ran.withLockedValue { $0 = true } } }
            entered.signal()
            release.wait()
        }
        try await blocking { entered.wait() }
        let due = NIODeadline.now() + .milliseconds(20)
        let doomed = try #require(scheduled.withLockedValue { $0 })
        try await eventually("the task's deadline to pass") { NIODeadline.now() > due ? () : nil }
        doomed.cancel()
        release.signal()

        try await loop.submit {}.get()
        #expect(!ran.withLockedValue { $0 }, "the task ran although cancel() had returned before it began")
        await #expect(throws: EventLoopError.cancelled) { try await doomed.futureResult.get() }
        try await loop.shutdownGracefully()
    }

    @Test func shutdownFailsTasksStillScheduledWithShutdown() async throws {
        let loop = SocketLoop(name: "t-shutdown")
        let ran = NIOLockedValueBox(false)
        let pending = loop.scheduleTask(in: .hours(1)) { ran.withLockedValue { $0 = true } }
        let outcome = NIOLockedValueBox<Result<Void, Error>?>(nil)
        pending.futureResult.whenComplete { result in outcome.withLockedValue { $0 = result } }
        try await loop.submit {}.get()  // the callback is registered before the loop stops

        try await loop.shutdownGracefully()
        let result = try #require(outcome.withLockedValue { $0 }, "the pending task's future was never completed")
        #expect(throws: EventLoopError.shutdown) { try result.get() }
        #expect(!ran.withLockedValue { $0 })
    }

    @Test func tasksSubmittedBeforeShutdownStillRun() async throws {
        let loop = SocketLoop(name: "t-shutdown-drain")
        let count = NIOLockedValueBox(0)
        for _ in 0..<100 {
            loop.execute { count.withLockedValue { $0 += 1 } }
        }
        try await loop.shutdownGracefully()
        #expect(count.withLockedValue { $0 } == 100)
    }

    @Test func futuresAndPromisesCompleteOnTheLoop() async throws {
        let loop = SocketLoop(name: "t-futures")
        #expect(try await loop.submit { 42 }.get() == 42)
        await #expect(throws: Boom()) { try await loop.submit { () throws -> Int in throw Boom() }.get() }

        // A promise completed from another thread runs its callbacks on the loop.
        let promise = loop.makePromise(of: Int.self)
        let doubled = promise.futureResult.map { ($0 * 2, loop.inEventLoop) }
        try await blocking { promise.succeed(21) }
        let (value, onLoop) = try await doubled.get()
        #expect(value == 42)
        #expect(onLoop)

        let chained = loop.makeSucceededFuture(1)
            .flatMap { value in loop.submit { value + 1 } }
            .flatMap { value in loop.scheduleTask(in: .milliseconds(1)) { value * 10 }.futureResult }
        #expect(try await chained.get() == 20)
        try await loop.shutdownGracefully()
    }
}
