import Yams

extension ConfigReader {
    static let hashModes = ["none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture"]
    static let algorithms = ["round-robin", "least-connections", "consistent-hashing", "latency"]
    static let defaultTargetPort = 8000

    static let upstreamSchema = FieldSchema(
        noun: "an upstream",
        fields: [
            "id", "name", "algorithm", "hash_on", "hash_fallback", "hash_on_header", "hash_fallback_header",
            "hash_on_cookie", "hash_on_cookie_path", "hash_on_query_arg", "hash_fallback_query_arg",
            "hash_on_uri_capture", "hash_fallback_uri_capture", "slots", "healthchecks", "host_header",
            "client_certificate", "use_srv_name", "tags", "targets",
        ]
    )

    static let targetSchema = FieldSchema(noun: "a target", fields: ["id", "target", "weight", "upstream", "tags"])

    func readUpstream(_ node: Node, at path: String, index: Int) {
        guard let fields = fields(node, at: path, schema: Self.upstreamSchema) else { return }
        var name: Located<String>?
        if let node = fields["name"] {
            let expected = "a host name (not an IP address, no port)"
            if let text = string(node, at: fields.path("name"), expected: expected, where: { ConfigSyntax.isHostname($0) && !ConfigSyntax.isIPv4($0) }) {
                name = Located(value: text, path: fields.path("name"), location: TextLocation(node))
            }
        } else {
            reportMissing("name", in: fields, expected: "a host name for the upstream")
        }
        let info = DraftInfo(fields, index: index, givenID: givenID(fields), name: name)
        var upstream = Upstream(id: "", name: name?.value ?? "")

        if let node = fields["algorithm"],
            let value = oneOf(node, at: fields.path("algorithm"), Self.algorithms).flatMap(BalancerAlgorithm.init(rawValue:))
        {
            upstream.algorithm = value
        }
        readHashing(fields, into: &upstream)
        if let node = fields["slots"], let value = integer(node, at: fields.path("slots"), in: 10...65536) {
            upstream.slots = value
        }
        if let node = fields["healthchecks"] {
            _ = mapEntries(node, at: fields.path("healthchecks"), expected: "a map of health check settings")
        }
        if let node = fields["host_header"] {
            _ = string(node, at: fields.path("host_header"), expected: "a host name", where: ConfigSyntax.isHost)
        }
        if let node = fields["use_srv_name"] { _ = boolean(node, at: fields.path("use_srv_name")) }
        upstream.tags = tags(fields)

        upstreams.append(UpstreamDraft(upstream: upstream, info: info))
        let upstreamIndex = upstreams.count - 1
        eachEntity(in: fields, "targets", noun: "targets") { readTarget($0, at: $1, index: $2, upstream: upstreamIndex) }
    }

    /// `hash_on`, `hash_fallback` and the parameters each mode needs, checked as Kong checks them.
    private func readHashing(_ fields: Fields, into upstream: inout Upstream) {
        func mode(_ key: String) -> String? {
            guard let node = fields[key] else { return "none" }
            return oneOf(node, at: fields.path(key), Self.hashModes)
        }
        guard let onMode = mode("hash_on"), let fallbackMode = mode("hash_fallback") else { return }

        func parameter(_ key: String, for modeKey: String, mode: String, expected: String, valid: (String) -> Bool) -> String? {
            guard let node = fields[key] else {
                reportMissing(key, in: fields, expected: "\(expected), since \(modeKey) is \(mode)")
                return nil
            }
            return string(node, at: fields.path(key), expected: expected, where: valid)
        }
        func hash(_ mode: String, fallback: Bool) -> HashOn? {
            let modeKey = fallback ? "hash_fallback" : "hash_on"
            let prefix = fallback ? "hash_fallback" : "hash_on"
            switch mode {
            case "consumer": return .consumer
            case "ip": return .ip
            case "path": return .path
            case "header":
                return parameter("\(prefix)_header", for: modeKey, mode: mode, expected: "a header name", valid: ConfigSyntax.isHeaderName)
                    .map { .header($0.lowercased()) }
            case "query_arg":
                return parameter("\(prefix)_query_arg", for: modeKey, mode: mode, expected: "a query argument name", valid: { !$0.isEmpty })
                    .map { .queryArg($0) }
            case "uri_capture":
                return parameter("\(prefix)_uri_capture", for: modeKey, mode: mode, expected: "a regex capture group name", valid: { !$0.isEmpty })
                    .map { .uriCapture($0) }
            case "cookie":
                guard let name = parameter("hash_on_cookie", for: modeKey, mode: mode, expected: "a cookie name", valid: ConfigSyntax.isCookieName)
                else { return nil }
                var cookiePath = "/"
                if let node = fields["hash_on_cookie_path"] {
                    cookiePath = servicePath(node, at: fields.path("hash_on_cookie_path")) ?? "/"
                }
                return .cookie(name: name, path: cookiePath)
            default: return HashOn.none
            }
        }
        let hashOn = hash(onMode, fallback: false)
        let hashFallback = hash(fallbackMode, fallback: true)
        upstream.hashOn = hashOn ?? HashOn.none
        upstream.hashFallback = hashFallback ?? HashOn.none

        let fallbackNode = fields["hash_fallback"]
        if fallbackMode != "none", let fallbackNode {
            if onMode == "none" || onMode == "cookie" {
                report(fields.path("hash_fallback"), node: fallbackNode, expected: "none, since hash_on is \(onMode)")
            } else if onMode == fallbackMode, ["consumer", "ip", "path"].contains(onMode) {
                report(fields.path("hash_fallback"), node: fallbackNode, expected: "a mode other than hash_on (\(onMode))")
            } else if let hashOn, let hashFallback, hashOn == hashFallback {
                let key = "hash_fallback_\(fallbackMode)"
                if let node = fields[key] {
                    report(fields.path(key), node: node, expected: "a different \(fallbackMode.replacingOccurrences(of: "_", with: " ")) than hash_on_\(onMode)")
                }
            }
        }
        if onMode != "none", upstream.algorithm == .leastConnections || upstream.algorithm == .latency, let node = fields["hash_on"] {
            report(fields.path("hash_on"), node: node, expected: "none, since algorithm is \(upstream.algorithm.rawValue)")
        }
    }

    /// Reads a target; `upstream` is the index of the upstream draft it is nested under.
    func readTarget(_ node: Node, at path: String, index: Int, upstream: Int?) {
        guard let fields = fields(node, at: path, schema: Self.targetSchema) else { return }
        var target = Target(id: "", upstreamID: "", host: "")
        var address: Located<String>?
        if let node = fields["target"] {
            let expected = "host:port, host, or [IPv6]:port (the port defaults to \(Self.defaultTargetPort))"
            if let text = string(node, at: fields.path("target"), expected: expected) {
                if let parts = ConfigSyntax.splitHostPort(text) {
                    target.host = parts.host
                    target.port = parts.port ?? Self.defaultTargetPort
                    let host = parts.host.contains(":") ? "[\(parts.host)]" : parts.host.lowercased()
                    address = Located(value: "\(host):\(target.port)", path: fields.path("target"), location: TextLocation(node))
                } else {
                    report(fields.path("target"), node: node, expected: expected)
                }
            }
        } else {
            reportMissing("target", in: fields, expected: "host:port")
        }
        if let node = fields["weight"], let value = integer(node, at: fields.path("weight"), in: 0...65535) {
            target.weight = value
        }
        target.tags = tags(fields)
        let upstreamReference = reference(fields, "upstream", kind: "an upstream")
        if upstream == nil, upstreamReference == nil, fields.entry("upstream").map({ $0.value.isNullValue }) ?? true {
            reportMissing("upstream", in: fields, expected: "the name or id of the target's upstream")
        }
        let info = DraftInfo(fields, index: index, givenID: givenID(fields), name: nil)
        targets.append(TargetDraft(
            target: target, info: info, address: address, upstreamReference: upstreamReference, parentUpstream: upstream
        ))
    }
}
