import KonnectConfig

/// A selectable route with its service, compiled once per router: matches refer to it, so a
/// request copies none of the route's or service's fields.
public final class RouteTarget: Sendable {
    public let route: Route
    public let service: Service?
    /// The route's position in `Router.targets`, for per-route tables built alongside the router.
    public let index: Int
    /// The status for a plain-HTTP request to a route that accepts only HTTPS (its
    /// `https_redirect_status_code`, 426 by default), or nil.
    public let plainHTTPRedirectStatus: Int?

    public init(route: Route, service: Service?, index: Int) {
        self.route = route
        self.service = service
        self.index = index
        self.plainHTTPRedirectStatus = route.protocols.contains("https") && !route.protocols.contains("http")
            ? route.httpsRedirectStatusCode : nil
    }
}

/// The route chosen for a request, its service, and where to send the request upstream.
public struct RouteMatch: Sendable {
    public let target: RouteTarget
    public var route: Route { target.route }
    public var service: Service? { target.service }
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
        target: RouteTarget, upstreamPath: String, captures: [String: String] = [:],
        redirectStatus: Int? = nil, strippedPrefix: Substring? = nil
    ) {
        self.target = target
        self.upstreamPath = upstreamPath
        self.captures = captures
        self.redirectStatus = redirectStatus
        self.strippedPrefix = strippedPrefix
    }

    public init(
        route: Route, service: Service?, upstreamPath: String, captures: [String: String] = [:],
        redirectStatus: Int? = nil, strippedPrefix: Substring? = nil
    ) {
        self.init(target: RouteTarget(route: route, service: service, index: -1), upstreamPath: upstreamPath,
                  captures: captures, redirectStatus: redirectStatus, strippedPrefix: strippedPrefix)
    }
}
