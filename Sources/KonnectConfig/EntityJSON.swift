/// Entities as Kong's Admin API shows them: every field present, `null` where unset, and
/// references as `{"id": …}`.
///
/// The same objects are what the store keeps, and reading one back with `EntityInput` gives the
/// entity again.
extension Entity {
    public func json(createdAt: Int, updatedAt: Int) -> JSONValue {
        var fields: [String: JSONValue]
        switch self {
        case .service(let service): fields = Self.fields(of: service)
        case .route(let route): fields = Self.fields(of: route)
        case .upstream(let upstream): fields = Self.fields(of: upstream)
        case .target(let target): fields = Self.fields(of: target)
        case .consumer(let consumer): fields = Self.fields(of: consumer)
        case .plugin(let plugin): fields = Self.fields(of: plugin)
        }
        fields["id"] = .string(id)
        fields["created_at"] = .number(Double(createdAt))
        fields["updated_at"] = .number(Double(updatedAt))
        return .object(fields)
    }

    private static func text(_ value: String?) -> JSONValue {
        value.map(JSONValue.string) ?? .null
    }

    private static func number(_ value: Int) -> JSONValue {
        .number(Double(value))
    }

    /// A list, or `null` when empty (as Kong shows unset lists).
    private static func list(_ values: [String]) -> JSONValue {
        values.isEmpty ? .null : .array(values.map(JSONValue.string))
    }

    private static func reference(_ id: String?) -> JSONValue {
        id.map { .object(["id": .string($0)]) } ?? .null
    }

    private static func fields(of service: Service) -> [String: JSONValue] {
        [
            "name": text(service.name), "protocol": .string(service.protocol), "host": .string(service.host),
            "port": number(service.port), "path": text(service.path), "retries": number(service.retries),
            "connect_timeout": number(service.connectTimeout), "write_timeout": number(service.writeTimeout),
            "read_timeout": number(service.readTimeout), "enabled": .bool(service.enabled), "tags": list(service.tags),
            "client_certificate": .null, "tls_verify": .null, "tls_verify_depth": .null, "ca_certificates": .null,
        ]
    }

    private static func fields(of route: Route) -> [String: JSONValue] {
        let headers: JSONValue = route.headers.isEmpty
            ? .null : .object(route.headers.mapValues { .array($0.map(JSONValue.string)) })
        return [
            "name": text(route.name), "protocols": .array(route.protocols.map(JSONValue.string)),
            "methods": list(route.methods), "hosts": list(route.hosts), "paths": list(route.paths),
            "headers": headers, "https_redirect_status_code": number(route.httpsRedirectStatusCode),
            "regex_priority": number(route.regexPriority), "strip_path": .bool(route.stripPath),
            "path_handling": .string(route.pathHandling.rawValue), "preserve_host": .bool(route.preserveHost),
            "request_buffering": .bool(true), "response_buffering": .bool(true),
            "snis": .null, "sources": .null, "destinations": .null,
            "tags": list(route.tags), "service": reference(route.serviceID),
        ]
    }

    private static func fields(of upstream: Upstream) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "name": .string(upstream.name), "algorithm": .string(upstream.algorithm.rawValue),
            "slots": number(upstream.slots), "tags": list(upstream.tags),
            "healthchecks": .null, "host_header": .null, "client_certificate": .null, "use_srv_name": .bool(false),
            "hash_on_header": .null, "hash_fallback_header": .null, "hash_on_cookie": .null,
            "hash_on_cookie_path": .string("/"), "hash_on_query_arg": .null, "hash_fallback_query_arg": .null,
            "hash_on_uri_capture": .null, "hash_fallback_uri_capture": .null,
        ]
        for (hash, prefix) in [(upstream.hashOn, "hash_on"), (upstream.hashFallback, "hash_fallback")] {
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

    private static func fields(of target: Target) -> [String: JSONValue] {
        let host = target.host.contains(":") ? "[\(target.host)]" : target.host
        return [
            "target": .string("\(host):\(target.port)"), "weight": number(target.weight),
            "upstream": reference(target.upstreamID), "tags": list(target.tags),
        ]
    }

    private static func fields(of consumer: Consumer) -> [String: JSONValue] {
        ["username": text(consumer.username), "custom_id": text(consumer.customID), "tags": list(consumer.tags)]
    }

    private static func fields(of plugin: Plugin) -> [String: JSONValue] {
        [
            "name": .string(plugin.name), "config": plugin.config, "enabled": .bool(plugin.enabled),
            "service": reference(plugin.serviceID), "route": reference(plugin.routeID),
            "consumer": reference(plugin.consumerID), "protocols": .array(plugin.protocols.map(JSONValue.string)),
            "tags": list(plugin.tags), "instance_name": .null,
        ]
    }
}
