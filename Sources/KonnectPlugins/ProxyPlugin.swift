import KonnectConfig
import KonnectHTTP1
import NIOCore

/// A plugin on the proxy path. Each phase defaults to doing nothing; `phases` says which ones a
/// plugin implements, so the proxy calls no others.
///
/// Plugins are immutable objects built from their (schema-checked) config with each
/// configuration snapshot; what they learn about a request lives in its `PluginContext`.
/// Class-bound, so that the chain passes each one around as a single reference.
public protocol ProxyPlugin: AnyObject, Sendable {
    var name: String { get }
    var phases: PluginPhases { get }
    /// Before the route is matched; only plugins configured globally take part.
    func rewrite(_ context: PluginContext) -> AccessResult
    /// After the route is matched and before the upstream is chosen: let the request proceed, or
    /// answer it. Edits to the upstream request are recorded in the context.
    func access(_ context: PluginContext) -> AccessResult
    /// The response head is about to go to the client (from the upstream or from Konnect):
    /// fields to add are recorded with `context.addResponseHeader`.
    func responseHeaders(_ context: PluginContext, status: Int)
    /// Each part of the response body on its way to the client, in order; `last` is set on the
    /// final call (whose part may be empty). Returns what goes to the client instead: a plugin
    /// may hold parts back and send them later, or send other bytes. A plugin that changes the
    /// body's length calls `context.rewriteResponseBody()` in the response-header phase, so the
    /// client's response is sent without a `Content-Length`.
    func responseBody(_ context: PluginContext, _ part: ByteBuffer, last: Bool) -> ByteBuffer
    /// The exchange is over and the client has its response. Runs for every request that
    /// reached the plugin, answered or not; must not block (hand slow work to another thread).
    func log(_ context: PluginContext, _ record: LogRecord)
}

/// The phases a plugin takes part in.
public struct PluginPhases: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let rewrite = PluginPhases(rawValue: 1)
    public static let access = PluginPhases(rawValue: 2)
    public static let responseHeaders = PluginPhases(rawValue: 4)
    public static let log = PluginPhases(rawValue: 8)
    public static let responseBody = PluginPhases(rawValue: 16)
}

extension ProxyPlugin {
    public func rewrite(_ context: PluginContext) -> AccessResult { .proceed }
    public func access(_ context: PluginContext) -> AccessResult { .proceed }
    public func responseHeaders(_ context: PluginContext, status: Int) {}
    public func responseBody(_ context: PluginContext, _ part: ByteBuffer, last: Bool) -> ByteBuffer { part }
    public func log(_ context: PluginContext, _ record: LogRecord) {}
}

/// A plugin whose access phase, in some configurations, only reads the request (its head, path,
/// client address and route) and at most adds response header lines: it identifies no one,
/// changes nothing sent upstream, never waits and has no later phase. A route whose plugins are
/// all such runs them without a `PluginContext` (`PluginChain.access(_:path:clientIP:…)`):
/// making, running and recycling one is about 1.5% of a proxied request (measured on
/// rate-limiting). Elsewhere the plugin's `access(_: PluginContext)` runs, and decides the same.
protocol ReadOnlyAccess: ProxyPlugin {
    /// Whether this plugin's configuration keeps to the above (by default it does; a rate limit
    /// counted in Redis waits for its answer, one on requests in flight has a log phase).
    var readsOnly: Bool { get }
    /// The access phase without a context: `.proceed` or an answer (`.respond…`). `path` is
    /// normalized, as routing saw it.
    func access(_ head: HTTP1Head, path: String, clientIP: String, chain: PluginChain,
                memory: inout ConnectionMemory, responseLines: inout ByteBuffer) -> AccessResult
}

extension ReadOnlyAccess {
    var readsOnly: Bool { true }
}

/// What plugins keep from one request of a connection to the next: rate-limiting's counter key,
/// most often the same for the next request (same client, same route), so not made and hashed
/// again.
public struct ConnectionMemory {
    var rateKey: RateKey?

    public init() {}
}

/// What the log phase is told about a finished exchange.
public struct LogRecord: Sendable {
    /// The status the client was sent; 499 when the client closed the connection before any response.
    public var status: Int
    /// Microseconds from the request's head to the end of the response.
    public var totalMicroseconds: Int64
    /// Microseconds the upstream took to start answering (nil when nothing was proxied).
    public var upstreamMicroseconds: Int64?
    public var requestBodyBytes: Int64
    public var routeID: String?
    public var serviceID: String?

    public init(status: Int, totalMicroseconds: Int64, upstreamMicroseconds: Int64?, requestBodyBytes: Int64,
                routeID: String?, serviceID: String?) {
        self.status = status
        self.totalMicroseconds = totalMicroseconds
        self.upstreamMicroseconds = upstreamMicroseconds
        self.requestBodyBytes = requestBodyBytes
        self.routeID = routeID
        self.serviceID = serviceID
    }
}

/// A plugin's decision in the rewrite and access phases.
public enum AccessResult: Equatable, Sendable {
    case proceed
    /// The decision comes later (a password being hashed, another server being asked): the
    /// request waits, without blocking its event loop, until `pending` is completed.
    case wait(PendingAccess)
    /// Run this plugin's access phase again once the whole request body is in
    /// `context.requestBody` (at most `PluginContext.bufferedBodyLimit` bytes; a larger body is
    /// refused with 413). The body is read without holding up the event loop.
    case readBody
    /// Answer the client now, with `{"message": …}` and these extra header fields.
    case respond(status: Int, message: String, headers: [Header] = [])
    /// Answer the client now with this body as it is (`request-termination`).
    case respondRaw(status: Int, contentType: String, body: String, headers: [Header] = [])
    /// Answer the client with a stored response: its header fields (`Content-Type` among them)
    /// and body (`proxy-cache`).
    case respondStored(status: Int, headers: [Header], body: ByteBuffer)
    /// Answer the client with a body the plugin writes over time (sent chunked, each part as it
    /// comes); `headers` carry its `Content-Type`.
    case respondStream(status: Int, headers: [Header], body: PluginResponseStream)

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
            // Bytes: a control character is one byte in UTF-8, and no other character has one.
            !value.utf8.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
        }
    }

    /// The answer for an authentication failure: 401 with `WWW-Authenticate` when the scheme has one.
    static func unauthorized(_ message: String, challenge: String?) -> AccessResult {
        .respond(status: 401, message: message, headers: challenge.map { [Header("WWW-Authenticate", $0)] } ?? [])
    }
}

/// A decision an access plugin delivers later. The plugin completes it on the request's event
/// loop (`PluginContext.eventLoop`); the proxy then carries on with the next plugin, or answers.
/// Confined to that loop, like the context it belongs to.
public final class PendingAccess: @unchecked Sendable, Equatable {
    private var result: AccessResult?
    private var handler: ((AccessResult) -> Void)?
    /// How long the proxy waits for the decision before answering 500 itself: a bound for
    /// plugins that forget to decide. Plugins that enforce timeouts of their own set it past them.
    public let longestWait: TimeAmount

    public init(longestWait: TimeAmount = .seconds(60)) {
        self.longestWait = longestWait
    }

    /// Delivers the decision (once; later calls are ignored). Call on the request's event loop.
    public func complete(_ result: AccessResult) {
        guard self.result == nil else { return }
        self.result = result
        if let handler {
            self.handler = nil
            handler(result)
        }
    }

    /// Calls `body` with the decision, now if it is already known.
    public func whenComplete(_ body: @escaping (AccessResult) -> Void) {
        if let result { body(result) } else { handler = body }
    }

    public static func == (lhs: PendingAccess, rhs: PendingAccess) -> Bool { lhs === rhs }
}

/// How an authentication plugin answers a request it cannot authenticate: as the `anonymous`
/// consumer when one is configured, else 401 with the scheme's `WWW-Authenticate` challenge.
struct AuthenticationFailure: Sendable {
    let challenge: String
    let anonymous: Identity?

    func answer(_ message: String, _ context: PluginContext, challenge: String? = nil) -> AccessResult {
        if let anonymous {
            context.identify(anonymous)
            return .proceed
        }
        return .unauthorized(message, challenge: challenge ?? self.challenge)
    }
}

/// Builds plugins from plugin entities.
public enum ProxyPlugins {
    /// The plugin `plugin` configures, when Konnect implements it (nil for the others, which are
    /// stored but do nothing yet). A configuration it cannot use gives a `MisconfiguredPlugin`,
    /// which answers 500: an authentication plugin that cannot run must not let requests through.
    public static func make(_ plugin: Plugin, configuration: Configuration, credentials: CredentialIndex) -> (any ProxyPlugin)? {
        // Configs are checked when written; a configuration built in code is checked here too.
        var config = plugin.config
        if let schema = PluginSchema.named(plugin.name) {
            let normalized = schema.normalize(config)
            if let problem = normalized.problems.first {
                return MisconfiguredPlugin(name: plugin.name, pluginID: plugin.id, problem: "\(problem.dotted) must be \(problem.expected)")
            }
            config = normalized.config
        }
        do throws(PluginConfigProblem) {
            switch plugin.name {
            case "key-auth": return try KeyAuthPlugin(config: config, credentials: credentials)
            case "basic-auth": return try BasicAuthPlugin(config: config, credentials: credentials)
            case "jwt": return try JWTPlugin(config: config, credentials: credentials)
            case "oauth2-introspection":
                return try OAuth2IntrospectionPlugin(config: config, configuration: configuration, credentials: credentials)
            case "acl": return ACLPlugin(config: config)
            case "ip-restriction": return IPRestrictionPlugin(config: config)
            case "cors": return CORSPlugin(config: config)
            case "request-size-limiting": return RequestSizeLimitingPlugin(config: config)
            case "bot-detection": return BotDetectionPlugin(config: config)
            case "request-termination": return RequestTerminationPlugin(config: config)
            case "correlation-id": return CorrelationIDPlugin(config: config)
            case "rate-limiting": return try RateLimitingPlugin(config: config)
            case "request-transformer": return RequestTransformerPlugin(config: config)
            case "response-transformer": return ResponseTransformerPlugin(config: config)
            case "proxy-cache": return ProxyCachePlugin(config: config, configuration: configuration)
            case "ai-proxy": return try AIProxyPlugin(config: config)
            case "ai-gateway": return try AIGatewayPlugin(config: config, configuration: configuration)
            default: return nil
            }
        } catch {
            return MisconfiguredPlugin(name: plugin.name, pluginID: plugin.id, problem: error.description)
        }
    }
}

/// What keeps a plugin's configuration from being used (checks that need other entities, such
/// as the `anonymous` consumer, which the schema cannot make).
struct PluginConfigProblem: Error, CustomStringConvertible {
    var description: String
}

/// Stands in for a plugin whose configuration cannot be used: every request is refused. The
/// operator learns why from the log (`PluginSet.problems`); the client only gets 500.
public final class MisconfiguredPlugin: ProxyPlugin {
    public let name: String
    public let pluginID: String
    /// What is wrong, naming the field.
    public let problem: String
    public var phases: PluginPhases { .access }

    public init(name: String, pluginID: String, problem: String) {
        self.name = name
        self.pluginID = pluginID
        self.problem = problem
    }

    public func access(_ context: PluginContext) -> AccessResult {
        .respond(status: 500, message: "An unexpected error occurred (the \(name) plugin is misconfigured)")
    }
}

/// Reading a schema-checked plugin config: values have their schema's types and defaults, so a
/// missing or mistyped value can only mean an unset optional field.
extension JSONValue {
    func flag(_ key: String) -> Bool {
        if case .bool(let value)? = self[key] { return value }
        return false
    }

    func text(_ key: String) -> String? {
        if case .string(let value)? = self[key], !value.isEmpty { return value }
        return nil
    }

    func texts(_ key: String) -> [String] {
        guard case .array(let items)? = self[key] else { return [] }
        return items.compactMap(\.string)
    }

    func number(_ key: String) -> Double? {
        if case .number(let value)? = self[key] { return value }
        return nil
    }

    /// The consumer a plugin's `anonymous` field names, as an anonymous identity.
    func anonymousIdentity(_ credentials: CredentialIndex) throws(PluginConfigProblem) -> Identity? {
        guard let name = text("anonymous") else { return nil }
        guard let consumer = credentials.consumer(name) else {
            throw PluginConfigProblem(description: "config.anonymous names no consumer (\(name))")
        }
        return credentials.identity(consumer, credentialID: nil, anonymous: true)
    }
}
