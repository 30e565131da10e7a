import KonnectConfig

/// The route chosen for a request, its service, and where to send the request upstream.
public struct RouteMatch: Sendable {
    public let route: Route
    public let service: Service?
    /// The path to send upstream (no query string): the service path joined with the request path after
    /// strip_path, as Kong's path_handling v0/v1 do.
    public let upstreamPath: String
    /// Named and numbered (1-based, as "1","2",...) captures of a regex path; empty otherwise.
    public let captures: [String: String]
    /// Set when the route matched but does not accept this scheme (e.g. https-only route, plain-http
    /// request): the proxy answers with this status (route.httpsRedirectStatusCode, 426 by default).
    public let redirectStatus: Int?
    /// The start of the request path that strip_path removed, when it removed something
    /// (sent upstream as `X-Forwarded-Prefix`).
    public let strippedPrefix: Substring?

    public init(
        route: Route, service: Service?, upstreamPath: String, captures: [String: String] = [:],
        redirectStatus: Int? = nil, strippedPrefix: Substring? = nil
    ) {
        self.strippedPrefix = strippedPrefix
        self.route = route
        self.service = service
        self.upstreamPath = upstreamPath
        self.captures = captures
        self.redirectStatus = redirectStatus
    }
}
