import Foundation
import KonnectConfig

/// What a plugin can read of a request's head.
public protocol PluginRequestHead {
    /// The value of the one field named `lowercased` (any case); `.many` when there are several.
    func value(named lowercased: String) -> HeaderValue
}

/// A header looked up where only one value makes sense (a key, a token).
public enum HeaderValue: Equatable, Sendable {
    case none
    case one(String)
    case many
}

/// A plugin's decision in the access phase.
public enum AccessResult: Sendable, Equatable {
    case proceed
    /// Answer the client now, with `{"message": …}` and these extra header fields.
    case respond(status: Int, message: String, headers: [Header] = [])

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }

        /// `Name: value\r\n`.
        public var line: String { "\(name): \(value)\r\n" }

        /// Whether `value` can go in a header field: no control characters but tab.
        public static func isSafe(_ value: String) -> Bool {
            !value.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }
        }
    }
}

/// One request as the access phase sees it, and what the plugins decided about it: who the
/// consumer is, and how the head sent upstream differs from the client's.
///
/// Created per request on the request's event loop and dropped with it; plugins themselves hold
/// no per-request state.
public final class AccessContext {
    public let method: String
    public let head: any PluginRequestHead
    /// The query string without `?`, when there is one.
    public let query: Substring?
    public let clientIP: String

    /// Who authentication identified (or the anonymous consumer), when it did.
    public private(set) var identity: Identity?
    public var consumer: Consumer? { identity?.consumer }
    public var isAnonymous: Bool { identity?.isAnonymous ?? false }

    /// Header names (lower-cased) the upstream request leaves out: always the identity headers a
    /// client sent, so they cannot be forged.
    public private(set) var removedHeaders: [String] = AccessContext.identityHeaders
    /// The `X-Consumer-Groups` line (`Name: value\r\n`) an acl plugin adds after the identity's.
    public var groupsLine: String?
    /// Query arguments the upstream request leaves out (`hide_credentials`).
    public private(set) var removedQueryArguments: [String] = []

    /// Headers that carry the identity Konnect established.
    public static let identityHeaders = [
        "x-consumer-id", "x-consumer-username", "x-consumer-custom-id", "x-credential-identifier",
        "x-anonymous-consumer", "x-consumer-groups",
    ]

    public init(method: String, head: any PluginRequestHead, query: Substring?, clientIP: String) {
        self.method = method
        self.head = head
        self.query = query
        self.clientIP = clientIP
    }

    /// Records who the request is from (replacing an identity recorded before, such as the
    /// anonymous consumer's); the upstream is told with the identity's header lines.
    public func identify(_ identity: Identity) {
        self.identity = identity
    }

    public func removeHeader(_ lowercasedName: String) {
        if !removedHeaders.contains(lowercasedName) { removedHeaders.append(lowercasedName) }
    }

    public func removeQueryArgument(_ name: String) {
        if !removedQueryArguments.contains(name) { removedQueryArguments.append(name) }
    }

    /// The values of the query argument `name` (`a=1&a=2` gives both), percent-decoded.
    public func queryValues(_ name: String) -> [String] {
        guard let query else { return [] }
        var values: [String] = []
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard Self.decode(parts[0]) == name else { continue }
            values.append(parts.count > 1 ? Self.decode(parts[1]) : "")
        }
        return values
    }

    /// The query string without the arguments `removedQueryArguments` names, or nil when nothing
    /// is left.
    public func rewrittenQuery() -> Substring? {
        guard let query, !removedQueryArguments.isEmpty else { return query }
        let kept = query.split(separator: "&", omittingEmptySubsequences: true).filter { pair in
            let name = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            return !removedQueryArguments.contains(Self.decode(name))
        }
        return kept.isEmpty ? nil : Substring(kept.joined(separator: "&"))
    }

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacing("+", with: " ")
        return spaced.removingPercentEncoding ?? String(spaced)
    }
}
