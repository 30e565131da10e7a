import KonnectConfig
import KonnectRouter

/// Request headers for tests: lower-cased name to the values as received.
struct TestHeaders: RouteHeaders, Sendable {
    var values: [String: [String]] = [:]

    func anyValue(named lowercasedName: String, where predicate: (Substring) -> Bool) -> Bool {
        values[lowercasedName]?.contains { predicate(Substring($0)) } ?? false
    }
}

/// One request as the proxy would present it to the router (path already normalised).
struct TestRequest: Sendable, CustomStringConvertible {
    var method = "GET"
    var scheme = "http"
    var host = "example.com"
    var port: Int?
    var path = "/"
    var headers: [String: [String]] = [:]

    var description: String {
        let portText = port.map { ":\($0)" } ?? ""
        let headerText = headers.isEmpty ? "" : " \(headers.sorted { $0.key < $1.key })"
        return "\(method) \(scheme)://\(host)\(portText)\(path)\(headerText)"
    }
}

extension Router {
    func match(_ request: TestRequest) -> RouteMatch? {
        match(
            method: request.method, scheme: request.scheme, host: request.host, port: request.port,
            path: request.path, headers: TestHeaders(values: request.headers))
    }
}

/// A route whose id and name are both `name`.
func route(
    _ name: String, paths: [String] = [], hosts: [String] = [], methods: [String] = [],
    headers: [String: [String]] = [:], protocols: [String] = ["http", "https"], stripPath: Bool = true,
    regexPriority: Int = 0, pathHandling: PathHandling = .v0, serviceID: String? = nil,
    httpsRedirectStatusCode: Int = 426
) -> Route {
    Route(
        id: name, name: name, paths: paths, hosts: hosts, methods: methods, headers: headers,
        protocols: protocols, stripPath: stripPath, regexPriority: regexPriority, pathHandling: pathHandling,
        serviceID: serviceID, httpsRedirectStatusCode: httpsRedirectStatusCode)
}

func router(_ routes: [Route], services: [Service] = []) -> Router {
    Router(configuration: Configuration(services: services, routes: routes))
}
