import KonnectRouter
import NIOHTTP1

/// Request headers seen through the router's eyes.
struct RoutedHeaders: RouteHeaders {
    let headers: HTTPHeaders

    func anyValue(named lowercasedName: String, where predicate: (Substring) -> Bool) -> Bool {
        for (name, value) in headers where name.utf8.count == lowercasedName.utf8.count {
            if name.caseInsensitiveEquals(lowercasedName), predicate(Substring(value)) { return true }
        }
        return false
    }
}

/// Rules for which headers cross the proxy and how bodies are framed on each side.
enum HeaderRules {
    /// Headers that describe one connection and are never forwarded (RFC 9110 §7.6.1), plus the
    /// framing headers Konnect always sets itself.
    static func isHopByHop(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2: return name.caseInsensitiveEquals("te")
        case 7: return name.caseInsensitiveEquals("trailer") || name.caseInsensitiveEquals("upgrade")
        case 10: return name.caseInsensitiveEquals("connection") || name.caseInsensitiveEquals("keep-alive")
        case 14: return name.caseInsensitiveEquals("content-length")
        case 17: return name.caseInsensitiveEquals("transfer-encoding")
        default: return name.utf8.count > 6 && name.hasCaseInsensitivePrefix("proxy-")
        }
    }

    /// Copies `source` without hop-by-hop headers nor any header that `Connection` names.
    static func forwardable(_ source: HTTPHeaders, extraCapacity: Int) -> HTTPHeaders {
        var named: [String] = []
        for value in source[canonicalForm: "connection"] {
            let token = value.trimmingASCIISpaces().lowercased()
            if token != "close" && token != "keep-alive" && !token.isEmpty { named.append(String(token)) }
        }
        var out = HTTPHeaders()
        out.reserveCapacity(source.count + extraCapacity)
        for (name, value) in source where !isHopByHop(name) {
            if !named.isEmpty && named.contains(where: { name.caseInsensitiveEquals($0) }) { continue }
            out.add(name: name, value: value)
        }
        return out
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

    func hasCaseInsensitivePrefix(_ prefix: String) -> Bool {
        var a = self.utf8.makeIterator()
        for y in prefix.utf8 {
            guard let x = a.next() else { return false }
            if x != y && ((x | 0x20) != (y | 0x20) || !((x | 0x20) >= 0x61 && (x | 0x20) <= 0x7A)) { return false }
        }
        return true
    }

    func trimmingASCIISpaces() -> SubSequence {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
