import KonnectConfig

/// Where one (route, path) pair stands when several routes match a request, as Kong 3.x computes it for
/// its `traditional_compatible` router.
///
/// Every route is first split by path: each of its paths competes on its own, with the route's other
/// fields. Among the pairs that match a request, the winner is decided by these keys in order, each one
/// only breaking ties of the keys before it:
///
/// 1. **Fields set** (more first): how many of `methods`, `hosts`, `headers` and `paths` are non-empty.
///    So `GET /p` beats `/p`, and `host + /p` beats `/p`.
/// 2. **Plain hosts only** (first): the route sets `hosts` and none of them contains `*`.
///    This outranks headers: with one field each, a plain-host route beats a header route, while a
///    wildcard-host route loses to a header route.
/// 3. **Header count** (more first): how many distinct header names the route requires (capped at 255).
/// 4. **Regex path** (first): the pair's path is a regex (`~...`), so a regex beats even a longer prefix.
/// 5. **`regex_priority`** (higher first), for regex paths only; prefix paths count as 0 here.
/// 6. **Prefix length** (longer first) in UTF-8 bytes, for prefix paths only.
/// 7. **Declaration order**: the route listed first in the configuration, then its path listed first.
///
/// Host ports, methods and protocols never change the ranking: `example.com:8080` and `example.com`
/// with otherwise equal routes fall back to declaration order.
struct RoutePriority: Comparable, Sendable {
    var fieldCount: Int
    var plainHostsOnly: Bool
    var headerCount: Int
    var isRegex: Bool
    var regexPriority: Int
    var prefixLength: Int

    init(route: Route, path: String?) {
        var fields = 0
        if !route.methods.isEmpty { fields += 1 }
        if !route.hosts.isEmpty { fields += 1 }
        if !route.headers.isEmpty { fields += 1 }
        if !route.paths.isEmpty { fields += 1 }
        fieldCount = fields
        plainHostsOnly = !route.hosts.isEmpty && !route.hosts.contains { $0.contains("*") }
        headerCount = min(route.headers.count, 255)
        let regex = path?.hasPrefix("~") ?? false
        isRegex = regex
        regexPriority = regex ? route.regexPriority : 0
        prefixLength = regex ? 0 : (path?.utf8.count ?? 0)
    }

    /// True when `lhs` ranks below `rhs`.
    static func < (lhs: RoutePriority, rhs: RoutePriority) -> Bool {
        if lhs.fieldCount != rhs.fieldCount { return lhs.fieldCount < rhs.fieldCount }
        if lhs.plainHostsOnly != rhs.plainHostsOnly { return !lhs.plainHostsOnly }
        if lhs.headerCount != rhs.headerCount { return lhs.headerCount < rhs.headerCount }
        if lhs.isRegex != rhs.isRegex { return !lhs.isRegex }
        if lhs.regexPriority != rhs.regexPriority { return lhs.regexPriority < rhs.regexPriority }
        return lhs.prefixLength < rhs.prefixLength
    }
}
