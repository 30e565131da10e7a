import KonnectConfig

/// The routing table compiled from a configuration; immutable and shared across threads.
///
/// Every (route, path) pair becomes an entry, and entries are sorted once by ``RoutePriority`` then
/// declaration order, so an entry's position is its rank. Entries are indexed by host (exact names in a
/// dictionary, `*.suffix` and `prefix.*` wildcards by their literal part, host-less routes apart) and,
/// under each host, by the literal text the path must start with (a prefix path, the literal head of a
/// regex, or nothing for routes without paths). A request looks up only the keys that can match its host
/// and path — one hash lookup per distinct key length — and checks the few candidates found in rank
/// order, stopping in each list at the first that fully matches or that ranks below the best so far.
/// The cost follows the request's host and path, not the number of routes.
public final class Router: Sendable {
    /// Candidates under one host key, by the literal start of their path.
    typealias PathIndex = AffixIndex<[Candidate]>

    /// An entry filed under a host key, with the port its host entry requires (-1 for any).
    struct Candidate: Sendable {
        let rank: Int
        let port: Int
    }

    /// How the winning entry matched the path.
    private enum PathHit {
        case none
        case prefix(length: Int)
        case regex(end: String.Index, captures: [String: String])
    }

    /// One per selectable route, in `RouteTarget.index` order; matches refer to these.
    public let targets: [RouteTarget]
    /// Best first: an entry's index is its rank.
    private let entries: [RouteEntry]
    private let exactHosts: [UTF8Key: PathIndex]
    /// `*.example.com` routes, keyed by `.example.com`.
    private let suffixHosts: AffixIndex<PathIndex>
    /// `example.*` routes, keyed by `example.`.
    private let prefixHosts: AffixIndex<PathIndex>
    private let anyHost: PathIndex

    /// Routes the router can select: the configuration's routes less those of disabled services.
    public var routeCount: Int { targets.count }

    /// Compiles the routes of `configuration`; routes of disabled services are not matched. A regex path
    /// that does not compile, or a host entry with a `*` in the middle, never matches (validation of the
    /// configuration reports those).
    public init(configuration: Configuration) {
        var servicesByID: [String: Service] = [:]
        for service in configuration.services { servicesByID[service.id] = service }

        var routes: [Route] = []
        var services: [Service?] = []
        var entries: [RouteEntry] = []
        for route in configuration.routes {
            let service = route.serviceID.flatMap { servicesByID[$0] }
            if let service, !service.enabled { continue }
            let rules = RouteRules(route: route, routeIndex: routes.count)
            routes.append(route)
            services.append(service)
            if rules.hasOnlyUnmatchableHosts { continue }
            if route.paths.isEmpty {
                entries.append(RouteEntry(rules: rules, path: .any, priority: RoutePriority(route: route, path: nil), pathIndex: 0))
            }
            for (pathIndex, path) in route.paths.enumerated() {
                let rule: PathRule
                if path.hasPrefix("~") {
                    guard let regex = PathRegex(pattern: String(path.dropFirst())) else { continue }
                    rule = .regex(regex)
                } else {
                    rule = .prefix(path)
                }
                entries.append(RouteEntry(rules: rules, path: rule, priority: RoutePriority(route: route, path: path), pathIndex: pathIndex))
            }
        }
        entries.sort { lhs, rhs in
            if lhs.priority != rhs.priority { return lhs.priority > rhs.priority }
            if lhs.rules.routeIndex != rhs.rules.routeIndex { return lhs.rules.routeIndex < rhs.rules.routeIndex }
            return lhs.pathIndex < rhs.pathIndex
        }

        var exactHosts: [UTF8Key: PathIndex] = [:]
        var suffixHosts = AffixIndex<PathIndex>()
        var prefixHosts = AffixIndex<PathIndex>()
        var anyHost = PathIndex()
        for (rank, entry) in entries.enumerated() {
            let key = entry.path.indexKey
            if entry.rules.hosts.isEmpty {
                anyHost.update(key, default: []) { $0.append(Candidate(rank: rank, port: -1)) }
            }
            for host in entry.rules.hosts {
                let candidate = Candidate(rank: rank, port: host.port ?? -1)
                switch host.kind {
                case .exact(let name):
                    exactHosts[UTF8Key(name), default: PathIndex()].update(key, default: []) { $0.append(candidate) }
                case .suffix(let suffix):
                    suffixHosts.update(suffix, default: PathIndex()) { index in
                        index.update(key, default: []) { $0.append(candidate) }
                    }
                case .prefix(let prefix):
                    prefixHosts.update(prefix, default: PathIndex()) { index in
                        index.update(key, default: []) { $0.append(candidate) }
                    }
                }
            }
        }

        self.targets = routes.indices.map { RouteTarget(route: routes[$0], service: services[$0], index: $0) }
        self.entries = entries
        self.exactHosts = exactHosts
        self.suffixHosts = suffixHosts
        self.prefixHosts = prefixHosts
        self.anyHost = anyHost
    }

    /// The best route for a request, or nil when none matches.
    ///
    /// - Parameters:
    ///   - host: the request's Host without port, lower-cased.
    ///   - port: the port from Host if given; otherwise 443 for `https` and 80 for other schemes, which
    ///     is what a host entry with a `:port` is compared with.
    ///   - path: the request path normalised by ``PathNormalizer``, without query string.
    public func match<H: RouteHeaders>(
        method: String, scheme: String, host: String, port: Int?, path: String, headers: H
    ) -> RouteMatch? {
        let requestPort = port ?? (scheme == "https" ? 443 : 80)
        let pathBytes = path.utf8
        var bestRank = Int.max
        var bestHit = PathHit.none

        func check(_ entry: RouteEntry) -> PathHit? {
            let rules = entry.rules
            if !rules.methods.isEmpty && !rules.methods.contains(method) { return nil }
            for header in rules.headers where !headers.anyValue(named: header.name, where: { header.accepts($0) }) {
                return nil
            }
            switch entry.path {
            case .any:
                return PathHit.none
            case .prefix(let prefix):
                return .prefix(length: prefix.utf8.count)
            case .regex(let regex):
                guard let found = regex.match(path) else { return nil }
                return .regex(end: found.end, captures: found.captures)
            }
        }

        func search(_ index: PathIndex) {
            index.forEachPrefix(of: pathBytes) { candidates in
                for candidate in candidates {
                    if candidate.rank >= bestRank { break }
                    if candidate.port >= 0 && candidate.port != requestPort { continue }
                    if let hit = check(entries[candidate.rank]) {
                        bestRank = candidate.rank
                        bestHit = hit
                        break
                    }
                }
            }
        }

        if !exactHosts.isEmpty, let index = exactHosts[UTF8Key(host)] { search(index) }
        let hostBytes = host.utf8
        for length in suffixHosts.lengths where length < hostBytes.count {
            if let index = suffixHosts[UTF8Key(hostBytes.suffix(length))] { search(index) }
        }
        for length in prefixHosts.lengths where length < hostBytes.count {
            if let index = prefixHosts[UTF8Key(hostBytes.prefix(length))] { search(index) }
        }
        search(anyHost)

        guard bestRank != Int.max else { return nil }
        let entry = entries[bestRank]
        let target = targets[entry.rules.routeIndex]

        let matchedEnd: String.Index?
        var captures: [String: String] = [:]
        switch bestHit {
        case .none:
            matchedEnd = nil
        case .prefix(let length):
            matchedEnd = pathBytes.index(pathBytes.startIndex, offsetBy: length)
        case .regex(let end, let found):
            matchedEnd = end
            captures = found
        }
        let upstreamPath = UpstreamPath.build(
            servicePath: target.service?.path, handling: target.route.pathHandling, stripPath: target.route.stripPath,
            requestPath: path, matchedEnd: matchedEnd)

        var strippedPrefix: Substring?
        if target.route.stripPath, let matchedEnd, matchedEnd > path.utf8.index(after: path.utf8.startIndex) {
            strippedPrefix = path[..<matchedEnd]
        }
        return RouteMatch(
            target: target, upstreamPath: upstreamPath, captures: captures,
            redirectStatus: scheme == "https" ? nil : target.plainHTTPRedirectStatus, strippedPrefix: strippedPrefix)
    }
}
