/// The pool's bookkeeping, free of I/O: which connections exist and how many commands each has in
/// flight. `RedisClient` keeps one behind a lock and carries out what it decides.
///
/// A command goes to an idle connection if there is one; otherwise a new connection is opened while
/// fewer than `maxConnections` exist; otherwise it is pipelined on the least busy connection.
/// Connections still connecting count too, so a burst never opens more than the limit.
struct RedisPoolState<Connection> {
    struct Entry {
        var id: Int
        var connection: Connection
        var inFlight: Int
    }

    /// What `lease` decided.
    enum Lease {
        /// Send on this existing connection.
        case existing(Connection)
        /// Start this newly made connection, then send on it.
        case new(Connection)
        /// The pool is shut down.
        case closed
    }

    let maxConnections: Int
    private(set) var entries: [Entry] = []
    private(set) var isClosed = false
    private var nextID = 0

    init(maxConnections: Int) {
        self.maxConnections = max(1, maxConnections)
    }

    /// Picks a connection for one request and counts it in flight; `make` builds a new connection
    /// for the given id when one is to be opened.
    mutating func lease(make: (Int) -> Connection) -> Lease {
        guard !isClosed else { return .closed }
        var best: Int?
        for index in entries.indices where best == nil || entries[index].inFlight < entries[best!].inFlight {
            best = index
        }
        if let best, entries[best].inFlight == 0 || entries.count >= maxConnections {
            entries[best].inFlight += 1
            return .existing(entries[best].connection)
        }
        let id = nextID
        nextID += 1
        let connection = make(id)
        entries.append(Entry(id: id, connection: connection, inFlight: 1))
        return .new(connection)
    }

    /// A request leased on connection `id` has completed.
    mutating func release(id: Int) {
        if let index = entries.firstIndex(where: { $0.id == id }) {
            entries[index].inFlight -= 1
        }
    }

    /// Connection `id` has closed or failed to open: it takes no more requests.
    mutating func remove(id: Int) {
        entries.removeAll { $0.id == id }
    }

    /// Shuts the pool: no more leases. Returns the connections to close.
    mutating func close() -> [Connection] {
        isClosed = true
        defer { entries.removeAll() }
        return entries.map(\.connection)
    }
}

extension RedisPoolState: Sendable where Connection: Sendable {}
extension RedisPoolState.Entry: Sendable where Connection: Sendable {}
extension RedisPoolState.Lease: Sendable where Connection: Sendable {}
