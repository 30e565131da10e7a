import KonnectConfig
import KonnectHTTP1

/// What the proxy needs to know about a request's headers, gathered in one pass.
struct RequestFacts {
    var host: String?
    var hostCount = 0
    var requestID: String?
    var expectsContinue = false
    var oversizedField = false
    var connectionClose = false
    var connectionKeepAlive = false
    /// Header names the request's `Connection` lists (hop-by-hop too); usually empty.
    var connectionNames: [String]? = nil
}

/// Checks a parsed request head for what the codec lets through but a proxy must refuse.
enum RequestValidator {
    struct Problem {
        let status: Int
        let message: String
    }

    /// Reads the headers the proxy acts on, without allocating for the ones it does not.
    static func facts(of head: HTTP1Head, maxFieldSize: Int) -> RequestFacts {
        var facts = RequestFacts()
        var connectionListsNames = false
        for field in head.fields {
            if field.nameLength + field.valueLength + 2 > maxFieldSize { facts.oversizedField = true }
            switch field.nameLength {
            case 4 where head.name(of: field, is: "host"):
                facts.hostCount += 1
                facts.host = head.value(field)
            case 6 where head.name(of: field, is: "expect"):
                facts.expectsContinue = head.value(of: field, is: "100-continue")
            case 10 where head.name(of: field, is: "connection"):
                if head.value(of: field, is: "close") {
                    facts.connectionClose = true
                } else if head.value(of: field, is: "keep-alive") {
                    facts.connectionKeepAlive = true
                } else {
                    connectionListsNames = true
                }
            case 12 where head.name(of: field, is: "x-request-id"):
                facts.requestID = head.value(field)
            default:
                break
            }
        }
        if connectionListsNames {
            let options = HeaderRules.connectionOptions(head)
            facts.connectionClose = facts.connectionClose || options.close
            facts.connectionKeepAlive = facts.connectionKeepAlive || options.keepAlive
            facts.connectionNames = options.named
        }
        return facts
    }

    static func problem(in head: HTTP1Head, facts: RequestFacts, framing: HTTP1Decoder.Framing,
                        settings: ProxySettings) -> Problem? {
        if head.target.utf8.count > settings.maxURILength {
            return Problem(status: 414, message: "Request-URI too long")
        }
        if facts.oversizedField {
            return Problem(status: 431, message: "Request header fields too large")
        }
        if facts.hostCount > 1 || (facts.hostCount == 0 && head.minorVersion >= 1) {
            return Problem(status: 400, message: "Bad request: exactly one Host header is required")
        }
        if let host = facts.host, !HostHeader.isValid(host) {
            return Problem(status: 400, message: "Bad request: invalid Host header")
        }
        if settings.maxBodySize > 0, case .length(let length) = framing, length > settings.maxBodySize {
            return Problem(status: 413, message: "Request size limit exceeded")
        }
        return nil
    }

    /// The answer for a request the codec could not decode.
    static func problem(for error: HTTP1Error) -> Problem {
        switch error {
        case .headTooLarge, .tooManyFields:
            return Problem(status: 431, message: "Request header fields too large")
        case .unsupportedVersion:
            return Problem(status: 505, message: "HTTP version not supported")
        case .unsupportedTransferCoding:
            return Problem(status: 501, message: "Transfer-Encoding not implemented")
        case .conflictingFraming:
            return Problem(status: 400, message: "Bad request: both Content-Length and Transfer-Encoding")
        case .invalidContentLength:
            return Problem(status: 400, message: "Bad request: invalid Content-Length")
        case .transferEncodingInHTTP10:
            return Problem(status: 400, message: "Bad request: Transfer-Encoding is not allowed in HTTP/1.0")
        case .malformedStartLine, .malformedField, .malformedChunk, .unexpectedEnd:
            return Problem(status: 400, message: "Bad request")
        }
    }
}

/// A request target in origin form (`/path?query`), with the authority of an absolute-form target
/// (`http://host:port/path?query`), which servers must accept (RFC 9112 §3.2.2). Nil for anything
/// else: the authority form of CONNECT, `*`, other schemes, user information.
struct RequestTarget {
    let originForm: String
    let authority: String?

    init?(_ target: String) {
        if target.utf8.first == UInt8(ascii: "/") {
            originForm = target
            authority = nil
            return
        }
        let schemeLength: Int
        if target.utf8.count > 7 && target.utf8.prefix(7).elementsEqual("http://".utf8, by: Self.sameIgnoringCase) {
            schemeLength = 7
        } else if target.utf8.count > 8 && target.utf8.prefix(8).elementsEqual("https://".utf8, by: Self.sameIgnoringCase) {
            schemeLength = 8
        } else {
            return nil
        }
        let rest = target.utf8.dropFirst(schemeLength)
        let end = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? rest.endIndex
        let authority = Substring(rest[..<end])
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        let remainder = Substring(rest[end...])
        originForm = remainder.first == "/" ? String(remainder) : "/" + remainder
        self.authority = String(authority)
    }

    private static func sameIgnoringCase(_ a: UInt8, _ b: UInt8) -> Bool {
        a == b || (a | 0x20 == b && a >= UInt8(ascii: "A") && a <= UInt8(ascii: "Z"))
    }
}

/// Parsing of the `Host` header into the name the router matches and an optional port.
enum HostHeader {
    /// Splits `name[:port]` (or `[v6]:port`), lower-casing the name. Works on UTF-8 bytes: this
    /// runs for every request.
    static func split(_ value: String) -> (host: String, port: Int?) {
        if let parts = value.utf8.withContiguousStorageIfAvailable({ split(bytes: $0, of: value) }) {
            return parts
        }
        var copy = value
        copy.makeContiguousUTF8()
        return split(copy)
    }

    private static func split(bytes: UnsafeBufferPointer<UInt8>, of value: String) -> (host: String, port: Int?) {
        var colon = -1
        var colons = 0
        var hasUpper = false
        for offset in 0..<bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: ":") {
                colon = offset
                colons += 1
            } else if byte &- UInt8(ascii: "A") < 26 {
                hasUpper = true
            }
        }
        var hostEnd = bytes.count
        var port: Int?
        // One colon is a port separator; several only after a bracketed IPv6 address.
        if colon >= 0, colons == 1 || (bytes[0] == UInt8(ascii: "[") && colon > 0 && bytes[colon - 1] == UInt8(ascii: "]")) {
            hostEnd = colon
            port = decimal(UnsafeBufferPointer(rebasing: bytes[(colon + 1)...]))
        }
        if !hasUpper && hostEnd == bytes.count { return (value, port) }
        let host = String(decoding: UnsafeBufferPointer(rebasing: bytes[..<hostEnd]), as: UTF8.self)
        return (hasUpper ? host.lowercased() : host, port)
    }

    /// Digits only (a port); nil when empty, when anything else is there, or when too long.
    private static func decimal(_ digits: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 9 else { return nil }
        var value = 0
        for byte in digits {
            guard byte &- UInt8(ascii: "0") < 10 else { return nil }
            value = value * 10 + Int(byte &- UInt8(ascii: "0"))
        }
        return value
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

/// The value a consistent-hashing upstream hashes for one request (Kong's `hash_on`, then `hash_fallback`).
enum HashKey {
    static func compute(plan: UpstreamPlan, head: HTTP1Head, target: String, clientIP: String,
                        captures: [String: String], path: String) -> UInt64? {
        guard plan.algorithm == .consistentHashing else { return nil }
        for source in [plan.hashOn, plan.hashFallback] {
            if let value = value(of: source, head: head, target: target, clientIP: clientIP, captures: captures, path: path) {
                return StableHash.hash(value)
            }
        }
        return nil
    }

    private static func value(of source: HashOn, head: HTTP1Head, target: String, clientIP: String,
                              captures: [String: String], path: String) -> String? {
        switch source {
        case .none, .consumer:
            return nil
        case .ip:
            return clientIP
        case .header(let name):
            let values = head.values(named: name.lowercased())
            return values.isEmpty ? nil : values.joined(separator: ",")
        case .cookie(let name, _):
            for header in head.values(named: "cookie") {
                for pair in header.split(separator: ";") {
                    let trimmed = pair.trimmingASCIISpaces()
                    if trimmed.hasPrefix(name + "=") { return String(trimmed.dropFirst(name.count + 1)) }
                }
            }
            return nil
        case .path:
            return path
        case .queryArg(let name):
            guard let query = target.splitPathAndQuery().1 else { return nil }
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
