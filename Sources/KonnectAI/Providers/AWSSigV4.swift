import Crypto
import NIOCore

/// An AWS access key, with the session token temporary credentials (STS) carry.
public struct AWSCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// AWS Signature Version 4 in the `Authorization` header: a pure function of the request, the
/// credentials, the region, the service and the time, so it is tested against AWS's published
/// vectors.
///
/// The URL is taken as it goes on the wire (its path already percent-encoded) and its path is
/// encoded once more for the canonical request, as AWS requires of every service but S3: a
/// Bedrock model id `…-v1:0` travels as `…-v1%3A0` and is signed as `…-v1%253A0`. The `Host`
/// header is signed as an HTTP client derives it from the URL (the port only when it is not the
/// scheme's default) and is not added to the headers: the client sends it.
public enum AWSSigV4 {
    /// A signed request: the headers to send (the request's own, then `X-Amz-Date`,
    /// `X-Amz-Security-Token` with temporary credentials, and `Authorization`), and the
    /// intermediate strings, for tests and for debugging a refused signature.
    public struct Signed: Sendable {
        public var headers: [(String, String)]
        public var canonicalRequest: String
        public var stringToSign: String
        public var signature: String
    }

    /// Signs a request made at `secondsSince1970` (UTC).
    public static func sign(method: String, url: String, headers: [(String, String)], body: ByteBuffer,
                            credentials: AWSCredentials, region: String, service: String,
                            secondsSince1970: Int64) throws(AIError) -> Signed {
        guard let parts = URLParts(url) else {
            throw AIError(.server, "The endpoint URL \(url) cannot be signed: expected http(s)://host/path")
        }
        let amzDate = timestamp(secondsSince1970)
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"

        var signedHeaders: [(name: String, value: String)] = [("host", parts.host), ("x-amz-date", amzDate)]
        if let token = credentials.sessionToken { signedHeaders.append(("x-amz-security-token", token)) }
        for (name, value) in headers where name.lowercased() != "host" && !replacedHeaders.contains(name.lowercased()) {
            signedHeaders.append((name.lowercased(), value))
        }
        // One line per name, values of a repeated name joined by commas in the order given.
        var canonical: [(name: String, value: String)] = []
        for header in signedHeaders {
            let value = trimmed(header.value)
            if let index = canonical.firstIndex(where: { $0.name == header.name }) {
                canonical[index].value += "," + value
            } else {
                canonical.append((header.name, value))
            }
        }
        canonical.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        let signedNames = canonical.map(\.name).joined(separator: ";")

        let payloadHash = body.withUnsafeReadableBytes { hex(SHA256.hash(data: $0)) }
        let canonicalRequest = [
            method.uppercased(),
            canonicalURI(parts.path),
            canonicalQuery(parts.query),
            canonical.map { "\($0.name):\($0.value)\n" }.joined(),
            signedNames,
            payloadHash,
        ].joined(separator: "\n")
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, hex(SHA256.hash(data: Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")

        var key = SymmetricKey(data: Array(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))

        var sent = headers.filter { !replacedHeaders.contains($0.0.lowercased()) }
        sent.append(("X-Amz-Date", amzDate))
        if let token = credentials.sessionToken { sent.append(("X-Amz-Security-Token", token)) }
        sent.append(("Authorization",
                     "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedNames), Signature=\(signature)"))
        return Signed(headers: sent, canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature)
    }

    /// The headers signing writes: a request's own are dropped.
    private static let replacedHeaders: Set<String> = ["authorization", "x-amz-date", "x-amz-security-token"]

    /// `YYYYMMDDTHHMMSSZ` for a time in seconds since 1970 (UTC).
    public static func timestamp(_ secondsSince1970: Int64) -> String {
        let days = secondsSince1970 >= 0 ? secondsSince1970 / 86_400 : (secondsSince1970 - 86_399) / 86_400
        let seconds = secondsSince1970 - days * 86_400
        // Howard Hinnant's civil_from_days.
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)\(two(month))\(two(day))T\(two(seconds / 3600))\(two(seconds % 3600 / 60))\(two(seconds % 60))Z"
    }

    /// Each byte of `text` but the unreserved ones (`A–Z a–z 0–9 - . _ ~`) as `%XX`; `/` too
    /// unless `keepingSlashes`.
    public static func percentEncoded(_ text: some StringProtocol, keepingSlashes: Bool = false) -> String {
        percentEncoded(bytes: text.utf8, keepingSlashes: keepingSlashes)
    }

    static func percentEncoded(bytes: some Sequence<UInt8>, keepingSlashes: Bool = false) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepingSlashes:
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), upperHexDigits[Int(byte >> 4)], upperHexDigits[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Canonical pieces

    /// The wire path encoded again (`%` becomes `%25`), slashes kept.
    static func canonicalURI(_ path: Substring) -> String {
        path.isEmpty ? "/" : percentEncoded(path, keepingSlashes: true)
    }

    /// Parameters decoded, then encoded AWS's way and sorted by name, then value.
    static func canonicalQuery(_ query: Substring) -> String {
        guard !query.isEmpty else { return "" }
        var pairs: [(String, String)] = []
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let equals = pair.firstIndex(of: "=")
            let name = equals.map { pair[..<$0] } ?? pair
            let value = equals.map { pair[pair.index(after: $0)...] } ?? ""
            pairs.append((percentEncoded(bytes: percentDecoded(name)), percentEncoded(bytes: percentDecoded(value))))
        }
        pairs.sort { $0.0 == $1.0 ? $0.1.utf8.lexicographicallyPrecedes($1.1.utf8) : $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    static func percentDecoded(_ text: Substring) -> [UInt8] {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
               let high = hexValue(utf8[utf8.startIndex]), let low = hexValue(utf8[utf8.startIndex + 1]) {
                bytes.append(high << 4 | low)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return bytes
    }

    /// A header value without surrounding spaces, inner runs of spaces made one.
    static func trimmed(_ value: String) -> String {
        var out = ""
        var pendingSpace = false
        for character in value {
            if character == " " || character == "\t" {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(character)
            }
        }
        return out
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in bytes { out += [lowerHexDigits[Int(byte >> 4)], lowerHexDigits[Int(byte & 0x0F)]] }
        return String(decoding: out, as: UTF8.self)
    }

    private static let upperHexDigits = Array("0123456789ABCDEF".utf8)
    private static let lowerHexDigits = Array("0123456789abcdef".utf8)

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// An http(s) URL's host (as the `Host` header carries it), path and query.
    struct URLParts {
        var host: String
        var path: Substring
        var query: Substring

        init?(_ url: String) {
            let lowered = url.lowercased()
            let defaultPort: String
            if lowered.hasPrefix("https://") {
                defaultPort = "443"
            } else if lowered.hasPrefix("http://") {
                defaultPort = "80"
            } else {
                return nil
            }
            var rest = url[url.index(url.firstIndex(of: ":")!, offsetBy: 3)...]
            if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
            let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
            var authority = rest[..<authorityEnd]
            guard !authority.isEmpty, !authority.contains("@") else { return nil }
            if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]"),
               authority[authority.index(after: colon)...] == defaultPort[...] {
                authority = authority[..<colon]
            }
            host = authority.lowercased()
            let afterAuthority = rest[authorityEnd...]
            if let question = afterAuthority.firstIndex(of: "?") {
                path = afterAuthority[..<question]
                query = afterAuthority[afterAuthority.index(after: question)...]
            } else {
                path = afterAuthority
                query = ""
            }
        }
    }
}
