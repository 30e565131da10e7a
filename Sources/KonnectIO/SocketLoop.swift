import CKonnectIO
import Dispatch
import Glibc
import NIOConcurrencyHelpers
import NIOCore

/// Something a loop watches in its epoll set.
protocol SocketLoopSelectable: AnyObject {
    func ready(_ events: UInt32)
}

/// A SwiftNIO `EventLoop` on one thread that drives non-blocking sockets through its own epoll
/// set, for the proxy path.
///
/// It does what NIO's `SelectableEventLoop` does for a channel with a single handler, without the
/// pipeline: a socket's bytes go straight to one delegate object, and writes go straight to the
/// socket when it can take them (the common case), so a proxied request costs no more event-loop
/// bookkeeping than nginx spends. Sockets are edge-triggered and registered once for reading and
/// writing, so holding and resuming reads and waiting for write space cost no `epoll_ctl`.
///
/// Everything else a NIO event loop offers works here: `execute` from any thread, scheduled tasks,
/// promises and futures. NIO's own bootstraps (UDP for DNS, say) need NIO's loops and hop here.
///
/// `@unchecked Sendable`: the cross-thread entry points (`execute`, scheduling from another thread,
/// shutdown) go through `lock`; everything else is touched only on the loop's thread.
public final class SocketLoop: EventLoop, @unchecked Sendable {
    public let allocator = ByteBufferAllocator()
    private let epoll: Int32
    private let wakeFD: Int32
    private let started = ConditionLock(value: false)
    private var thread = pthread_t()

    // Shared with other threads, under `lock`.
    private let lock = NIOLock()
    private var incoming: [@Sendable () -> Void] = []
    private var wakePending = false
    private var stopRequested = false
    private var shutdownCallbacks: [@Sendable (Error?) -> Void] = []

    // The loop thread's own.
    /// When the current batch of events began: a clock read once per wake-up (as nginx caches
    /// its time), for timestamps that need millisecond precision, not a system call each.
    public private(set) var eventTime = NIODeadline.now()
    private var localTasks: [() -> Void] = []
    private var timers = TimerHeap()
    private var registry: [SocketLoopSelectable?] = []
    private var generations: [UInt32] = []
    private static let wakeToken = UInt64.max

    public init(name: String) {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        precondition(epoll >= 0 && wakeFD >= 0, "cannot create an event loop: \(String(cString: strerror(errno)))")
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = Self.wakeToken
        epoll_ctl(epoll, EPOLL_CTL_ADD, wakeFD, &event)
        let box = Unmanaged.passRetained(StartBox(loop: self, name: name))
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            let box = Unmanaged<StartBox>.fromOpaque(argument!).takeRetainedValue()
            box.loop.run(name: box.name)
            return nil
        }, box.toOpaque())
        precondition(result == 0, "cannot start an event loop thread")
        started.lock(whenValue: true)
        started.unlock()
    }

    private final class StartBox {
        let loop: SocketLoop
        let name: String
        init(loop: SocketLoop, name: String) { self.loop = loop; self.name = name }
    }

    // MARK: EventLoop

    public var inEventLoop: Bool { pthread_equal(pthread_self(), thread) != 0 }

    public func execute(_ task: @escaping @Sendable () -> Void) {
        let wake = lock.withLock {
            incoming.append(task)
            if wakePending { return false }
            wakePending = true
            return true
        }
        if wake && !inEventLoop { signalWake() }
    }

    public func scheduleTask<T>(deadline: NIODeadline, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        let promise = makePromise(of: T.self)
        // Set at once by a cancel from any thread, so a timer already due cannot run after it.
        let cancelled = NIOLockedValueBox(false)
        let entry = TimerEntry(onShutdown: { promise.fail(EventLoopError.shutdown) }) {
            guard !cancelled.withLockedValue({ $0 }) else { return }
            // Timers run on this loop, where the promise lives.
            do { promise.assumeIsolated().succeed(try task()) } catch { promise.fail(error) }
        }
        let box = UncheckedBox(entry)
        let scheduled = Scheduled(promise: promise, cancellationTask: { [self] in
            cancelled.withLockedValue { $0 = true }
            if inEventLoop { box.value.cancel() } else { execute { box.value.cancel() } }
        })
        if inEventLoop {
            timers.insert(entry, at: deadline.uptimeNanoseconds)
        } else {
            execute { [self] in timers.insert(box.value, at: deadline.uptimeNanoseconds) }
        }
        return scheduled
    }

    public func scheduleTask<T>(in delay: TimeAmount, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        scheduleTask(deadline: .now() + delay, task)
    }

    public func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable (Error?) -> Void) {
        lock.withLock {
            stopRequested = true
            shutdownCallbacks.append { error in queue.async { callback(error) } }
        }
        signalWake()
    }

    public func makeIterator() -> EventLoopIterator { EventLoopIterator([self]) }
    public func next() -> EventLoop { self }
    public func any() -> EventLoop { self }

    // MARK: Loop-only scheduling (no promise, no Sendable closure)

    /// Runs `task` on this loop after the current batch of events.
    func executeLocal(_ task: @escaping () -> Void) {
        localTasks.append(task)
    }

    /// Runs `task` on this loop at `deadline` unless the returned entry is cancelled first.
    func scheduleLocal(at deadline: NIODeadline, _ task: @escaping () -> Void) -> TimerEntry {
        let entry = TimerEntry(task)
        timers.insert(entry, at: deadline.uptimeNanoseconds)
        return entry
    }

    // MARK: Registration

    /// Watches `fd` for `events` and reports them to `selectable` until `deregister`.
    func register(_ fd: Int32, events: UInt32, _ selectable: SocketLoopSelectable) throws {
        let index = Int(fd)
        if index >= registry.count {
            let newCount = max(index + 1, registry.count * 2, 64)
            registry.append(contentsOf: repeatElement(nil, count: newCount - registry.count))
            generations.append(contentsOf: repeatElement(0, count: newCount - generations.count))
        }
        generations[index] &+= 1
        registry[index] = selectable
        var event = epoll_event()
        event.events = events
        event.data.u64 = UInt64(UInt32(bitPattern: fd)) | UInt64(generations[index]) << 32
        if epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0 {
            let code = errno
            registry[index] = nil
            throw IOError(errnoCode: code, reason: "epoll_ctl")
        }
    }

    /// Stops reporting events of `fd`; `removeFromEpoll` is needed only when the descriptor stays
    /// open (closing a descriptor removes it from the epoll set).
    func deregister(_ fd: Int32, removeFromEpoll: Bool = false) {
        let index = Int(fd)
        guard index < registry.count else { return }
        registry[index] = nil
        generations[index] &+= 1
        if removeFromEpoll { epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nil) }
    }

    // MARK: The loop

    private func signalWake() {
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD, &one, 8)
    }

    private func run(name: String) {
        thread = pthread_self()
        ckio_set_thread_name(name)
        started.lock()
        started.unlock(withValue: true)

        let capacity: Int32 = 512
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(capacity))
        defer { events.deallocate() }
        while true {
            let timeout = nextTimeout()
            let count = epoll_wait(epoll, events, capacity, timeout)
            eventTime = .now()
            if count > 0 {
                for i in 0..<Int(count) {
                    let data = events[i].data.u64
                    if data == Self.wakeToken {
                        var value: UInt64 = 0
                        _ = Glibc.read(wakeFD, &value, 8)
                        continue
                    }
                    let index = Int(truncatingIfNeeded: data & 0xFFFF_FFFF)
                    guard index < registry.count, generations[index] == UInt32(truncatingIfNeeded: data >> 32),
                          let selectable = registry[index] else { continue }
                    selectable.ready(events[i].events)
                }
            }
            runLocalTasks()
            runDueTimers()
            if runIncoming() { break }
        }
        // Scheduled tasks that will never run fail, as on NIO's own loops.
        while let entry = timers.popDue(now: .max) { entry.shutDown() }
        Glibc.close(epoll)
        Glibc.close(wakeFD)
        let callbacks = lock.withLock { shutdownCallbacks }
        for callback in callbacks { callback(nil) }
    }

    /// Milliseconds `epoll_wait` may sleep: none when work is queued, until the next timer otherwise.
    private func nextTimeout() -> Int32 {
        if !localTasks.isEmpty { return 0 }
        if lock.withLock({ !incoming.isEmpty || stopRequested }) { return 0 }
        guard let next = timers.nextDeadline else { return -1 }
        let now = NIODeadline.now().uptimeNanoseconds
        if next <= now { return 0 }
        return Int32(clamping: (next - now + 999_999) / 1_000_000)
    }

    private func runLocalTasks() {
        while !localTasks.isEmpty {
            let tasks = localTasks
            localTasks.removeAll(keepingCapacity: true)
            for task in tasks { task() }
        }
    }

    private func runDueTimers() {
        guard timers.nextDeadline != nil else { return }
        let now = eventTime.uptimeNanoseconds
        while let entry = timers.popDue(now: now) {
            entry.run()
            runLocalTasks()
        }
    }

    /// Runs tasks from other threads; true when the loop should stop.
    private func runIncoming() -> Bool {
        let (tasks, stop) = lock.withLock {
            let tasks = incoming
            incoming.removeAll(keepingCapacity: true)
            wakePending = false
            return (tasks, stopRequested)
        }
        for task in tasks {
            task()
            runLocalTasks()
        }
        return stop && tasks.isEmpty && localTasks.isEmpty
    }
}

/// A task waiting for its time on a loop.
final class TimerEntry {
    private var task: (() -> Void)?
    private var onShutdown: (() -> Void)?

    init(onShutdown: (() -> Void)? = nil, _ task: @escaping () -> Void) {
        self.task = task
        self.onShutdown = onShutdown
    }

    var isCancelled: Bool { task == nil }

    func cancel() {
        task = nil
        onShutdown = nil
    }

    /// The loop stopped before the entry's time came.
    func shutDown() {
        task = nil
        onShutdown?()
        onShutdown = nil
    }

    func run() {
        let task = self.task
        self.task = nil
        onShutdown = nil
        task?()
    }
}

/// A value handed to a closure that NIO requires to be `Sendable` but that only ever runs on the
/// loop that owns the value.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A binary min-heap of timers by deadline; ties run in the order they were added.
struct TimerHeap {
    private struct Item {
        let deadline: UInt64
        let sequence: UInt64
        let entry: TimerEntry

        func before(_ other: Item) -> Bool {
            deadline != other.deadline ? deadline < other.deadline : sequence < other.sequence
        }
    }

    private var items: [Item] = []
    private var sequence: UInt64 = 0

    var nextDeadline: UInt64? {
        mutating get {
            while let first = items.first, first.entry.isCancelled { removeFirst() }
            return items.first?.deadline
        }
    }

    mutating func insert(_ entry: TimerEntry, at deadline: UInt64) {
        sequence &+= 1
        items.append(Item(deadline: deadline, sequence: sequence, entry: entry))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].before(items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// The earliest live entry due at `now`, removed from the heap.
    mutating func popDue(now: UInt64) -> TimerEntry? {
        guard let deadline = nextDeadline, deadline <= now else { return nil }
        let entry = items[0].entry
        removeFirst()
        return entry
    }

    private mutating func removeFirst() {
        let last = items.removeLast()
        guard !items.isEmpty else { return }
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < items.count, items[left].before(items[smallest]) { smallest = left }
            if right < items.count, items[right].before(items[smallest]) { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
