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

    /// Headers Konnect sets itself on the upstream request, so the client's copies are dropped.
    private static func isSetByProxy(_ name: String) -> Bool {
        switch name.utf8.count {
        case 4: return name.caseInsensitiveEquals("host")
        case 6: return name.caseInsensitiveEquals("expect")
        case 9: return name.caseInsensitiveEquals("x-real-ip")
        case 16:
            return name.caseInsensitiveEquals("x-forwarded-host") || name.caseInsensitiveEquals("x-forwarded-port")
                || name.caseInsensitiveEquals("x-forwarded-path")
        case 17: return name.caseInsensitiveEquals("x-forwarded-proto")
        case 18: return name.caseInsensitiveEquals("x-forwarded-prefix")
        default: return false
        }
    }

    /// Header names listed in `Connection` (other than its own options), which are hop-by-hop too.
    /// Allocates only when such a name is present.
    private static func connectionOptions(_ source: HTTPHeaders) -> [Substring] {
        var named: [Substring] = []
        for (name, value) in source where name.utf8.count == 10 && name.caseInsensitiveEquals("connection") {
            for token in value.split(separator: ",") {
                let token = token.trimmingASCIISpaces()
                if !token.isEmpty && !token.caseInsensitiveEquals("close") && !token.caseInsensitiveEquals("keep-alive") {
                    named.append(token)
                }
            }
        }
        return named
    }

    /// The client's headers as the upstream gets them, in one pass: hop-by-hop headers, those
    /// `Connection` names, and those Konnect sets itself are left out; earlier
    /// `X-Forwarded-For` values are returned so the caller can append the client's address.
    static func upstreamRequestHeaders(_ source: HTTPHeaders, extraCapacity: Int) -> (HTTPHeaders, forwardedFor: String?) {
        let named = connectionOptions(source)
        var out = HTTPHeaders()
        out.reserveCapacity(source.count + extraCapacity)
        var forwardedFor: String?
        for (name, value) in source {
            if isHopByHop(name) || isSetByProxy(name) { continue }
            if name.utf8.count == 15 && name.caseInsensitiveEquals("x-forwarded-for") {
                forwardedFor = forwardedFor.map { $0 + ", " + value } ?? value
                continue
            }
            if !named.isEmpty && named.contains(where: { name.caseInsensitiveEquals($0) }) { continue }
            out.add(name: name, value: value)
        }
        return (out, forwardedFor)
    }

    /// The upstream's response headers as the client gets them: hop-by-hop headers and those
    /// `Connection` names are left out. Also returns the upstream's Content-Length and whether
    /// it sent an `X-Request-Id`.
    static func clientResponseHeaders(_ source: HTTPHeaders, extraCapacity: Int)
        -> (HTTPHeaders, contentLength: String?, hasRequestID: Bool) {
        let named = connectionOptions(source)
        var out = HTTPHeaders()
        out.reserveCapacity(source.count + extraCapacity)
        var contentLength: String?
        var hasRequestID = false
        for (name, value) in source {
            if isHopByHop(name) {
                if name.utf8.count == 14 && name.caseInsensitiveEquals("content-length") { contentLength = value }
                continue
            }
            if !named.isEmpty && named.contains(where: { name.caseInsensitiveEquals($0) }) { continue }
            if name.utf8.count == 12 && name.caseInsensitiveEquals("x-request-id") { hasRequestID = true }
            out.add(name: name, value: value)
        }
        return (out, contentLength, hasRequestID)
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
