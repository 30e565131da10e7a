import NIOCore

/// Where a `RedisClient` connects and how it behaves; field names and defaults follow the `redis`
/// settings of Kong's rate-limiting plugin where it has one.
public struct RedisConfiguration: Sendable {
    /// Host name or IP address of the server.
    public var host: String
    /// TCP port of the server.
    public var port: Int
    /// ACL user for `AUTH username password`; `nil` authenticates as the default user.
    public var username: String?
    /// Password sent with `AUTH` on every new connection; `nil` sends no `AUTH`.
    public var password: String?
    /// Logical database chosen with `SELECT` on every new connection when not 0.
    public var database: Int
    /// Whether to speak TLS to the server.
    public var tls: Bool
    /// Whether to verify the server's certificate chain and name when `tls` is on.
    public var tlsVerify: Bool
    /// Name sent in SNI and checked against the certificate; `nil` uses `host`.
    public var serverName: String?
    /// PEM file of certificate authorities to trust instead of the system's; `nil` uses the system's.
    public var tlsTrustedCertificatesPath: String?
    /// Longest wait for a TCP connection (and for the TLS handshake, if any).
    public var connectTimeout: TimeAmount
    /// Longest wait for a command's reply once written; past it the command fails and its connection
    /// is closed. A command that must wait for a new connection also waits for it to open.
    public var commandTimeout: TimeAmount
    /// Most connections the client opens to the server at once (at least 1).
    public var maxConnections: Int

    public init(host: String = "127.0.0.1", port: Int = 6379, username: String? = nil, password: String? = nil,
                database: Int = 0, tls: Bool = false, tlsVerify: Bool = true, serverName: String? = nil,
                tlsTrustedCertificatesPath: String? = nil, connectTimeout: TimeAmount = .seconds(2),
                commandTimeout: TimeAmount = .seconds(2), maxConnections: Int = 4) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.tlsVerify = tlsVerify
        self.serverName = serverName
        self.tlsTrustedCertificatesPath = tlsTrustedCertificatesPath
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.maxConnections = maxConnections
    }

    /// `host:port` as shown in errors, with IPv6 addresses bracketed.
    public var endpoint: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

extension RedisConfiguration: CustomStringConvertible {
    /// The settings for a log line, with the password masked.
    public var description: String {
        var parts = ["endpoint=\(endpoint)", "database=\(database)", "tls=\(tls)"]
        if let username { parts.append("username=\(username)") }
        if password != nil { parts.append("password=<redacted>") }
        return "RedisConfiguration(" + parts.joined(separator: ", ") + ")"
    }
}
