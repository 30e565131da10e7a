import KonnectConfig

/// The OpenAPI 3.1 document of the Admin API, served at `/openapi.json` and kept in the
/// repository as `docs/admin-openapi.json` (a test keeps the two equal).
///
/// Built from the same lists the API routes by (entity kinds and nested collections), so a new
/// kind or endpoint appears here by itself.
public enum AdminOpenAPI {
    public static let document: JSONValue = build()

    private static func string(_ text: String) -> JSONValue { .string(text) }
    private static func object(_ fields: [String: JSONValue]) -> JSONValue { .object(fields) }
    private static func ref(_ name: String) -> JSONValue { object(["$ref": string("#/components/schemas/\(name)")]) }

    private static func type(_ name: String, nullable: Bool = false, _ extra: [String: JSONValue] = [:]) -> JSONValue {
        var fields = extra
        fields["type"] = nullable ? .array([string(name), string("null")]) : string(name)
        return object(fields)
    }

    private static func integer(_ range: ClosedRange<Int>? = nil, nullable: Bool = false) -> JSONValue {
        var extra: [String: JSONValue] = [:]
        if let range {
            extra["minimum"] = .number(Double(range.lowerBound))
            extra["maximum"] = .number(Double(range.upperBound))
        }
        return type("integer", nullable: nullable, extra)
    }

    private static func strings(nullable: Bool = true) -> JSONValue {
        type("array", nullable: nullable, ["items": type("string")])
    }

    private static func oneOf(_ values: [String], nullable: Bool = false) -> JSONValue {
        type("string", nullable: nullable, ["enum": .array(values.map(string))])
    }

    private static let reference = object([
        "type": .array([string("object"), string("null")]),
        "properties": object(["id": type("string"), "name": type("string")]),
        "additionalProperties": .bool(false),
    ])

    private static let common: [String: JSONValue] = [
        "id": type("string", ["format": string("uuid")]),
        "tags": strings(),
        "created_at": type("integer", ["readOnly": .bool(true)]),
        "updated_at": type("integer", ["readOnly": .bool(true)]),
    ]

    private static let protocols = ["http", "https", "grpc", "grpcs", "tcp", "tls", "tls_passthrough", "udp", "ws", "wss"]

    /// Each kind's fields as JSON Schema, with the rules a client can know in advance (types,
    /// ranges, choices); the Admin API checks the rest and answers 400.
    private static func entitySchema(_ kind: EntityKind) -> JSONValue {
        var properties = common
        var required: [String] = []
        switch kind {
        case .services:
            properties.merge([
                "name": type("string", nullable: true), "url": type("string"),
                "protocol": oneOf(protocols), "host": type("string"), "port": integer(0...65535),
                "path": type("string", nullable: true), "retries": integer(0...32767),
                "connect_timeout": integer(1...2_147_483_646), "write_timeout": integer(1...2_147_483_646),
                "read_timeout": integer(1...2_147_483_646), "enabled": type("boolean"),
                "client_certificate": reference, "tls_verify": type("boolean", nullable: true),
                "tls_verify_depth": integer(0...64, nullable: true), "ca_certificates": strings(),
            ]) { $1 }
        case .routes:
            properties.merge([
                "name": type("string", nullable: true),
                "protocols": type("array", ["items": oneOf(protocols)]),
                "methods": strings(), "hosts": strings(), "paths": strings(),
                "headers": type("object", nullable: true, ["additionalProperties": strings(nullable: false)]),
                "https_redirect_status_code": type("integer", ["enum": .array([426, 301, 302, 307, 308].map { .number(Double($0)) })]),
                "regex_priority": type("integer"), "strip_path": type("boolean"), "preserve_host": type("boolean"),
                "path_handling": oneOf(["v0", "v1"]), "request_buffering": type("boolean"),
                "response_buffering": type("boolean"), "snis": strings(), "sources": type("array", nullable: true),
                "destinations": type("array", nullable: true), "service": reference,
            ]) { $1 }
        case .upstreams:
            let modes = ["none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture"]
            properties.merge([
                "name": type("string"),
                "algorithm": oneOf(["round-robin", "least-connections", "consistent-hashing", "latency"]),
                "hash_on": oneOf(modes), "hash_fallback": oneOf(modes),
                "hash_on_header": type("string", nullable: true), "hash_fallback_header": type("string", nullable: true),
                "hash_on_cookie": type("string", nullable: true), "hash_on_cookie_path": type("string"),
                "hash_on_query_arg": type("string", nullable: true), "hash_fallback_query_arg": type("string", nullable: true),
                "hash_on_uri_capture": type("string", nullable: true), "hash_fallback_uri_capture": type("string", nullable: true),
                "slots": integer(10...65536), "healthchecks": type("object", nullable: true),
                "host_header": type("string", nullable: true), "client_certificate": reference,
                "use_srv_name": type("boolean"),
            ]) { $1 }
            required = ["name"]
        case .targets:
            properties.merge([
                "target": type("string"), "weight": integer(0...65535), "upstream": reference,
            ]) { $1 }
            required = ["target"]
        case .consumers:
            properties.merge([
                "username": type("string", nullable: true), "custom_id": type("string", nullable: true),
            ]) { $1 }
        case .plugins:
            properties.merge([
                "name": type("string"), "instance_name": type("string", nullable: true),
                "config": type("object", nullable: true), "enabled": type("boolean"),
                "service": reference, "route": reference, "consumer": reference, "consumer_group": reference,
                "protocols": type("array", ["items": oneOf(protocols)]),
                "ordering": type("object", nullable: true),
            ]) { $1 }
            required = ["name"]
        case .keyAuthCredentials:
            properties.merge(["consumer": reference, "key": type("string")]) { $1 }
        case .basicAuthCredentials:
            properties.merge([
                "consumer": reference, "username": type("string"),
                "password": type("string", ["description": string("stored as a PBKDF2 hash; shown as the hash")]),
            ]) { $1 }
            required = ["username", "password"]
        case .jwtSecrets:
            properties.merge([
                "consumer": reference, "key": type("string"), "secret": type("string"),
                "algorithm": oneOf(JWTAlgorithm.allCases.map(\.rawValue)), "rsa_public_key": type("string", nullable: true),
                "jwks_uri": type("string", nullable: true),
            ]) { $1 }
        case .acls:
            properties.merge(["consumer": reference, "group": type("string")]) { $1 }
            required = ["group"]
        case .certificates:
            properties.merge([
                "cert": type("string"), "key": type("string"), "cert_alt": type("string", nullable: true),
                "key_alt": type("string", nullable: true), "snis": strings(),
            ]) { $1 }
            required = ["cert", "key"]
        case .snis:
            properties.merge(["name": type("string"), "certificate": reference]) { $1 }
            required = ["name"]
        case .caCertificates:
            properties.merge(["cert": type("string"), "cert_digest": type("string")]) { $1 }
            required = ["cert"]
        case .consumerGroups:
            properties.merge(["name": type("string")]) { $1 }
            required = ["name"]
        case .consumerGroupConsumers:
            properties.merge(["consumer_group": reference, "consumer": reference]) { $1 }
            properties["tags"] = nil
            required = ["consumer_group", "consumer"]
        case .aiModels:
            // The fields of an element of ai-gateway's `config.models`, from the same schema.
            for field in PluginSchema.aiModelFields { properties[field.name] = field.jsonSchema }
            required = PluginSchema.aiModelFields.filter { $0.required && $0.defaultValue == nil }.map(\.name)
        }
        var schema: [String: JSONValue] = [
            "type": string("object"), "properties": object(properties), "additionalProperties": .bool(false),
        ]
        if !required.isEmpty { schema["required"] = .array(required.map(string)) }
        return object(schema)
    }

    /// A kind's fields as Kong's `GET /schemas/{entity}` lists them: one `{name: {type, …}}` per
    /// field with its default (from the model's own defaults), choices and range.
    public static func kongSchema(_ kind: EntityKind) -> JSONValue {
        kind == .aiModels ? aiModelKongSchema : genericKongSchema(kind)
    }

    private static func genericKongSchema(_ kind: EntityKind) -> JSONValue {
        guard case .object(let schema) = entitySchema(kind), case .object(let properties)? = schema["properties"] else {
            return .object([:])
        }
        let required = Set((schema["required"].flatMap { value -> [JSONValue]? in
            if case .array(let items) = value { return items }
            return nil
        } ?? []).compactMap(\.string))
        let defaults = defaultEntity(kind)?.json(createdAt: 0, updatedAt: 0)
        let names = properties.keys.sorted { left, right in
            let first = ["id", "created_at", "updated_at"]
            let l = first.firstIndex(of: left) ?? first.count, r = first.firstIndex(of: right) ?? first.count
            return l != r ? l < r : left < right
        }
        let fields: [JSONValue] = names.map { name in
            guard case .object(let property)? = properties[name] else { return .null }
            var field: [String: JSONValue] = [:]
            var typeName = property["type"]?.string
            if typeName == nil, case .array(let types)? = property["type"] { typeName = types.first?.string }
            if property["properties"]?["id"] != nil { typeName = "foreign" }
            field["type"] = typeName.map { $0 == "object" ? "record" : $0 }.map(JSONValue.string)
            if let choices = property["enum"] { field["one_of"] = choices }
            if let low = property["minimum"], let high = property["maximum"] { field["between"] = .array([low, high]) }
            if required.contains(name) { field["required"] = .bool(true) }
            if ["id", "created_at", "updated_at"].contains(name) { field["auto"] = .bool(true) }
            // Required fields and the placeholders the model starts with ("") have no default.
            if name != "id", !required.contains(name), typeName != "foreign", let value = defaults?[name], value != .null,
               value != .string(""),
               !["created_at", "updated_at"].contains(name) {
                field["default"] = value
            }
            return .object([name: .object(field)])
        }
        return .object(["fields": .array(fields)])
    }

    /// An AI model's schema: the common fields, then those of ai-gateway's `config.models`
    /// elements as `GET /schemas/plugins/ai-gateway` shows them (nested records included).
    private static let aiModelKongSchema: JSONValue = {
        let modelFields = Set(PluginSchema.aiModelFields.map(\.name))
        var fields: [JSONValue] = []
        if case .array(let common)? = genericKongSchema(.aiModels)["fields"] {
            fields = common.filter { field in
                guard case .object(let entry) = field, let name = entry.keys.first else { return false }
                return !modelFields.contains(name)
            }
        }
        return .object(["fields": .array(fields + PluginSchema.aiModelFields.map { .object([$0.name: $0.kongJSON]) })])
    }()

    /// An entity with every field at its default, for the defaults `kongSchema` shows.
    private static func defaultEntity(_ kind: EntityKind) -> Entity? {
        switch kind {
        case .services: .service(Service(id: "", host: ""))
        case .routes: .route(Route(id: ""))
        case .upstreams: .upstream(Upstream(id: "", name: ""))
        case .targets: .target(Target(id: "", upstreamID: "", host: ""))
        case .consumers: .consumer(Consumer(id: ""))
        case .plugins: .plugin(Plugin(id: "", name: ""))
        case .keyAuthCredentials: .keyAuthCredential(KeyAuthCredential(id: "", consumerID: "", key: ""))
        case .basicAuthCredentials: .basicAuthCredential(BasicAuthCredential(id: "", consumerID: "", username: "", passwordHash: ""))
        case .jwtSecrets: .jwtSecret(JWTSecret(id: "", consumerID: "", key: "", secret: ""))
        case .acls: .acl(ACLGroup(id: "", consumerID: "", group: ""))
        case .certificates: .certificate(TLSCertificate(id: "", cert: "", key: ""))
        case .snis: .sni(SNI(id: "", name: "", certificateID: ""))
        case .caCertificates: .caCertificate(CACertificate(id: "", cert: "", certDigest: ""))
        case .aiModels: .aiModel(AIGatewayModel(id: "", name: ""))
        case .consumerGroups: .consumerGroup(ConsumerGroup(id: "", name: ""))
        case .consumerGroupConsumers: .consumerGroupMembership(ConsumerGroupMembership(id: "", groupID: "", consumerID: ""))
        }
    }

    private static func schemaName(_ kind: EntityKind) -> String {
        switch kind {
        case .keyAuthCredentials: "KeyAuthCredential"
        case .basicAuthCredentials: "BasicAuthCredential"
        case .jwtSecrets: "JWTSecret"
        case .acls: "ACLGroup"
        case .certificates: "Certificate"
        case .snis: "SNI"
        case .caCertificates: "CACertificate"
        case .aiModels: "AIModel"
        case .consumerGroups: "ConsumerGroup"
        case .consumerGroupConsumers: "ConsumerGroupMembership"
        default: kind.noun.prefix(1).uppercased() + kind.noun.dropFirst()
        }
    }

    /// Each top-level field's JSON type, for reading form values (`port=80` is a number,
    /// `key=123` a string); worked out once per kind.
    public static func fieldTypes(_ kind: EntityKind) -> [String: String] {
        fieldTypesByKind[kind] ?? [:]
    }

    private static let fieldTypesByKind = Dictionary(uniqueKeysWithValues: EntityKind.allCases.map { ($0, schemaFieldTypes($0)) })

    private static func schemaFieldTypes(_ kind: EntityKind) -> [String: String] {
        guard case .object(let schema) = entitySchema(kind), case .object(let properties)? = schema["properties"] else {
            return [:]
        }
        return properties.compactMapValues { property in
            switch property["type"] {
            case .string(let name)?: name
            case .array(let names)?: names.first?.string
            default: nil
            }
        }
    }

    private static func json(_ schema: JSONValue) -> JSONValue {
        object(["application/json": object(["schema": schema])])
    }

    private static func response(_ description: String, _ schema: JSONValue? = nil) -> JSONValue {
        var fields: [String: JSONValue] = ["description": string(description)]
        if let schema { fields["content"] = json(schema) }
        return object(fields)
    }

    /// The error answers every operation may give, described once under `components.responses`.
    private static let errorResponses: [String: JSONValue] = [
        "400": response("Invalid request: `fields` names every bad field", ref("Error")),
        "401": response("Konnect-Admin-Token missing or wrong (when an admin token is set)", ref("Error")),
        "404": response("Not found", ref("Error")),
        "405": response("Method not allowed, or a write on a node without a database", ref("Error")),
        "409": response("A unique field is taken", ref("Error")),
        "413": response("Body too large", ref("Error")),
        "415": response("Content type other than JSON or a form (URL-encoded or multipart)", ref("Error")),
    ]

    private static let errors: [String: JSONValue] = Dictionary(uniqueKeysWithValues: errorResponses.keys.map { status in
        (status, object(["$ref": string("#/components/responses/Error\(status)")]))
    })

    private static func operation(_ summary: String, _ responses: [String: JSONValue], body: JSONValue? = nil,
                                  parameters: [JSONValue] = []) -> JSONValue {
        var fields: [String: JSONValue] = [
            "summary": string(summary), "responses": object(responses.merging(errors) { first, _ in first }),
        ]
        if let body {
            fields["requestBody"] = object(["required": .bool(true), "content": object([
                "application/json": object(["schema": body]),
                "application/x-www-form-urlencoded": object(["schema": body]),
                "multipart/form-data": object(["schema": body]),
            ])])
        }
        if !parameters.isEmpty { fields["parameters"] = .array(parameters) }
        return object(fields)
    }

    private static func pathParameter(_ name: String, example: String) -> JSONValue {
        object([
            "name": string(name), "in": string("path"), "required": .bool(true), "schema": type("string"),
            "example": string(example),
        ])
    }

    /// The id or name used as the example of a path parameter naming a `kind`: what
    /// `.ci/schemathesis.sh` creates before testing, so that item endpoints meet real entities.
    public static func exampleKey(_ kind: EntityKind) -> String {
        switch kind {
        case .services, .routes, .upstreams, .consumers: "example-\(kind.noun)"
        case .targets: "0b5c7a7e-5d0a-4b7e-8a41-3f6c1d2e9a10"
        case .plugins: "6f2d9c1b-8e4a-4c3f-b5d7-1a9e0c8b7d64"
        case .keyAuthCredentials: "example-key"
        case .basicAuthCredentials: "example-user"
        case .jwtSecrets: "example-issuer"
        case .acls: "3a7e1c52-9b0d-4f6e-8c21-5d4b7a9e0f13"
        case .certificates: "8c4f2a1e-6d3b-4e7a-9f05-2b1c8d7e6a54"
        case .snis: "example.test"
        case .caCertificates: "1e9d7c3b-2a4f-4b8e-a6d0-7f5c3e1b9a28"
        case .aiModels: "example-model"
        case .consumerGroups: "example-consumer-group"
        case .consumerGroupConsumers: "5b8e2f47-1c9a-4d3e-b6f0-8a2d4c7e1b95"
        }
    }

    private static let listParameters: [JSONValue] = [
        object(["name": string("size"), "in": string("query"), "schema": integer(1...1000)]),
        object(["name": string("offset"), "in": string("query"), "schema": type("string")]),
        object(["name": string("tags"), "in": string("query"), "schema": type("string"),
                "description": string("a,b: all of the tags; a/b: any of them")]),
    ]

    /// The collection and item paths of `kind` at `segment`, under a parent's item path when given.
    private static func entityPaths(_ kind: EntityKind, at segment: String, under parent: (EntityKind, String)?) -> [String: JSONValue] {
        let name = schemaName(kind)
        var prefix = ""
        var parentParameters: [JSONValue] = []
        if let (parentKind, parameter) = parent {
            prefix = "/\(parentKind.adminPath)/{\(parameter)}"
            parentParameters = [pathParameter(parameter, example: exampleKey(parentKind))]
        }
        let scopeText = parent.map { " of one \($0.0.noun)" } ?? ""
        let collection: [String: JSONValue] = [
            "get": operation("List \(kind.rawValue)\(scopeText)", ["200": response("A page", ref("\(name)List"))],
                             parameters: parentParameters + listParameters),
            "post": operation("Create a \(kind.noun)\(scopeText)", ["201": response("Created", ref(name))],
                              body: ref(name), parameters: parentParameters),
        ]
        let itemParameters = parentParameters + [pathParameter("id", example: exampleKey(kind))]
        let item: [String: JSONValue] = [
            "get": operation("Fetch a \(kind.noun) by id or name", ["200": response("The entity", ref(name))],
                             parameters: itemParameters),
            "put": operation("Create or replace a \(kind.noun)", ["200": response("The entity", ref(name))],
                             body: ref(name), parameters: itemParameters),
            "patch": operation("Change fields of a \(kind.noun)", ["200": response("The entity", ref(name))],
                               body: ref(name), parameters: itemParameters),
            "delete": operation("Delete a \(kind.noun)", ["204": response("Deleted, or not there")],
                                parameters: itemParameters),
        ]
        return ["\(prefix)/\(segment)": object(collection), "\(prefix)/\(segment)/{id}": object(item)]
    }

    /// Consumer group membership (AdminConsumerGroups.swift), and the group's own GET, which
    /// lists its consumers as Kong's does.
    private static var membershipPaths: [String: JSONValue] {
        let group = pathParameter("id", example: exampleKey(.consumerGroups))
        let consumer = pathParameter("consumer", example: exampleKey(.consumers))
        let groupOfConsumer = pathParameter("group", example: exampleKey(.consumerGroups))
        let consumerInGroup = pathParameter("consumer", example: exampleKey(.consumers))
        func names(_ field: String) -> JSONValue {
            object([
                "type": string("object"), "required": .array([string(field)]),
                "properties": object([field: object(["oneOf": .array([
                    type("string"), type("array", ["items": type("string"), "minItems": .number(1)]),
                ])])]),
            ])
        }
        func shape(_ fields: [String: JSONValue]) -> JSONValue {
            object(["type": string("object"), "properties": object(fields), "required": .array(fields.keys.sorted().map(string))])
        }
        let consumers = type("array", ["items": ref("Consumer")])
        let groups = type("array", ["items": ref("ConsumerGroup")])
        return [
            "/consumer_groups/{id}": object([
                "get": operation("Fetch a consumer group with its consumers",
                                 ["200": response("The group", shape(["consumer_group": ref("ConsumerGroup"), "consumers": consumers,
                                                                      "plugins": type("array")]))],
                                 parameters: [group]),
            ]),
            "/consumer_groups/{id}/consumers": object([
                "get": operation("The consumers in a group", ["200": response("Consumers", shape(["consumers": consumers]))],
                                 parameters: [group]),
                "post": operation("Add consumers (id or username) to a group",
                                  ["201": response("Added", shape(["consumer_group": ref("ConsumerGroup"), "consumers": consumers]))],
                                  body: names("consumer"), parameters: [group]),
                "delete": operation("Take every consumer out of a group", ["204": response("Emptied")], parameters: [group]),
            ]),
            "/consumer_groups/{id}/consumers/{consumer}": object([
                "get": operation("A consumer of the group", ["200": response("The consumer", shape(["consumer": ref("Consumer")]))],
                                 parameters: [group, consumerInGroup]),
                "delete": operation("Take a consumer out of the group", ["204": response("Taken out")],
                                    parameters: [group, consumerInGroup]),
            ]),
            "/consumers/{consumer}/consumer_groups": object([
                "get": operation("The groups a consumer is in", ["200": response("Groups", shape(["consumer_groups": groups]))],
                                 parameters: [consumer]),
                "post": operation("Add a consumer to groups (id or name)",
                                  ["201": response("Added", shape(["consumer": ref("Consumer"), "consumer_groups": groups]))],
                                  body: names("group"), parameters: [consumer]),
                "delete": operation("Take a consumer out of every group", ["204": response("Taken out")], parameters: [consumer]),
            ]),
            "/consumers/{consumer}/consumer_groups/{group}": object([
                "get": operation("One of the consumer's groups", ["200": response("The group", shape(["consumer_group": ref("ConsumerGroup")]))],
                                 parameters: [consumer, groupOfConsumer]),
                "delete": operation("Take the consumer out of the group", ["204": response("Taken out")],
                                    parameters: [consumer, groupOfConsumer]),
            ]),
        ]
    }

    private static func build() -> JSONValue {
        var paths: [String: JSONValue] = [
            "/": object(["get": operation("Node information", ["200": response("Version, plugins, database", type("object"))])]),
            "/status": object(["get": operation("Node status", ["200": response("Connections and database", type("object"))])]),
            "/plugins/enabled": object(["get": operation("Plugins this node can run", ["200": response("`{\"enabled_plugins\": […]}`", type("object"))])]),
            "/proxy-cache": object(["delete": operation("Purge every cached response", ["204": response("Purged")])]),
            "/proxy-cache/{key}": object([
                "get": operation("A cached response, in any proxy-cache plugin's store",
                                 ["200": response("Status, headers, body size, times", type("object"))],
                                 parameters: [pathParameter("key", example: "0123456789abcdef0123456789abcdef")]),
                "delete": operation("Purge a cached response from every store", ["204": response("Purged")],
                                    parameters: [pathParameter("key", example: "0123456789abcdef0123456789abcdef")]),
            ]),
            "/proxy-cache/{plugin}/caches/{key}": object([
                "get": operation("A cached response in one plugin's store",
                                 ["200": response("Status, headers, body size, times", type("object"))],
                                 parameters: [pathParameter("plugin", example: "00000000-0000-4000-8000-000000000000"),
                                              pathParameter("key", example: "0123456789abcdef0123456789abcdef")]),
                "delete": operation("Purge a cached response from one plugin's store", ["204": response("Purged")],
                                    parameters: [pathParameter("plugin", example: "00000000-0000-4000-8000-000000000000"),
                                                 pathParameter("key", example: "0123456789abcdef0123456789abcdef")]),
            ]),
            "/metrics": object(["get": operation("Counters in Prometheus's text format (the AI gateway's requests, tokens and cost)",
                                                 ["200": response("Prometheus text format")])]),
            "/ai-usage": object(["get": operation(
                "AI gateway usage: tokens and cost, filtered and grouped",
                ["200": response("`{\"from\", \"to\", \"group_by\", \"data\": [{requests, input_tokens, output_tokens, cached_tokens, cost, estimated_requests, …}]}`", type("object"))],
                parameters: ["from", "to", "consumer", "route", "model", "group_by"].map { name in
                    object(["name": string(name), "in": string("query"), "schema": type("string")])
                })]),
            "/config": object([
                "get": operation("The configuration as a declarative file", ["200": response("`{\"config\": \"…\"}`", type("object"))]),
                "post": operation("Replace the whole configuration (nodes without a database)",
                                  ["201": response("Applied: entity counts", type("object"))],
                                  body: type("object", ["properties": object(["_format_version": type("string")])])),
            ]),
        ]
        var schemas: [String: JSONValue] = [
            "Error": object([
                "type": string("object"),
                "properties": object([
                    "message": type("string"), "code": type("integer"), "name": type("string"), "fields": type("object"),
                ]),
                "required": .array([string("message")]),
            ]),
        ]
        for kind in EntityKind.allCases {
            if AdminAPI.kind(atPath: kind.adminPath) == kind {
                paths.merge(entityPaths(kind, at: kind.adminPath, under: nil)) { $1 }
            }
            let name = schemaName(kind)
            schemas[name] = entitySchema(kind)
            schemas["\(name)List"] = object([
                "type": string("object"),
                "properties": object([
                    "data": type("array", ["items": ref(name)]),
                    "next": type("string", nullable: true), "offset": type("string"),
                ]),
                "required": .array([string("data"), string("next")]),
            ])
            paths["/schemas/\(kind.rawValue)"] = object([
                "get": operation("The \(kind.noun) schema: fields, types, defaults", ["200": response("Fields", type("object"))]),
            ])
            paths["/schemas/\(kind.rawValue)/validate"] = object([
                "post": operation("Check a \(kind.noun) without storing it",
                                  ["200": response("Valid", type("object"))], body: ref(name)),
            ])
        }
        for (parent, children) in AdminAPI.nested {
            for (segment, child) in children {
                paths.merge(entityPaths(child.kind, at: segment, under: (parent, child.field.rawValue))) { $1 }
            }
        }
        paths.merge(membershipPaths) { first, second in
            guard case .object(let generic) = first, case .object(let special) = second else { return second }
            return .object(generic.merging(special) { $1 })
        }
        return object([
            "openapi": string("3.1.0"),
            "info": object([
                "title": string("Konnect Admin API"),
                "version": string("0.1.0"),
                "description": string("Kong-compatible Admin API of Konnect: entities, declarative configuration, node status."),
            ]),
            "paths": object(paths),
            "components": object([
                "schemas": object(schemas),
                "responses": object(Dictionary(uniqueKeysWithValues: errorResponses.map { ("Error\($0.key)", $0.value) })),
            ]),
        ])
    }
}
