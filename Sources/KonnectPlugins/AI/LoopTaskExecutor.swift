import NIOCore
import NIOPosix

/// Runs a task's jobs on one NIO event loop: an AI exchange's task runs on a loop of the HTTP
/// client's own group, so that the client's callbacks (the answer's head, each part of its body)
/// resume the task on the thread they arrive on instead of waking another thread each time.
final class LoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    /// The AI client's loops: NIO's shared group, one loop per core.
    static let group = MultiThreadedEventLoopGroup.singleton

    /// An executor on the next loop of the AI client's group.
    static func next() -> LoopTaskExecutor {
        LoopTaskExecutor(group.next())
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
