import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Syntax checks for the strings a configuration holds: host names, paths, names, tags, URLs.
enum ConfigSyntax {
    /// A dotted-quad IPv4 address.
    static func isIPv4(_ text: String) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, text, &address) == 1
    }

    /// An IPv6 address without brackets.
    static func isIPv6(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }

    /// A DNS name: dot-separated labels of letters, digits, `-` and `_`, at most 253 characters.
    static func isHostname(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63
                && label.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "-" || $0 == "_" }
                && !label.hasPrefix("-") && !label.hasSuffix("-")
        }
    }

    /// A host name or an IP address (IPv6 with or without brackets), without a port.
    static func isHost(_ text: String) -> Bool {
        if text.hasPrefix("["), text.hasSuffix("]") {
            return isIPv6(String(text.dropFirst().dropLast()))
        }
        return isIPv4(text) || isIPv6(text) || isHostname(text)
    }

    /// A port number written as decimal digits, 0 to 65535.
    static func port(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy(\.isASCIIDigit), let value = Int(text),
            value <= 65535
        else { return nil }
        return value
    }

    /// Splits `host`, `host:port`, `[v6]` or `[v6]:port` (and a bare IPv6 address) into its parts,
    /// or `nil` when the text is none of these. IPv6 hosts come back without brackets.
    static func splitHostPort(_ text: String) -> (host: String, port: Int?)? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            guard isIPv6(host) else { return nil }
            let rest = text[text.index(after: close)...]
            if rest.isEmpty { return (host, nil) }
            guard rest.hasPrefix(":"), let port = port(rest.dropFirst()) else { return nil }
            return (host, port)
        }
        let colons = text.filter { $0 == ":" }.count
        if colons > 1 {
            return isIPv6(text) ? (text, nil) : nil
        }
        if colons == 1 {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard let port = port(parts[1]) else { return nil }
            let host = String(parts[0])
            guard isIPv4(host) || isHostname(host) else { return nil }
            return (host, port)
        }
        guard isIPv4(text) || isHostname(text) else { return nil }
        return (text, nil)
    }

    /// A route host: a host name with at most one `*`, either as a leading `*.` or a trailing `.*`,
    /// and an optional `:port`; or an IP address with an optional port.
    static func isRouteHost(_ text: String) -> Bool {
        let wildcards = text.filter { $0 == "*" }.count
        guard wildcards <= 1 else { return false }
        var candidate = text
        if wildcards == 1 {
            if text.hasPrefix("*.") {
                candidate = "wildcard" + text.dropFirst()
            } else if let dotStar = text.range(of: ".*"),
                dotStar.upperBound == text.endIndex || text[dotStar.upperBound] == ":"
            {
                candidate.replaceSubrange(dotStar, with: ".wildcard")
            } else {
                return false
            }
        }
        return splitHostPort(candidate) != nil
    }

    /// Characters a URL path may hold besides `%XX` escapes (RFC 3986 unreserved, sub-delims, `:`, `@`, `/`).
    private static let pathCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/")

    /// A URL path starting with `/`, made of URL path characters and well-formed `%XX` escapes.
    static func isURLPath(_ text: String) -> Bool {
        guard text.hasPrefix("/") else { return false }
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character == "%" {
                guard index + 2 < characters.count, characters[index + 1].isHexDigit, characters[index + 2].isHexDigit
                else { return false }
                index += 3
                continue
            }
            guard pathCharacters.contains(character) else { return false }
            index += 1
        }
        return true
    }

    /// The compile error of `pattern`, or `nil` when it compiles.
    static func regexError(_ pattern: String) -> String? {
        do {
            _ = try NSRegularExpression(pattern: pattern)
            return nil
        } catch {
            return "it does not compile"
        }
    }

    /// An entity name: ASCII letters, digits, `.`, `-`, `_`, `~`, and any non-ASCII characters.
    static func isEntityName(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { scalar in
            !scalar.isASCII || scalar.isASCIIAlphanumeric || ".-_~".unicodeScalars.contains(scalar)
        }
    }

    /// A tag: printable, without `,` or `/`, not empty.
    static func isTag(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { scalar in
            scalar.value >= 0x20 && scalar.value != 0x7F && scalar != "," && scalar != "/"
        }
    }

    /// An HTTP header name: letters, digits, `-` and `_`.
    static func isHeaderName(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "-" || $0 == "_" }
    }

    /// A cookie name (an RFC 6265 token).
    static func isCookieName(_ text: String) -> Bool {
        let separators = "()<>@,;:\\\"/[]?={} \t".unicodeScalars
        return !text.isEmpty && text.unicodeScalars.allSatisfy { scalar in
            scalar.value > 0x20 && scalar.value < 0x7F && !separators.contains(scalar)
        }
    }

    /// A credential key or secret: visible ASCII (no spaces or control characters), 1 to 1024 characters.
    /// An absolute http or https URL with a host.
    static func isHTTPURL(_ text: String) -> Bool {
        guard let url = URL(string: text), url.scheme == "https" || url.scheme == "http", let host = url.host else { return false }
        return !host.isEmpty
    }

    static func isCredentialKey(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 1024 && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    /// Printable text without control characters (a username, an ACL group), 1 to 1024 bytes.
    static func isPrintable(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 1024 && text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F }
    }

    /// A TLS server name: a host name, or one with a leading `*.` or a trailing `.*` wildcard;
    /// not an IP address.
    static func isServerName(_ text: String) -> Bool {
        var host = Substring(text)
        if host.hasPrefix("*.") {
            host = host.dropFirst(2)
        } else if host.hasSuffix(".*") {
            host = host.dropLast(2)
        }
        return isHostname(String(host)) && !isIPv4(String(host)) && !host.contains("*")
    }

    /// An HTTP method: upper-case letters only.
    static func isMethod(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { $0.value >= 0x41 && $0.value <= 0x5A }
    }
}

extension Unicode.Scalar {
    var isASCIIAlphanumeric: Bool {
        switch value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        default: false
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
