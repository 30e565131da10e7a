import Foundation
import KonnectConfig

/// What a plugin can read of a request's head.
public protocol PluginRequestHead {
    /// Every value of the header fields named `lowercased` (any case), in order.
    func values(named lowercased: String) -> [String]
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

    /// The consumer authentication identified (or the anonymous consumer), when one did.
    public private(set) var consumer: Consumer?
    /// The id of the credential that identified the consumer.
    public private(set) var credentialID: String?
    public private(set) var isAnonymous = false
    /// The consumer's ACL groups, once an acl plugin has looked them up.
    public var groups: [String]?

    /// Header names (lower-cased) the upstream request leaves out.
    public private(set) var removedHeaders: Set<String> = []
    /// Header fields the upstream request adds, in order.
    public private(set) var addedHeaders: [AccessResult.Header] = []
    /// Query arguments the upstream request leaves out (`hide_credentials`).
    public private(set) var removedQueryArguments: Set<String> = []

    /// Headers that carry the identity Konnect established; a client's own are always dropped
    /// so they cannot be forged.
    public static let identityHeaders: Set<String> = [
        "x-consumer-id", "x-consumer-username", "x-consumer-custom-id", "x-credential-identifier",
        "x-anonymous-consumer", "x-consumer-groups",
    ]

    public init(method: String, head: any PluginRequestHead, query: Substring?, clientIP: String) {
        self.method = method
        self.head = head
        self.query = query
        self.clientIP = clientIP
        removedHeaders = Self.identityHeaders
    }

    /// Records the consumer, and tells the upstream who it is with Kong's headers.
    public func authenticate(_ consumer: Consumer, credentialID: String?, anonymous: Bool = false) {
        self.consumer = consumer
        self.credentialID = credentialID
        isAnonymous = anonymous
        addedHeaders.removeAll { Self.identityHeaders.contains($0.name.lowercased()) && $0.name.lowercased() != "x-consumer-groups" }
        addHeader("X-Consumer-ID", consumer.id)
        if let username = consumer.username { addHeader("X-Consumer-Username", username) }
        if let customID = consumer.customID { addHeader("X-Consumer-Custom-ID", customID) }
        if let credentialID { addHeader("X-Credential-Identifier", credentialID) }
        if anonymous { addHeader("X-Anonymous-Consumer", "true") }
    }

    public func removeHeader(_ lowercasedName: String) {
        removedHeaders.insert(lowercasedName)
    }

    /// Adds a header field to the upstream request; a value with control characters (which a
    /// consumer's username could hold) is left out rather than let it split the head.
    public func addHeader(_ name: String, _ value: String) {
        guard !value.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) else { return }
        addedHeaders.append(.init(name, value))
    }

    public func removeQueryArgument(_ name: String) {
        removedQueryArguments.insert(name)
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
