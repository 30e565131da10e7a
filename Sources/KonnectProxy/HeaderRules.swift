import KonnectConfig
import KonnectHTTP1
import KonnectPlugins
import KonnectRouter

/// Request headers seen through the router's eyes.
struct RoutedHeaders: RouteHeaders {
    let head: HTTP1Head

    func anyValue(named lowercasedName: String, where predicate: (Substring) -> Bool) -> Bool {
        for field in head.fields where head.name(of: field, equalsLowercased: lowercasedName) {
            if predicate(Substring(head.value(field))) { return true }
        }
        return false
    }
}

/// Rules for which headers cross the proxy; framing headers are always Konnect's own.
enum HeaderRules {
    /// Headers that describe one connection and are never forwarded (RFC 9110 §7.6.1), plus the
    /// framing headers Konnect always sets itself.
    static func isHopByHop(_ head: HTTP1Head, _ field: HTTP1Field) -> Bool {
        switch field.nameLength {
        case 2: return head.name(of: field, is: "te")
        case 7: return head.name(of: field, is: "trailer") || head.name(of: field, is: "upgrade") || hasProxyPrefix(head, field)
        case 10: return head.name(of: field, is: "connection") || head.name(of: field, is: "keep-alive") || hasProxyPrefix(head, field)
        case 14: return head.name(of: field, is: "content-length") || hasProxyPrefix(head, field)
        case 17: return head.name(of: field, is: "transfer-encoding") || hasProxyPrefix(head, field)
        case 8...: return hasProxyPrefix(head, field)
        default: return false
        }
    }

    private static func hasProxyPrefix(_ head: HTTP1Head, _ field: HTTP1Field) -> Bool {
        head.bytes.withUnsafeReadableBytes { raw in
            let start = Int(field.nameStart)
            for (offset, expected) in "proxy-".utf8.enumerated() {
                let byte = raw[start + offset]
                if byte != expected && byte | 0x20 != expected { return false }
            }
            return true
        }
    }

    /// Headers Konnect sets itself on the upstream request, so the client's copies are dropped.
    static func isSetByProxy(_ head: HTTP1Head, _ field: HTTP1Field) -> Bool {
        switch field.nameLength {
        case 4: return head.name(of: field, is: "host")
        case 6: return head.name(of: field, is: "expect")
        case 9: return head.name(of: field, is: "x-real-ip")
        case 16:
            return head.name(of: field, is: "x-forwarded-host") || head.name(of: field, is: "x-forwarded-port")
                || head.name(of: field, is: "x-forwarded-path")
        case 17: return head.name(of: field, is: "x-forwarded-proto")
        case 18: return head.name(of: field, is: "x-forwarded-prefix")
        default: return false
        }
    }

    /// What the `Connection` header says: close / keep-alive, and the other header names it lists
    /// (hop-by-hop too). Allocates only when such names are present.
    static func connectionOptions(_ head: HTTP1Head) -> (close: Bool, keepAlive: Bool, named: [String]) {
        var close = false, keepAlive = false
        var named: [String] = []
        for field in head.fields where field.nameLength == 10 && head.name(of: field, is: "connection") {
            if head.value(of: field, is: "keep-alive") {
                keepAlive = true
                continue
            }
            if head.value(of: field, is: "close") {
                close = true
                continue
            }
            for token in head.value(field).split(separator: ",") {
                let token = token.trimmingASCIISpaces().lowercased()
                switch token {
                case "close": close = true
                case "keep-alive": keepAlive = true
                case "": break
                default: named.append(token)
                }
            }
        }
        return (close, keepAlive, named)
    }

    /// Headers that carry the identity Konnect established: on a route with plugins, the client's
    /// copies never reach the upstream.
    static func isIdentity(_ head: HTTP1Head, _ field: HTTP1Field) -> Bool {
        switch field.nameLength {
        case 13: return head.name(of: field, is: "x-consumer-id")
        case 17: return head.name(of: field, is: "x-consumer-groups")
        case 19: return head.name(of: field, is: "x-consumer-username")
        case 20: return head.name(of: field, is: "x-consumer-custom-id") || head.name(of: field, is: "x-anonymous-consumer")
        case 23: return head.name(of: field, is: "x-credential-identifier")
        default: return false
        }
    }

    /// True when `named` (from `connectionOptions`) lists this field.
    static func isNamed(_ head: HTTP1Head, _ field: HTTP1Field, by named: [String]) -> Bool {
        !named.isEmpty && named.contains { head.name(of: field, equalsLowercased: $0) }
    }
}

extension StringProtocol {
    /// ASCII case-insensitive equality, without allocating.
    func caseInsensitiveEquals(_ other: some StringProtocol) -> Bool {
        var a = self.utf8.makeIterator()
        var b = other.utf8.makeIterator()
        while true {
            switch (a.next(), b.next()) {
            case (nil, nil): return true
            case (let x?, let y?):
                if x != y && (x | 0x20) != (y | 0x20) { return false }
                if x != y && !((x | 0x20) >= 0x61 && (x | 0x20) <= 0x7A) { return false }
            default: return false
            }
        }
    }

    func trimmingASCIISpaces() -> SubSequence {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}

/// The client's address as Konnect settles it (Kong's `trusted_ips` with a recursive real-IP
/// lookup): from a trusted proxy, the last `X-Forwarded-For` address that is not itself
/// trusted; otherwise the peer's own.
enum ClientAddress {
    static func resolve(peer: String, head: HTTP1Head, trusted: [IPNetwork]) -> String {
        guard let address = IPAddress(peer), trusted.contains(where: { $0.contains(address) }) else { return peer }
        let hops = head.values(named: "x-forwarded-for").flatMap { $0.split(separator: ",") }
            .map { String($0.trimmingASCIISpaces()) }
        var chosen = peer
        for hop in hops.reversed() {
            // Anything unreadable ends the walk: what lies left of it cannot be trusted.
            guard let hopAddress = IPAddress(hop) else { break }
            chosen = hop
            if !trusted.contains(where: { $0.contains(hopAddress) }) { break }
        }
        return chosen
    }
}
