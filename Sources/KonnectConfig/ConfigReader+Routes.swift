import Yams

extension ConfigReader {
    static let routeProtocols = ["http", "https", "grpc", "grpcs", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss"]
    /// A route's protocols must all come from one of these families.
    static let routeProtocolFamilies: [Set<String>] = [
        ["http", "https"], ["grpc", "grpcs"], ["tcp", "tls", "udp"], ["tls_passthrough"], ["ws", "wss"],
    ]
    /// Protocols whose routes must match on at least one of methods, hosts, headers or paths.
    static let requestProtocols: Set<String> = ["http", "https", "grpc", "grpcs", "ws", "wss"]
    static let redirectStatusCodes = [426, 301, 302, 307, 308]

    static let routeSchema = FieldSchema(
        noun: "a route",
        fields: [
            "id", "name", "protocols", "methods", "hosts", "paths", "headers", "https_redirect_status_code",
            "regex_priority", "strip_path", "path_handling", "preserve_host", "request_buffering",
            "response_buffering", "snis", "sources", "destinations", "tags", "service", "plugins",
        ]
    )

    /// Reads a route; `service` is the index of the service draft it is nested under.
    func readRoute(_ node: Node, at path: String, index: Int, service: Int?) {
        guard let fields = fields(node, at: path, schema: Self.routeSchema) else { return }
        let info = DraftInfo(fields, index: index, givenID: givenID(fields), name: entityName(fields))
        var route = Route(id: "", name: info.name?.value)

        if let node = fields["protocols"],
            let protocols = protocolList(node, at: fields.path("protocols"), options: Self.routeProtocols)
        {
            let families = Self.routeProtocolFamilies.filter { !$0.isDisjoint(with: protocols) }
            if families.count > 1 {
                report(fields.path("protocols"), node: node,
                       expected: "protocols of one family: http/https, grpc/grpcs, tcp/tls/udp, tls_passthrough or ws/wss")
            } else if !protocols.isEmpty {
                route.protocols = protocols
            }
        }
        if let node = fields["methods"] {
            route.methods = stringList(node, at: fields.path("methods"), expected: "a list of HTTP methods") { text, item, itemPath in
                guard ConfigSyntax.isMethod(text) else {
                    report(itemPath, node: item, expected: "an upper-case HTTP method such as GET")
                    return nil
                }
                return text
            } ?? []
        }
        if let node = fields["hosts"] {
            route.hosts = stringList(node, at: fields.path("hosts"), expected: "a list of host names") { text, item, itemPath in
                guard ConfigSyntax.isRouteHost(text) else {
                    report(itemPath, node: item,
                           expected: "a host name with an optional port and at most one wildcard, as a leading '*.' or a trailing '.*'")
                    return nil
                }
                return text.lowercased()
            } ?? []
        }
        if let node = fields["paths"] {
            route.paths = stringList(node, at: fields.path("paths"), expected: "a list of paths") { text, item, itemPath in
                routePath(legacyPaths ? Self.migratedLegacyPath(text) : text, node: item, at: itemPath)
            } ?? []
        }
        if let node = fields["headers"] {
            route.headers = headers(node, at: fields.path("headers"))
        }
        if let node = fields["https_redirect_status_code"] {
            let key = fields.path("https_redirect_status_code")
            let expected = "one of " + Self.redirectStatusCodes.map(String.init).joined(separator: ", ")
            if let code = integer(node, at: key, in: 100...599, expected: expected) {
                if Self.redirectStatusCodes.contains(code) {
                    route.httpsRedirectStatusCode = code
                } else {
                    report(key, node: node, expected: expected)
                }
            }
        }
        if let node = fields["regex_priority"],
            let value = integer(node, at: fields.path("regex_priority"), in: Int.min...Int.max, expected: "an integer")
        {
            route.regexPriority = value
        }
        if let node = fields["strip_path"], let value = boolean(node, at: fields.path("strip_path")) {
            route.stripPath = value
        }
        if let node = fields["preserve_host"], let value = boolean(node, at: fields.path("preserve_host")) {
            route.preserveHost = value
        }
        if let node = fields["path_handling"],
            let value = oneOf(node, at: fields.path("path_handling"), ["v0", "v1"]).flatMap(PathHandling.init(rawValue:))
        {
            route.pathHandling = value
        }
        for key in ["request_buffering", "response_buffering"] {
            if let node = fields[key] { _ = boolean(node, at: fields.path(key)) }
        }
        for key in ["snis", "sources", "destinations"] {
            if let node = fields[key] { _ = list(node, at: fields.path(key), expected: "a list") }
        }
        route.tags = tags(fields)
        let serviceReference = reference(fields, "service", kind: "a service")

        let protocols = Set(route.protocols)
        if !protocols.isDisjoint(with: Self.requestProtocols) {
            let matchers = ["methods", "hosts", "headers", "paths"]
            let hasMatcher = matchers.contains { key in
                guard let node = fields[key] else { return false }
                switch node {
                case .sequence(let items): return !items.isEmpty
                case .mapping(let entries): return !entries.isEmpty
                default: return true
                }
            }
            if !hasMatcher {
                report(path, fields.location,
                       expected: "a route that sets at least one of methods, hosts, headers or paths (it serves \(route.protocols.joined(separator: ", ")))")
            }
        }

        routes.append(RouteDraft(route: route, info: info, serviceReference: serviceReference, parentService: service))
        let routeIndex = routes.count - 1
        eachEntity(in: fields, "plugins", noun: "plugins") { readPlugin($0, at: $1, index: $2, parent: .route(routeIndex)) }
    }

    /// A route path: a prefix starting with `/`, or a regex after `~` that compiles.
    private func routePath(_ text: String, node: Node, at path: String) -> String? {
        if text.hasPrefix("~") {
            let pattern = String(text.dropFirst())
            if pattern.isEmpty || ConfigSyntax.regexError(pattern) != nil {
                report(path, node: node, expected: "a regular expression after '~' that compiles")
                return nil
            }
            return text
        }
        guard text.hasPrefix("/") else {
            report(path, node: node, expected: "a path starting with '/' or '~'")
            return nil
        }
        guard ConfigSyntax.isURLPath(text) else {
            report(path, node: node,
                   expected: "a path of URL characters with '%XX' escapes (or a regex, starting with '~')")
            return nil
        }
        return text
    }

    /// Before format 3.0 a path holding anything but plain path characters was a regex; it gains
    /// the `~` prefix that 3.0 requires, as Kong does when reading older files.
    static func migratedLegacyPath(_ path: String) -> String {
        let plain = path.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || "._~/%-".unicodeScalars.contains($0) }
        return plain ? path : "~" + path
    }

    /// `headers`: header name to a list of values (a single string counts as a one-value list).
    private func headers(_ node: Node, at path: String) -> [String: [String]] {
        guard let entries = mapEntries(node, at: path, expected: "a map of header names to lists of values") else { return [:] }
        var headers: [String: [String]] = [:]
        for entry in entries.ordered {
            let headerPath = Self.path(path, entry.key)
            guard ConfigSyntax.isHeaderName(entry.key) else {
                report(headerPath, TextLocation(entry.keyNode), value: entry.key,
                       expected: "a header name of letters, digits, '-' and '_'")
                continue
            }
            let name = entry.key.lowercased()
            if name == "host" {
                report(headerPath, TextLocation(entry.keyNode), value: entry.key,
                       expected: "a header other than Host (list host names under hosts instead)")
                continue
            }
            var values: [String] = []
            switch entry.value {
            case .sequence:
                values = stringList(entry.value, at: headerPath, expected: "a list of header values") { text, item, itemPath in
                    headerValue(text, node: item, at: itemPath)
                } ?? []
                if case .sequence(let items) = entry.value, items.isEmpty {
                    report(headerPath, node: entry.value, expected: "at least one header value")
                }
            case .scalar:
                if let text = string(entry.value, at: headerPath, expected: "a header value or a list of them"),
                    let value = headerValue(text, node: entry.value, at: headerPath)
                {
                    values = [value]
                }
            default:
                report(headerPath, node: entry.value, expected: "a header value or a list of them")
            }
            headers[name, default: []].append(contentsOf: values)
        }
        return headers
    }

    private func headerValue(_ text: String, node: Node, at path: String) -> String? {
        if text.hasPrefix("~*") {
            let pattern = String(text.dropFirst(2))
            if pattern.isEmpty || ConfigSyntax.regexError(pattern) != nil {
                report(path, node: node, expected: "a regular expression after '~*' that compiles")
                return nil
            }
        }
        return text
    }
}
