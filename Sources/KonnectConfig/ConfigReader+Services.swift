import Yams

extension ConfigReader {
    static let serviceProtocols = ["http", "https", "grpc", "grpcs", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss"]
    /// Protocols whose services carry no path, as Kong requires.
    static let pathlessProtocols: Set<String> = ["grpc", "grpcs", "tcp", "tls", "tls_passthrough", "udp"]
    static let timeoutRange = 1...2_147_483_646

    static let serviceSchema = FieldSchema(
        noun: "a service",
        fields: [
            "id", "name", "url", "protocol", "host", "port", "path", "retries", "connect_timeout",
            "write_timeout", "read_timeout", "enabled", "tags", "client_certificate", "tls_verify",
            "tls_verify_depth", "ca_certificates", "routes", "plugins",
        ]
    )

    func readService(_ node: Node, at path: String, index: Int) {
        guard let fields = fields(node, at: path, schema: Self.serviceSchema) else { return }
        let info = DraftInfo(fields, index: index, givenID: givenID(fields), name: entityName(fields))
        var service = Service(id: "", name: info.name?.value, host: "")

        let explicit = ["protocol", "host", "port", "path"].filter { fields[$0] != nil }
        if let urlNode = fields["url"] {
            if !explicit.isEmpty {
                report(fields.path("url"), node: urlNode,
                       expected: "either url or \(explicit.joined(separator: ", ")), not both")
            } else if let url = serviceURL(urlNode, at: fields.path("url")) {
                service.protocol = url.protocol
                service.host = url.host
                service.port = url.port
                service.path = url.path
            }
        } else {
            if let node = fields["protocol"], let value = oneOf(node, at: fields.path("protocol"), Self.serviceProtocols) {
                service.protocol = value
            }
            if let node = fields["host"] {
                let expected = "a host name or IP address, without a port"
                service.host = string(node, at: fields.path("host"), expected: expected, where: ConfigSyntax.isHost) ?? ""
            } else {
                reportMissing("host", in: fields, expected: "a host name or IP address (or a url)")
            }
            if let node = fields["port"], let port = integer(node, at: fields.path("port"), in: 0...65535) {
                service.port = port
            }
            if let node = fields["path"] {
                service.path = servicePath(node, at: fields.path("path"))
            }
        }
        if service.path != nil, Self.pathlessProtocols.contains(service.protocol) {
            let key = fields["url"] != nil ? "url" : "path"
            if let node = fields[key] {
                report(fields.path(key), node: node,
                       expected: "no path, since protocol \(service.protocol) does not carry one")
            }
        }

        if let node = fields["retries"], let value = integer(node, at: fields.path("retries"), in: 0...32767) {
            service.retries = value
        }
        if let node = fields["connect_timeout"], let value = timeout(node, at: fields.path("connect_timeout")) {
            service.connectTimeout = value
        }
        if let node = fields["write_timeout"], let value = timeout(node, at: fields.path("write_timeout")) {
            service.writeTimeout = value
        }
        if let node = fields["read_timeout"], let value = timeout(node, at: fields.path("read_timeout")) {
            service.readTimeout = value
        }
        if let node = fields["enabled"], let value = boolean(node, at: fields.path("enabled")) {
            service.enabled = value
        }
        if let node = fields["tls_verify"] { service.tlsVerify = boolean(node, at: fields.path("tls_verify")) }
        if let node = fields["tls_verify_depth"] {
            service.tlsVerifyDepth = integer(node, at: fields.path("tls_verify_depth"), in: 0...64)
        }
        var caCertificates: [Located<String>] = []
        if let node = fields["ca_certificates"] {
            _ = stringList(node, at: fields.path("ca_certificates"), expected: "a list of CA certificate ids") { text, item, itemPath in
                guard NameBasedUUID.isValid(text) else {
                    report(itemPath, node: item, expected: "the id (a UUID) of a CA certificate")
                    return nil
                }
                caCertificates.append(Located(value: text.lowercased(), path: itemPath, location: TextLocation(item)))
                return text
            }
        }
        service.caCertificateIDs = caCertificates.map(\.value)
        service.tags = tags(fields)

        services.append(ServiceDraft(
            service: service, info: info,
            clientCertificateReference: reference(fields, "client_certificate", kind: "a certificate"),
            caCertificates: caCertificates
        ))
        let serviceIndex = services.count - 1
        for entry in fields.ordered {
            switch entry.key {
            case "routes":
                eachEntity(in: fields, "routes", noun: "routes") { readRoute($0, at: $1, index: $2, service: serviceIndex) }
            case "plugins":
                eachEntity(in: fields, "plugins", noun: "plugins") { readPlugin($0, at: $1, index: $2, parent: .service(serviceIndex)) }
            default:
                break
            }
        }
    }

    private func timeout(_ node: Node, at path: String) -> Int? {
        integer(node, at: path, in: Self.timeoutRange, expected: "a number of milliseconds from 1 to 2147483646")
    }

    /// A service `path`: starts with `/`, URL characters only, no empty segments.
    func servicePath(_ node: Node, at path: String) -> String? {
        let expected = "a path starting with '/', made of URL characters, without '//'"
        return string(node, at: path, expected: expected) { ConfigSyntax.isURLPath($0) && !$0.contains("//") }
    }

    struct ServiceURL {
        var `protocol`: String
        var host: String
        var port: Int
        var path: String?
    }

    /// The `url` shorthand: `protocol://host[:port][/path]`.
    func serviceURL(_ node: Node, at path: String) -> ServiceURL? {
        let expected = "a URL such as http://example.com:8080/api"
        guard let text = string(node, at: path, expected: expected) else { return nil }
        func fail(_ why: String) -> ServiceURL? {
            report(path, node: node, expected: "\(expected) (\(why))")
            return nil
        }
        guard let schemeEnd = text.range(of: "://") else { return fail("the scheme is missing") }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard Self.serviceProtocols.contains(scheme) else {
            return fail("the scheme must be one of \(Self.serviceProtocols.joined(separator: ", "))")
        }
        let rest = text[schemeEnd.upperBound...]
        if rest.contains("?") || rest.contains("#") { return fail("a query or fragment is not allowed") }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<authorityEnd])
        if authority.contains("@") { return fail("user names and passwords are not allowed") }
        guard !authority.isEmpty, let hostPort = ConfigSyntax.splitHostPort(authority),
            !(ConfigSyntax.isIPv6(authority) && !authority.hasPrefix("["))
        else { return fail("the host is not valid") }
        let (host, port) = hostPort
        let urlPath = String(rest[authorityEnd...])
        if !urlPath.isEmpty, !(ConfigSyntax.isURLPath(urlPath) && !urlPath.contains("//")) {
            return fail("the path must be made of URL characters, without '//'")
        }
        let defaultPort = ["https", "grpcs", "wss", "tls"].contains(scheme) ? 443 : 80
        return ServiceURL(protocol: scheme, host: host, port: port ?? defaultPort, path: urlPath.isEmpty ? nil : urlPath)
    }
}
