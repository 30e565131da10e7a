import Foundation
import KonnectConfig

/// One entry of a route's `hosts`, parsed: `api.example.com`, `*.example.com` or `example.*`, with an
/// optional `:port` that the request must then match.
struct HostRule: Sendable {
    enum Kind: Sendable {
        case exact(String)
        /// `*.example.com`, kept as `.example.com`; the `*` stands for one character or more.
        case suffix(String)
        /// `example.*`, kept as `example.`; the `*` stands for one character or more.
        case prefix(String)
    }

    let kind: Kind
    let port: Int?

    /// Nil for an entry no request can match (a `*` elsewhere than at one end, or a bare `*`).
    init?(_ entry: String) {
        var host = Substring(entry.lowercased())
        var port: Int?
        if let colon = host.lastIndex(of: ":") {
            let digits = host[host.index(after: colon)...]
            let name = host[..<colon]
            if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(digits),
               !name.contains(":") || name.hasSuffix("]") {
                port = number
                host = name
            }
        }
        self.port = port
        if host.hasPrefix("*") {
            let rest = host.dropFirst()
            guard !rest.isEmpty, !rest.contains("*") else { return nil }
            kind = .suffix(String(rest))
        } else if host.hasSuffix("*") {
            let rest = host.dropLast()
            guard !rest.isEmpty, !rest.contains("*") else { return nil }
            kind = .prefix(String(rest))
        } else if host.contains("*") {
            return nil
        } else {
            kind = .exact(String(host))
        }
    }
}

/// One header a route requires: some request value must equal (ignoring case) one of the plain values or
/// match one of the `~*` regexes (case-insensitive, anywhere in the value).
struct HeaderRule: Sendable {
    let name: String
    let plainValues: [String]
    let regexes: [NSRegularExpression]

    init(name: String, values: [String]) {
        self.name = name.lowercased()
        var plain: [String] = []
        var regexes: [NSRegularExpression] = []
        for value in values {
            if value.hasPrefix("~*") {
                if let regex = try? NSRegularExpression(pattern: String(value.dropFirst(2)), options: [.caseInsensitive]) {
                    regexes.append(regex)
                }
            } else {
                plain.append(value.lowercased())
            }
        }
        self.plainValues = plain
        self.regexes = regexes
    }

    func accepts(_ value: Substring) -> Bool {
        for plain in plainValues where Self.equalIgnoringASCIICase(value.utf8, plain.utf8) {
            return true
        }
        if regexes.isEmpty { return false }
        let text = String(value)
        let whole = NSRange(text.startIndex..<text.endIndex, in: text)
        return regexes.contains { $0.firstMatch(in: text, options: [], range: whole) != nil }
    }

    /// `lowercased` is already lower-case.
    private static func equalIgnoringASCIICase(_ value: Substring.UTF8View, _ lowercased: String.UTF8View) -> Bool {
        guard value.count == lowercased.count else { return false }
        return zip(value, lowercased).allSatisfy { byte, lower in
            let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            return folded == lower
        }
    }
}

/// What a route requires besides its path, shared by the entries of its paths.
final class RouteRules: Sendable {
    let routeIndex: Int
    let methods: [String]
    let headers: [HeaderRule]
    let hosts: [HostRule]
    /// The route sets hosts but none of them can match; the route is left out of the index.
    let hasOnlyUnmatchableHosts: Bool

    init(route: Route, routeIndex: Int) {
        self.routeIndex = routeIndex
        methods = route.methods.map { $0.uppercased() }
        headers = route.headers.keys.sorted().map { HeaderRule(name: $0, values: route.headers[$0] ?? []) }
        hosts = route.hosts.compactMap(HostRule.init)
        hasOnlyUnmatchableHosts = !route.hosts.isEmpty && hosts.isEmpty
    }
}

/// How an entry matches the request path.
enum PathRule: Sendable {
    /// The route sets no paths.
    case any
    case prefix(String)
    case regex(PathRegex)

    /// The literal text the request path must start with; the entry is indexed under it.
    var indexKey: String {
        switch self {
        case .any: ""
        case .prefix(let prefix): prefix
        case .regex(let regex): regex.literalPrefix
        }
    }
}

/// One (route, path) pair with its precedence: the unit the router indexes and ranks.
final class RouteEntry: Sendable {
    let rules: RouteRules
    let path: PathRule
    let priority: RoutePriority
    /// Position of the path in the route's `paths`, for ties within one route.
    let pathIndex: Int

    init(rules: RouteRules, path: PathRule, priority: RoutePriority, pathIndex: Int) {
        self.rules = rules
        self.path = path
        self.priority = priority
        self.pathIndex = pathIndex
    }
}
