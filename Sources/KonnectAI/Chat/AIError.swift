/// A failure on the AI path: the client's mistake, or the provider's answer. Each client format
/// writes it in its own error shape.
public struct AIError: Error, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case invalidRequest, authentication, permission, notFound, requestTooLarge
        case rateLimited, overloaded, server, timeout, unavailable
    }

    public var kind: Kind
    /// The HTTP status the client gets.
    public var status: Int
    public var message: String
    /// The request field at fault, as the client named it (`messages[2].content`).
    public var param: String?
    /// The provider's own code or type, when it gave one.
    public var code: String?
    /// Seconds the provider asked to wait before trying again.
    public var retryAfter: Double?

    public init(_ kind: Kind, status: Int? = nil, _ message: String, param: String? = nil, code: String? = nil,
                retryAfter: Double? = nil) {
        self.kind = kind
        self.status = status ?? kind.defaultStatus
        self.message = message
        self.param = param
        self.code = code
        self.retryAfter = retryAfter
    }

    /// A client error that names its field.
    public static func invalid(_ param: String, _ message: String) -> AIError {
        AIError(.invalidRequest, "\(param): \(message)", param: param)
    }

    /// Whether another deployment may be tried: rate limits, overload, server failures,
    /// timeouts and unreachable providers; never the client's own mistakes.
    public var allowsFallback: Bool {
        switch kind {
        case .rateLimited, .overloaded, .server, .timeout, .unavailable: true
        case .invalidRequest, .authentication, .permission, .notFound, .requestTooLarge: false
        }
    }

    /// The kind a provider's HTTP status means.
    public static func kind(forStatus status: Int) -> Kind {
        switch status {
        case 401: .authentication
        case 403: .permission
        case 404: .notFound
        case 408, 504: .timeout
        case 413: .requestTooLarge
        case 429: .rateLimited
        case 503, 529: .overloaded
        case 400..<500: .invalidRequest
        default: .server
        }
    }
}

extension AIError.Kind {
    var defaultStatus: Int {
        switch self {
        case .invalidRequest: 400
        case .authentication: 401
        case .permission: 403
        case .notFound: 404
        case .requestTooLarge: 413
        case .rateLimited: 429
        case .overloaded: 529
        case .server: 502
        case .timeout: 504
        case .unavailable: 503
        }
    }
}
