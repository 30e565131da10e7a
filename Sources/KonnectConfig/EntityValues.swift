// The entity types of Model.swift as `EntityValue`s, with the fields the Admin API shows.

extension Service: EntityValue {
    public static var kind: EntityKind { .services }
    public static var list: WritableKeyPath<Configuration, [Service]> { \.services }
    public var entity: Entity { .service(self) }
    public var uniqueName: String? { name }
    public var references: [EntityReferenceField: String] { clientCertificateID.map { [.clientCertificate: $0] } ?? [:] }
    public mutating func setReferences(_ ids: [EntityReferenceField: String]) { clientCertificateID = ids[.clientCertificate] }

    public var jsonFields: [String: JSONValue] {
        [
            "name": EntityField.text(name), "protocol": .string(self.protocol), "host": .string(host),
            "port": EntityField.number(port), "path": EntityField.text(path), "retries": EntityField.number(retries),
            "connect_timeout": EntityField.number(connectTimeout), "write_timeout": EntityField.number(writeTimeout),
            "read_timeout": EntityField.number(readTimeout), "enabled": .bool(enabled), "tags": EntityField.list(tags),
            "client_certificate": EntityField.reference(clientCertificateID), "tls_verify": tlsVerify.map(JSONValue.bool) ?? .null,
            "tls_verify_depth": tlsVerifyDepth.map(EntityField.number) ?? .null, "ca_certificates": EntityField.list(caCertificateIDs),
        ]
    }
}

extension Route: EntityValue {
    public static var kind: EntityKind { .routes }
    public static var list: WritableKeyPath<Configuration, [Route]> { \.routes }
    public var entity: Entity { .route(self) }
    public var uniqueName: String? { name }
    public var references: [EntityReferenceField: String] { serviceID.map { [.service: $0] } ?? [:] }
    public mutating func setReferences(_ ids: [EntityReferenceField: String]) { serviceID = ids[.service] }

    public var jsonFields: [String: JSONValue] {
        let headers: JSONValue = self.headers.isEmpty
            ? .null : .object(self.headers.mapValues { .array($0.map(JSONValue.string)) })
        return [
            "name": EntityField.text(name), "protocols": .array(protocols.map(JSONValue.string)),
            "methods": EntityField.list(methods), "hosts": EntityField.list(hosts), "paths": EntityField.list(paths),
            "headers": headers, "https_redirect_status_code": EntityField.number(httpsRedirectStatusCode),
            "regex_priority": EntityField.number(regexPriority), "strip_path": .bool(stripPath),
            "path_handling": .string(pathHandling.rawValue), "preserve_host": .bool(preserveHost),
            "request_buffering": .bool(true), "response_buffering": .bool(true),
            "snis": .null, "sources": .null, "destinations": .null,
            "tags": EntityField.list(tags), "service": EntityField.reference(serviceID),
        ]
    }
}

extension Upstream: EntityValue {
    public static var kind: EntityKind { .upstreams }
    public static var list: WritableKeyPath<Configuration, [Upstream]> { \.upstreams }
    public var entity: Entity { .upstream(self) }
    public var uniqueName: String? { name }

    public var jsonFields: [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "name": .string(name), "algorithm": .string(algorithm.rawValue),
            "slots": EntityField.number(slots), "tags": EntityField.list(tags),
            "healthchecks": .null, "host_header": .null, "client_certificate": .null, "use_srv_name": .bool(false),
            "hash_on_header": .null, "hash_fallback_header": .null, "hash_on_cookie": .null,
            "hash_on_cookie_path": .string("/"), "hash_on_query_arg": .null, "hash_fallback_query_arg": .null,
            "hash_on_uri_capture": .null, "hash_fallback_uri_capture": .null,
        ]
        for (hash, prefix) in [(hashOn, "hash_on"), (hashFallback, "hash_fallback")] {
            switch hash {
            case .none: fields[prefix] = .string("none")
            case .consumer: fields[prefix] = .string("consumer")
            case .ip: fields[prefix] = .string("ip")
            case .path: fields[prefix] = .string("path")
            case .header(let name):
                fields[prefix] = .string("header")
                fields[prefix + "_header"] = .string(name)
            case .cookie(let name, let path):
                fields[prefix] = .string("cookie")
                fields["hash_on_cookie"] = .string(name)
                fields["hash_on_cookie_path"] = .string(path)
            case .queryArg(let name):
                fields[prefix] = .string("query_arg")
                fields[prefix + "_query_arg"] = .string(name)
            case .uriCapture(let name):
                fields[prefix] = .string("uri_capture")
                fields[prefix + "_uri_capture"] = .string(name)
            }
        }
        return fields
    }
}

extension Target: EntityValue {
    public static var kind: EntityKind { .targets }
    public static var list: WritableKeyPath<Configuration, [Target]> { \.targets }
    public var entity: Entity { .target(self) }
    public var references: [EntityReferenceField: String] { [.upstream: upstreamID] }
    public mutating func setReferences(_ ids: [EntityReferenceField: String]) { upstreamID = ids[.upstream] ?? "" }

    public var jsonFields: [String: JSONValue] {
        let host = host.contains(":") ? "[\(host)]" : host
        return [
            "target": .string("\(host):\(port)"), "weight": EntityField.number(weight),
            "upstream": EntityField.reference(upstreamID), "tags": EntityField.list(tags),
        ]
    }
}

extension Consumer: EntityValue {
    public static var kind: EntityKind { .consumers }
    public static var list: WritableKeyPath<Configuration, [Consumer]> { \.consumers }
    public var entity: Entity { .consumer(self) }
    public var uniqueName: String? { username }

    public var jsonFields: [String: JSONValue] {
        ["username": EntityField.text(username), "custom_id": EntityField.text(customID), "tags": EntityField.list(tags)]
    }
}

extension Plugin {
    /// The plugin's name and what it is scoped to, which no two plugins share (as Kong's cache
    /// key makes it): `name:service:route:consumer`, then `:group` when scoped to a consumer group.
    public var scopeKey: String {
        "\(name):\(serviceID ?? ""):\(routeID ?? ""):\(consumerID ?? "")" + (consumerGroupID.map { ":\($0)" } ?? "")
    }
}

extension Plugin: EntityValue {
    public static var kind: EntityKind { .plugins }
    public static var list: WritableKeyPath<Configuration, [Plugin]> { \.plugins }
    public var entity: Entity { .plugin(self) }
    public var references: [EntityReferenceField: String] {
        var result: [EntityReferenceField: String] = [:]
        result[.service] = serviceID
        result[.route] = routeID
        result[.consumer] = consumerID
        result[.consumerGroup] = consumerGroupID
        return result
    }

    public mutating func setReferences(_ ids: [EntityReferenceField: String]) {
        serviceID = ids[.service]
        routeID = ids[.route]
        consumerID = ids[.consumer]
        consumerGroupID = ids[.consumerGroup]
    }

    public var jsonFields: [String: JSONValue] {
        [
            "name": .string(name), "config": config, "enabled": .bool(enabled),
            "service": EntityField.reference(serviceID), "route": EntityField.reference(routeID),
            "consumer": EntityField.reference(consumerID), "consumer_group": EntityField.reference(consumerGroupID),
            "protocols": .array(protocols.map(JSONValue.string)),
            "tags": EntityField.list(tags), "instance_name": .null,
        ]
    }
}
