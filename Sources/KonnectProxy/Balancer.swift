import KonnectConfig
import NIOCore

/// One backend address that an upstream plan can send a request to. A class: a request holds
/// the one its plan built instead of copying its strings.
final class TargetAddress: Sendable {
    let host: String
    let port: Int
    let weight: Int
    /// Set when `host` is an IP literal, so connecting needs no name resolution.
    let address: SocketAddress?
    /// Value of the upstream `Host` header when the route does not preserve the client's.
    let hostHeader: String
    let poolKey: PoolKey

    init(host: String, port: Int, weight: Int, defaultPort: Int) {
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.host = bareHost
        self.port = port
        self.weight = weight
        self.address = try? SocketAddress(ipAddress: bareHost, port: port)
        self.hostHeader = port == defaultPort ? host : "\(host):\(port)"
        self.poolKey = PoolKey(host: bareHost, port: port)
    }
}

/// How requests for one service are spread over backend addresses; built with each snapshot
/// and immutable, while the counters it balances with live per event loop in `loopStates`.
final class UpstreamPlan: Sendable {
    let name: String
    let algorithm: BalancerAlgorithm
    let hashOn: HashOn
    let hashFallback: HashOn
    let targets: [TargetAddress]
    /// Consistent-hashing ring: sorted points, each owned by a target index.
    private let ringPoints: [UInt64]
    private let ringOwners: [Int32]
    /// One mutable balancer state per event loop, indexed by `LoopContext.index`.
    let loopStates: [BalancerState]

    init(name: String, algorithm: BalancerAlgorithm, hashOn: HashOn, hashFallback: HashOn,
         targets: [TargetAddress], slots: Int, loopCount: Int) {
        self.name = name
        self.algorithm = algorithm
        self.hashOn = hashOn
        self.hashFallback = hashFallback
        self.targets = targets
        if algorithm == .consistentHashing, !targets.isEmpty {
            let total = targets.reduce(0) { $0 + $1.weight }
            var ring: [(UInt64, Int32)] = []
            ring.reserveCapacity(slots + targets.count)
            for (index, target) in targets.enumerated() {
                let points = max(1, slots * target.weight / max(total, 1))
                for point in 0..<points {
                    ring.append((StableHash.hash("\(target.host):\(target.port)#\(point)"), Int32(index)))
                }
            }
            ring.sort { $0.0 < $1.0 }
            self.ringPoints = ring.map(\.0)
            self.ringOwners = ring.map(\.1)
        } else {
            self.ringPoints = []
            self.ringOwners = []
        }
        self.loopStates = (0..<loopCount).map { _ in BalancerState(count: targets.count) }
    }

    /// Chooses a target index, skipping those in `excluded`; nil when none is left.
    func pick(loop: Int, hashKey: UInt64?, excluded: [Int]) -> Int? {
        let state = loopStates[loop]
        switch algorithm {
        case .consistentHashing where hashKey != nil && !ringPoints.isEmpty:
            return ringPick(hashKey!, excluded: excluded)
        case .leastConnections:
            return state.pickLeastConnections(targets, excluded: excluded)
        case .latency:
            return state.pickLowestLatency(targets, excluded: excluded)
        default:
            return state.pickSmoothRoundRobin(targets, excluded: excluded)
        }
    }

    private func ringPick(_ key: UInt64, excluded: [Int]) -> Int? {
        var low = 0, high = ringPoints.count
        while low < high {
            let mid = (low + high) / 2
            if ringPoints[mid] < key { low = mid + 1 } else { high = mid }
        }
        for step in 0..<ringPoints.count {
            let owner = Int(ringOwners[(low + step) % ringPoints.count])
            if !excluded.contains(owner) { return owner }
            if excluded.count >= targets.count { return nil }
        }
        return nil
    }
}

/// Balancer counters of one upstream plan on one event loop.
///
/// `@unchecked Sendable`: each instance is read and written only on the event loop whose index
/// it sits at in `UpstreamPlan.loopStates`, so it is never accessed concurrently.
final class BalancerState: @unchecked Sendable {
    private var current: [Int]
    var active: [Int]
    /// Exponentially weighted moving average of response-head latency, in microseconds.
    var ewma: [Double]

    init(count: Int) {
        current = Array(repeating: 0, count: count)
        active = Array(repeating: 0, count: count)
        ewma = Array(repeating: 0, count: count)
    }

    /// Smooth weighted round-robin: every target is chosen in proportion to its weight, interleaved.
    func pickSmoothRoundRobin(_ targets: [TargetAddress], excluded: [Int]) -> Int? {
        var total = 0
        var best = -1
        for index in targets.indices where !excluded.contains(index) {
            current[index] += targets[index].weight
            total += targets[index].weight
            if best < 0 || current[index] > current[best] { best = index }
        }
        guard best >= 0 else { return nil }
        current[best] -= total
        return best
    }

    /// Fewest active requests per unit of weight; ties go to weighted round-robin among the tied.
    func pickLeastConnections(_ targets: [TargetAddress], excluded: [Int]) -> Int? {
        var best = -1
        var tied = false
        for index in targets.indices where !excluded.contains(index) {
            if best < 0 {
                best = index
                continue
            }
            // active/weight compared without division.
            let lhs = active[index] * targets[best].weight, rhs = active[best] * targets[index].weight
            if lhs < rhs {
                best = index
                tied = false
            } else if lhs == rhs {
                tied = true
            }
        }
        guard best >= 0, tied else { return best >= 0 ? best : nil }
        let notTied = targets.indices.filter {
            excluded.contains($0) || active[$0] * targets[best].weight != active[best] * targets[$0].weight
        }
        return pickSmoothRoundRobin(targets, excluded: notTied)
    }

    /// Lowest observed latency scaled by load per unit of weight; untried targets go first.
    func pickLowestLatency(_ targets: [TargetAddress], excluded: [Int]) -> Int? {
        var best = -1
        var bestScore = Double.infinity
        for index in targets.indices where !excluded.contains(index) {
            let score = max(ewma[index], 1) * Double(active[index] + 1) / Double(targets[index].weight)
            if score < bestScore {
                bestScore = score
                best = index
            }
        }
        return best >= 0 ? best : nil
    }

    func recordLatency(_ index: Int, microseconds: Double) {
        ewma[index] = ewma[index] == 0 ? microseconds : ewma[index] * 0.7 + microseconds * 0.3
    }
}

/// A fixed 64-bit hash (FNV-1a with a final mix) so rings and hash keys agree across processes.
enum StableHash {
    static func hash(_ text: some StringProtocol) -> UInt64 {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01b3
        }
        value ^= value >> 33
        value &*= 0xff51_afd7_ed55_8ccd
        value ^= value >> 33
        value &*= 0xc4ce_b9fe_1a85_ec53
        value ^= value >> 33
        return value
    }
}
