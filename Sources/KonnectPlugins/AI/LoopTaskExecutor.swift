import Atomics
import NIOCore
import NIOPosix

/// Runs a task's jobs on one NIO event loop of the AI client's group, so that the client's
/// callbacks (the answer's head, each part of its body) resume an exchange's task on the thread
/// they arrive on instead of waking a thread of Swift's pool each time.
final class LoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    /// The AI client's loops, one per core. A group of its own, not NIO's shared one: the
    /// translation work of exchanges then never holds back other users of that group (Redis
    /// counters, JWKS and introspection calls).
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)

    /// One executor per loop of the group, made once.
    private static let all = group.makeIterator().map(LoopTaskExecutor.init)
    private static let turn = ManagedAtomic<Int>(0)

    /// The executor of the next loop of the AI client's group, in turn.
    static func next() -> LoopTaskExecutor {
        all[(turn.loadThenWrappingIncrement(ordering: .relaxed) & Int.max) % all.count]
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
