import KonnectConfig
import NIOHTTP1

/// What the proxy needs to know about a request's headers, gathered in one pass.
struct RequestFacts {
    var host: Substring?
    var hostCount = 0
    var requestID: String?
    var contentLength: String?
    var contentLengthsDiffer = false
    var transferEncoding: String?
    var transferEncodingCount = 0
    var expectsContinue = false
    var oversizedField = false

    var hasBody: Bool { transferEncoding != nil || contentLength != nil }
}

/// Checks a parsed request head for what the HTTP parser lets through but a proxy must refuse.
enum RequestValidator {
    struct Problem {
        let status: HTTPResponseStatus
        let message: String
    }

    /// Reads the headers the proxy acts on, without allocating for the ones it does not.
    static func facts(of head: HTTPRequestHead, maxFieldSize: Int) -> RequestFacts {
        var facts = RequestFacts()
        for (name, value) in head.headers {
            let length = name.utf8.count
            if length + value.utf8.count + 2 > maxFieldSize { facts.oversizedField = true }
            switch length {
            case 4 where name.caseInsensitiveEquals("host"):
                facts.hostCount += 1
                facts.host = Substring(value)
            case 6 where name.caseInsensitiveEquals("expect"):
                facts.expectsContinue = value.trimmingASCIISpaces().caseInsensitiveEquals("100-continue")
            case 12 where name.caseInsensitiveEquals("x-request-id"):
                facts.requestID = value
            case 14 where name.caseInsensitiveEquals("content-length"):
                if let previous = facts.contentLength, previous != value { facts.contentLengthsDiffer = true }
                facts.contentLength = value
            case 17 where name.caseInsensitiveEquals("transfer-encoding"):
                facts.transferEncodingCount += 1
                facts.transferEncoding = value
            default:
                break
            }
        }
        return facts
    }

    static func problem(in head: HTTPRequestHead, facts: RequestFacts, settings: ProxySettings) -> Problem? {
        if head.version.major != 1 {
            return Problem(status: .httpVersionNotSupported, message: "HTTP version not supported")
        }
        if head.uri.utf8.count > settings.maxURILength {
            return Problem(status: .uriTooLong, message: "Request-URI too long")
        }
        if head.uri.utf8.first != UInt8(ascii: "/") {
            return Problem(status: .badRequest, message: "Bad request: the request target must be an absolute path")
        }
        if head.headers.count > settings.maxHeaderCount || facts.oversizedField {
            return Problem(status: .requestHeaderFieldsTooLarge, message: "Request header fields too large")
        }
        if facts.hostCount > 1 || (facts.hostCount == 0 && head.version.minor >= 1) {
            return Problem(status: .badRequest, message: "Bad request: exactly one Host header is required")
        }
        if let host = facts.host, !HostHeader.isValid(host) {
            return Problem(status: .badRequest, message: "Bad request: invalid Host header")
        }
        if let coding = facts.transferEncoding {
            if head.version.minor == 0 {
                return Problem(status: .badRequest, message: "Bad request: Transfer-Encoding is not allowed in HTTP/1.0")
            }
            if facts.contentLength != nil {
                return Problem(status: .badRequest, message: "Bad request: both Content-Length and Transfer-Encoding")
            }
            if facts.transferEncodingCount != 1 || !coding.trimmingASCIISpaces().caseInsensitiveEquals("chunked") {
                return Problem(status: .notImplemented, message: "Transfer-Encoding not implemented")
            }
        }
        if let text = facts.contentLength {
            guard !facts.contentLengthsDiffer, let length = Int64(text), length >= 0 else {
                return Problem(status: .badRequest, message: "Bad request: invalid Content-Length")
            }
            if settings.maxBodySize > 0, length > settings.maxBodySize {
                return Problem(status: .payloadTooLarge, message: "Request size limit exceeded")
            }
        }
        return nil
    }
}

/// Parsing of the `Host` header into the name the router matches and an optional port.
enum HostHeader {
    /// Splits `name[:port]` (or `[v6]:port`), lower-casing the name.
    static func split(_ value: Substring) -> (host: String, port: Int?) {
        var host = value
        var port: Int?
        if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]"),
           host.first == "[" || host.firstIndex(of: ":") == colon {
            port = Int(host[host.index(after: colon)...])
            host = host[..<colon]
        }
        if host.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) { return (host.lowercased(), port) }
        return (String(host), port)
    }

    /// Host names, IPv4, bracketed IPv6, with an optional port; nothing that could smuggle a path.
    static func isValid(_ value: some StringProtocol) -> Bool {
        guard !value.isEmpty, value.utf8.count <= 255 + 6 else { return false }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "]"):
                continue
            default:
                return false
            }
        }
        return true
    }
}

extension String {
    /// The path before `?` and the query after it, if any.
    func splitPathAndQuery() -> (Substring, Substring?) {
        guard let mark = firstIndex(of: "?") else { return (self[...], nil) }
        return (self[..<mark], self[index(after: mark)...])
    }
}

/// The value a consistent-hashing upstream hashes for one request (Kong's `hash_on`, then `hash_fallback`).
enum HashKey {
    static func compute(plan: UpstreamPlan, head: HTTPRequestHead, clientIP: String,
                        captures: [String: String], path: String) -> UInt64? {
        guard plan.algorithm == .consistentHashing else { return nil }
        for source in [plan.hashOn, plan.hashFallback] {
            if let value = value(of: source, head: head, clientIP: clientIP, captures: captures, path: path) {
                return StableHash.hash(value)
            }
        }
        return nil
    }

    private static func value(of source: HashOn, head: HTTPRequestHead, clientIP: String,
                              captures: [String: String], path: String) -> String? {
        switch source {
        case .none, .consumer:
            return nil
        case .ip:
            return clientIP
        case .header(let name):
            let values = head.headers[name]
            return values.isEmpty ? nil : values.joined(separator: ",")
        case .cookie(let name, _):
            for header in head.headers[canonicalForm: "cookie"] {
                for pair in header.split(separator: ";") {
                    let trimmed = pair.trimmingASCIISpaces()
                    if trimmed.hasPrefix(name + "=") { return String(trimmed.dropFirst(name.count + 1)) }
                }
            }
            return nil
        case .path:
            return path
        case .queryArg(let name):
            guard let query = head.uri.splitPathAndQuery().1 else { return nil }
            for pair in query.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if parts[0] == name { return parts.count > 1 ? String(parts[1]) : "" }
            }
            return nil
        case .uriCapture(let name):
            return captures[name]
        }
    }
}
