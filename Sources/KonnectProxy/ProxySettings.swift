import KonnectConfig
import KonnectPlugins
import NIOCore

/// Node settings of the proxy listener: where it listens and the limits it enforces on clients.
///
/// These are not entities: they come from flags, `KONNECT_*` environment variables and defaults.
/// The defaults sit near nginx's and Envoy's.
public struct ProxySettings: Sendable {
    public var host: String = "0.0.0.0"
    public var port: Int = 8000
    /// Event-loop threads; each serves its connections from accept to close.
    public var threads: Int = System.coreCount
    /// Connections beyond this are closed as soon as they are accepted.
    public var maxConnections: Int = 16_384
    /// Time a client has to send a complete request head, from connect or from the end of the previous response.
    public var clientHeaderTimeout: TimeAmount = .seconds(60)
    /// Longest pause between two reads of a request body.
    public var clientBodyTimeout: TimeAmount = .seconds(60)
    /// How long an idle keep-alive client connection is kept open.
    public var keepaliveTimeout: TimeAmount = .seconds(60)
    /// Largest single header line (name and value), and the largest total of all header lines.
    public var maxHeaderSize: Int = 8 * 1024
    public var maxHeadersSize: Int = 64 * 1024
    /// Most header fields a request may carry.
    public var maxHeaderCount: Int = 100
    /// Longest request target (path and query).
    public var maxURILength: Int = 8 * 1024
    /// Largest request body, from Content-Length or counted while streaming; 0 means no limit.
    public var maxBodySize: Int64 = 0
    /// Proxies whose `X-Forwarded-For` is believed: for a request from one of them, the client
    /// address (for plugins, `X-Real-IP` and logs) is the last address in that header not itself
    /// trusted. Empty: the peer's address is the client's (Kong's `trusted_ips`).
    public var trustedIPs: [IPNetwork] = []
    /// Plugins of an embedding program, built before Konnect's own (see `PluginSet`).
    public var customPlugins: CustomPlugins?
    /// How long SIGTERM waits for in-flight requests before closing what remains.
    public var shutdownGracePeriod: TimeAmount = .seconds(10)
    /// Idle upstream keep-alive connections kept per target on each event loop, and how long.
    public var upstreamKeepalivePoolSize: Int = 512
    public var upstreamKeepaliveTimeout: TimeAmount = .seconds(60)
    /// Requests one upstream connection serves before it is closed.
    public var upstreamKeepaliveMaxRequests: Int = 10_000
    /// DNS servers asked for service and target host names; empty means those in `dnsResolvConf`.
    public var dnsResolvers: [SocketAddress] = []
    /// Hosts file consulted before DNS, read once at start.
    public var dnsHostsFile: String = "/etc/hosts"
    /// Nameservers, `search`, `ndots`, `timeout` and `attempts`, read once at start.
    public var dnsResolvConf: String = "/etc/resolv.conf"
    /// How long a name that does not exist, or has no A/AAAA records, is remembered.
    public var dnsNotFoundTTL: TimeAmount = .seconds(30)
    /// How long a failed lookup (timeout, server failure) is remembered before asking again.
    public var dnsErrorTTL: TimeAmount = .seconds(1)
    /// How long past its TTL an address is still used while refreshing it fails.
    public var dnsStaleTTL: TimeAmount = .seconds(3600)

    public init() {}
}
