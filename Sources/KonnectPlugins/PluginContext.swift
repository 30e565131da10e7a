import Foundation
import KonnectConfig
import KonnectHTTP1
import NIOCore

/// How plugins read a head.
extension HTTP1Head {
    /// The value of the one field named `lowercased` (any case); `.many` when there are several.
    public func value(named lowercased: String) -> HeaderValue {
        var found: HTTP1Field?
        for field in fields where name(of: field, equalsLowercased: lowercased) {
            if found != nil { return .many }
            found = field
        }
        return found.map { .one(value($0)) } ?? .none
    }

    /// Every field, names as sent, in order.
    public func allFields() -> [(name: String, value: String)] {
        fields.map { (nameString($0), value($0)) }
    }
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
/// Made for a request on the request's event loop; when nothing else holds it once the exchange
/// is over, the connection keeps it for its next request (`recycle`, `reuse`). Plugins hold no
/// per-request state (what one must carry from phase to phase goes in `values`). What most
/// requests never touch (body, query and path rewrites, cache fallbacks …) lives in a side
/// object made on first use, so a request whose plugins only read pays for the fields it uses.
public final class PluginContext {
    /// The request's head (none while the context waits, recycled, for the connection's next
    /// request: the head's bytes are the connection's read buffer, which must not stay shared).
    private var currentHead: HTTP1Head?
    public var head: HTTP1Head { currentHead! }
    /// The request target as sent (origin form: path and query).
    public private(set) var target: String
    public private(set) var clientIP: String
    /// The loop the request is served on: a plugin that waits completes its decision here.
    public let eventLoop: any EventLoop
    /// The request's path, normalized as routing saw it (set before the access phase).
    public var path = ""
    /// The chain of the matched route (set when the access phase starts).
    public internal(set) var chain: PluginChain?
    /// The plugins that apply, in order, once the access phase has run (consumer-scoped ones
    /// included): the later phases run these.
    public var plugins: [any ProxyPlugin] = []
    /// The phases any of `plugins` takes part in, so a phase none has costs nothing.
    public var phases: PluginPhases = []
    /// Who authentication identified (or the anonymous consumer), when it did.
    public private(set) var identity: Identity?
    /// Header lines (`Name: value\r\n`) added to the upstream request.
    public private(set) var upstreamLines = ""
    /// Header lines added to the response (`Name: value\r\n` each).
    public private(set) var responseLines = ByteBuffer()
    /// The upstream's response head, during the response phases (nil for Konnect's own answers).
    public var responseHead: HTTP1Head?
    /// Where the access phase is: the plugin running (or waiting), and who was identified before
    /// it (tracked only when some plugin is scoped to a consumer).
    var position = 0
    var identityBefore: ObjectIdentifier?
    private var extras: Extras?
    private var isRecycled = false
    /// Kept across `recycle`, for the connection's next request.
    var memory = ConnectionMemory()

    /// The largest request body plugins may ask to have in memory.
    public static let bufferedBodyLimit: Int64 = 16 << 20

    public init(head: HTTP1Head, target: String, clientIP: String, eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        currentHead = head
        self.target = target
        self.clientIP = clientIP
    }

    /// Drops everything about a finished exchange (so an idle connection holds none of it) but
    /// the memory of the response lines, so that `reuse` can give the context to the
    /// connection's next request on the same event loop.
    public func recycle() {
        currentHead = nil
        target = ""
        // clientIP stays: the connection's address, the same string for its next request.
        path = ""
        chain = nil
        plugins = []
        phases = []
        // What most requests never set is cleared only when set: each store costs a call.
        if identity != nil { identity = nil }
        if !upstreamLines.isEmpty { upstreamLines = "" }
        responseLines.clear()
        if responseHead != nil { responseHead = nil }
        position = 0
        identityBefore = nil
        if extras != nil { extras = nil }
        isRecycled = true
    }

    /// Gives a recycled context to a new request.
    public func reuse(head: HTTP1Head, target: String, clientIP: String) {
        precondition(isRecycled, "only a recycled context can be reused")
        isRecycled = false
        currentHead = head
        self.target = target
        // Usually the same string as the last request's: not stored again.
        if clientIP != self.clientIP { self.clientIP = clientIP }
    }

    /// The fields few requests use, made on first write.
    private final class Extras {
        var uriCaptures: [String: String] = [:]
        var upstreamMethod: String?
        var upstreamPath: String?
        var upstreamHost: String?
        var bodyLimit: Int64?
        var tooLargeAnswer: (() -> AccessResult)?
        var requestBody: ByteBuffer?
        var requestBodyCap: Int64?
        var requestBodyPassedOn = false
        var replacedRequestBody: ByteBuffer?
        var rewritesResponseBody = false
        var fallback: AccessResult?
        var usedFallback = false
        var removedResponseHeaders: [String] = []
        var removedHeaders: [String] = []
        var removedQueryArguments: [String] = []
        var replacedQuery: String?
        var values: [String: Any] = [:]
    }

    private var more: Extras {
        if let extras { return extras }
        let made = Extras()
        extras = made
        return made
    }

    public var method: String { head.method }
    /// The matched route and its service.
    public var routeID: String? { chain?.route }
    public var serviceID: String? { chain?.service }
    /// The query string without `?`, when there is one.
    public var query: Substring? { target.splitPathAndQuery().1 }
    /// The named captures of the matched route's regex path (set before the access phase).
    public var uriCaptures: [String: String] {
        get { extras?.uriCaptures ?? [:] }
        set { more.uriCaptures = newValue }
    }
    /// The method and path sent upstream instead of the client's (request-transformer).
    public var upstreamMethod: String? {
        get { extras?.upstreamMethod }
        set { more.upstreamMethod = newValue }
    }
    public var upstreamPath: String? {
        get { extras?.upstreamPath }
        set { more.upstreamPath = newValue }
    }
    /// The Host sent upstream instead of the service's or the client's (request-transformer).
    public var upstreamHost: String? {
        get { extras?.upstreamHost }
        set { more.upstreamHost = newValue }
    }
    /// The largest request body allowed (request-size-limiting), when a plugin set one.
    public var bodyLimit: Int64? {
        get { extras?.bodyLimit }
        set { more.bodyLimit = newValue }
    }
    /// Makes the answer to a body over `bodyLimit` when the plugin that set the limit has its own
    /// (an error in its client's format); Konnect's own 413 otherwise.
    public var tooLargeAnswer: (() -> AccessResult)? {
        get { extras?.tooLargeAnswer }
        set { more.tooLargeAnswer = newValue }
    }
    /// The whole request body, once a plugin asked for it with `AccessResult.readBody`.
    public var requestBody: ByteBuffer? {
        get { extras?.requestBody }
        set { more.requestBody = newValue }
    }
    /// For a plugin that wants the body only when it is short: with `AccessResult.readBody`, at
    /// most this many bytes are gathered (`bufferedBodyLimit` at the most). A longer body goes
    /// upstream as the client sends it and the plugin runs again without it
    /// (`requestBodyPassedOn`), where it would otherwise be refused with 413.
    public var requestBodyCap: Int64? {
        get { extras?.requestBodyCap }
        set { more.requestBodyCap = newValue.map { min($0, Self.bufferedBodyLimit) } }
    }
    /// The body was longer than `requestBodyCap`: it is on its way upstream untouched.
    public var requestBodyPassedOn: Bool {
        get { extras?.requestBodyPassedOn ?? false }
        set { more.requestBodyPassedOn = newValue }
    }
    /// The body sent upstream instead of the client's (`replaceRequestBody`).
    public var replacedRequestBody: ByteBuffer? { extras?.replacedRequestBody }
    /// A plugin will change the response body's length (set in the response-header phase).
    public var rewritesResponseBody: Bool { extras?.rewritesResponseBody ?? false }
    /// The answer to give instead when the upstream fails (Konnect's own 502, 503 or 504, or the
    /// upstream's 5xx): a stale cached copy (proxy-cache). `usedFallback` says it was given.
    public var fallback: AccessResult? {
        get { extras?.fallback }
        set { more.fallback = newValue }
    }
    public var usedFallback: Bool {
        get { extras?.usedFallback ?? false }
        set { more.usedFallback = newValue }
    }
    /// Header names (lower-cased) left out of the upstream's response.
    public var removedResponseHeaders: [String] { extras?.removedResponseHeaders ?? [] }
    /// Header names (lower-cased) the upstream request leaves out, besides the identity headers
    /// (`X-Consumer-ID` and the like), which it always leaves out so that they cannot be forged.
    public var removedHeaders: [String] { extras?.removedHeaders ?? [] }
    /// Query arguments the upstream request leaves out (`hide_credentials`).
    public var removedQueryArguments: [String] { extras?.removedQueryArguments ?? [] }
    /// A query string that replaces the client's (without `?`; empty for none).
    public var replacedQuery: String? { extras?.replacedQuery }
    /// What a plugin keeps for one request from one phase, or one call, to the next (an id to
    /// echo, a slot to give back, a body being gathered), by plugin name.
    public var values: [String: Any] {
        get { extras?.values ?? [:] }
        _modify { yield &more.values }
    }

    public var consumer: Consumer? { identity?.consumer }
    public var isAnonymous: Bool { identity?.isAnonymous ?? false }
    /// A credential identified the consumer (an anonymous consumer does not count).
    public var isAuthenticated: Bool {
        guard let identity else { return false }
        return !identity.isAnonymous
    }

    /// Adds a header line (`Name: value\r\n`, checked by the caller) to the upstream request.
    public func addUpstreamLine(_ line: String) {
        // The first line is taken as it is, not copied.
        if upstreamLines.isEmpty { upstreamLines = line } else { upstreamLines += line }
    }

    /// Adds a header field to the response; a value that could split the head is left out.
    public func addResponseHeader(_ name: String, _ value: String) {
        guard AccessResult.Header.isSafe(value) else { return }
        writeResponseLines(estimate: name.utf8.count + value.utf8.count + 4) { $0.writeField(name, value) }
    }

    /// Adds header lines (`Name: value\r\n`, checked by the caller) to the response, written in
    /// place by `body` (which must only write: it runs again with more room when `estimate` bytes
    /// were too few).
    public func writeResponseLines(estimate: Int, _ body: (inout HTTP1HeadWriter) -> Void) {
        responseLines.writeHead(estimate: estimate, body)
    }

    /// Records who the request is from (replacing an identity recorded before, such as the
    /// anonymous consumer's); the upstream is told with the identity's header lines.
    public func identify(_ identity: Identity) {
        self.identity = identity
    }

    /// Sends `body` upstream instead of the client's (read with `AccessResult.readBody`); the
    /// upstream request gets a `Content-Length` to match.
    public func replaceRequestBody(_ body: ByteBuffer) {
        more.replacedRequestBody = body
    }

    /// Says, in the response-header phase, that the response body phase will change the body's
    /// length: the client's response then goes without `Content-Length` (chunked, or until the
    /// connection closes for an HTTP/1.0 client).
    public func rewriteResponseBody() {
        more.rewritesResponseBody = true
    }

    /// Leaves the header (any case) out of the upstream's response.
    public func removeResponseHeader(_ name: String) {
        let lowered = name.lowercased()
        if !removedResponseHeaders.contains(lowered) { more.removedResponseHeaders.append(lowered) }
    }

    public func removeHeader(_ lowercasedName: String) {
        if !removedHeaders.contains(lowercasedName) { more.removedHeaders.append(lowercasedName) }
    }

    public func removeQueryArgument(_ name: String) {
        if !removedQueryArguments.contains(name) { more.removedQueryArguments.append(name) }
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
        more.replacedQuery = query
    }

    /// Plugins replaced the query string or left arguments out of it.
    public var editsQuery: Bool {
        guard let extras else { return false }
        return extras.replacedQuery != nil || !extras.removedQueryArguments.isEmpty
    }

    /// The query string sent upstream: the client's (or its replacement) without the arguments
    /// `removedQueryArguments` names; nil when nothing is left.
    public func rewrittenQuery() -> Substring? {
        guard let extras else { return query }
        let query = extras.replacedQuery.map { $0.isEmpty ? nil : Substring($0) } ?? self.query
        let removedQueryArguments = extras.removedQueryArguments
        guard let query, !removedQueryArguments.isEmpty else { return query }
        let kept = query.split(separator: "&", omittingEmptySubsequences: true).filter { pair in
            let name = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            return !removedQueryArguments.contains(FormEncoding.decode(name))
        }
        return kept.isEmpty ? nil : Substring(kept.joined(separator: "&"))
    }
}
