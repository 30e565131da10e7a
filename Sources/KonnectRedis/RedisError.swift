import NIOCore

/// Why a Redis command failed. Descriptions fit a log line and never contain a password.
public enum RedisError: Error, Sendable, Hashable {
    /// Redis answered with an error reply (`-ERR ...`, `-WRONGTYPE ...`); the message as sent.
    case server(String)
    /// No reply within the command timeout; the connection it was sent on has been closed.
    case timeout(TimeAmount)
    /// The connection closed (or broke) before the reply arrived.
    case connectionClosed
    /// No connection could be opened to `endpoint` (`host:port`): refused, unreachable, timed out,
    /// or the TLS handshake failed.
    case connect(endpoint: String, reason: String)
    /// A command the client sends on every new connection (`AUTH`, `SELECT`) was refused.
    case setupFailed(command: String, message: String)
    /// The server sent something that is not valid RESP2, or a reply nobody asked for.
    case protocolError(String)
    /// The command cannot be sent as given (for example, it is empty).
    case invalidCommand(String)
    /// The client has been shut down.
    case clientClosed
}

extension RedisError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .server(let message):
            "Redis error reply: \(message)"
        case .timeout(let amount):
            "Redis command got no reply within \(amount.nanoseconds / 1_000_000) ms; connection closed"
        case .connectionClosed:
            "Redis connection closed before the reply arrived"
        case .connect(let endpoint, let reason):
            "cannot connect to Redis at \(endpoint): \(reason)"
        case .setupFailed(let command, let message):
            "Redis refused \(command) on a new connection: \(message)"
        case .protocolError(let detail):
            "Redis protocol error: \(detail)"
        case .invalidCommand(let detail):
            "invalid Redis command: \(detail)"
        case .clientClosed:
            "Redis client is shut down"
        }
    }
}
