import Foundation
import KonnectConfig
import NIOCore

/// What a plugin can read of a request's head.
public protocol PluginRequestHead {
    /// The value of the one field named `lowercased` (any case); `.many` when there are several.
    func value(named lowercased: String) -> HeaderValue
    /// Every field, names as sent, in order.
    func allFields() -> [(name: String, value: String)]
}

/// A header looked up where only one value makes sense (a key, a token).
public enum HeaderValue: Equatable, Sendable {
    case none
    case one(String)
    case many
}

/// One request as plugins see it, and what they decided about it: who the consumer is, how the
/// head sent upstream differs from the client's, what the response adds.
///
/// Created per request on the request's event loop and dropped with it; plugins themselves hold
/// no per-request state (what one must carry from phase to phase goes in `values`).
public final class PluginContext {
    public let method: String
    public let head: any PluginRequestHead
    /// The request target as sent (origin form: path and query).
    public let target: String
    /// The query string without `?`, when there is one.
    public let query: Substring?
    public let clientIP: String
    /// The matched route and its service (set when the access phase starts).
    public internal(set) var routeID: String?
    public internal(set) var serviceID: String?
    /// The request's path, normalized as routing saw it (set before the access phase).
    public var path = ""
    /// The named captures of the matched route's regex path (set before the access phase).
    public var uriCaptures: [String: String] = [:]
    /// The method and path sent upstream instead of the client's (request-transformer).
    public var upstreamMethod: String?
    public var upstreamPath: String?
    /// The loop the request is served on: a plugin that waits completes its decision here.
    public let eventLoop: any EventLoop
    /// The plugins that apply, in order, once the access phase has run (consumer-scoped ones
    /// included): the later phases run these.
    public var plugins: [any ProxyPlugin] = []
    /// The phases any of `plugins` takes part in, so a phase none has costs nothing.
    public var phases: PluginPhases = []
    /// Header lines (`Name: value\r\n`) added to the upstream request.
    public private(set) var upstreamLines = ""
    /// Header lines added to the response.
    public private(set) var responseLines = ""
    /// The largest request body allowed (request-size-limiting), when a plugin set one.
    public var bodyLimit: Int64?
    /// The whole request body, once a plugin asked for it with `AccessResult.readBody`.
    public var requestBody: ByteBuffer?
    /// The body sent upstream instead of the client's (`replaceRequestBody`).
    public private(set) var replacedRequestBody: ByteBuffer?
    /// A plugin will change the response body's length (set in the response-header phase).
    public private(set) var rewritesResponseBody = false
    /// The upstream's response head, during the response phases (nil for Konnect's own answers).
    public var responseHead: (any PluginRequestHead)?
    /// The answer to give instead when the upstream fails (Konnect's own 502, 503 or 504, or the
    /// upstream's 5xx): a stale cached copy (proxy-cache). `usedFallback` says it was given.
    public var fallback: AccessResult?
    public var usedFallback = false
    /// Header names (lower-cased) left out of the upstream's response.
    public private(set) var removedResponseHeaders: [String] = []
    /// The largest request body plugins may ask to have in memory.
    public static let bufferedBodyLimit: Int64 = 16 << 20
    /// What a plugin keeps for one request from one phase, or one call, to the next (an id to
    /// echo, a slot to give back, a body being gathered), by plugin name.
    public var values: [String: Any] = [:]

    /// Who authentication identified (or the anonymous consumer), when it did.
    public private(set) var identity: Identity?
    public var consumer: Consumer? { identity?.consumer }
    public var isAnonymous: Bool { identity?.isAnonymous ?? false }
    /// A credential identified the consumer (an anonymous consumer does not count).
    public var isAuthenticated: Bool {
        guard let identity else { return false }
        return !identity.isAnonymous
    }

    /// Header names (lower-cased) the upstream request leaves out: always the identity headers a
    /// client sent, so they cannot be forged.
    public private(set) var removedHeaders: [String] = PluginContext.identityHeaders
    /// Query arguments the upstream request leaves out (`hide_credentials`).
    public private(set) var removedQueryArguments: [String] = []
    /// A query string that replaces the client's (without `?`; empty for none).
    public private(set) var replacedQuery: String?

    /// Headers that carry the identity Konnect established.
    public static let identityHeaders = [
        "x-consumer-id", "x-consumer-username", "x-consumer-custom-id", "x-credential-identifier",
        "x-anonymous-consumer", "x-consumer-groups",
    ]

    /// Where the access phase is: the plugin running (or waiting), and who was identified before it.
    var position = 0
    var identityBefore: Identity?

    public init(method: String, head: any PluginRequestHead, target: String, query: Substring?, clientIP: String,
                eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.method = method
        self.head = head
        self.target = target
        self.query = query
        self.clientIP = clientIP
    }

    /// Adds a header line (`Name: value\r\n`, checked by the caller) to the upstream request.
    public func addUpstreamLine(_ line: String) {
        upstreamLines += line
    }

    /// Adds a header field to the response; a value that could split the head is left out.
    public func addResponseHeader(_ name: String, _ value: String) {
        guard AccessResult.Header.isSafe(value) else { return }
        responseLines += AccessResult.Header(name, value).line
    }

    /// Adds header lines (`Name: value\r\n`, checked by the caller) to the response, written
    /// in place by `body`.
    public func appendResponseLines(reserving capacity: Int, _ body: (inout String) -> Void) {
        responseLines.reserveCapacity(responseLines.utf8.count + capacity)
        body(&responseLines)
    }

    /// Records who the request is from (replacing an identity recorded before, such as the
    /// anonymous consumer's); the upstream is told with the identity's header lines.
    public func identify(_ identity: Identity) {
        self.identity = identity
    }

    /// Sends `body` upstream instead of the client's (read with `AccessResult.readBody`); the
    /// upstream request gets a `Content-Length` to match.
    public func replaceRequestBody(_ body: ByteBuffer) {
        replacedRequestBody = body
    }

    /// Says, in the response-header phase, that the response body phase will change the body's
    /// length: the client's response then goes without `Content-Length` (chunked, or until the
    /// connection closes for an HTTP/1.0 client).
    public func rewriteResponseBody() {
        rewritesResponseBody = true
    }

    /// Leaves the header (any case) out of the upstream's response.
    public func removeResponseHeader(_ name: String) {
        let lowered = name.lowercased()
        if !removedResponseHeaders.contains(lowered) { removedResponseHeaders.append(lowered) }
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
            guard FormEncoding.decode(parts[0]) == name else { continue }
            values.append(parts.count > 1 ? FormEncoding.decode(parts[1]) : "")
        }
        return values
    }

    /// Sends `query` (without `?`) upstream instead of the query as it stands; arguments removed
    /// later are still left out.
    public func replaceQuery(_ query: String) {
        replacedQuery = query
    }

    /// The query string sent upstream: the client's (or its replacement) without the arguments
    /// `removedQueryArguments` names; nil when nothing is left.
    public func rewrittenQuery() -> Substring? {
        let query = replacedQuery.map { $0.isEmpty ? nil : Substring($0) } ?? self.query
        guard let query, !removedQueryArguments.isEmpty else { return query }
        let kept = query.split(separator: "&", omittingEmptySubsequences: true).filter { pair in
            let name = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            return !removedQueryArguments.contains(FormEncoding.decode(name))
        }
        return kept.isEmpty ? nil : Substring(kept.joined(separator: "&"))
    }
}
