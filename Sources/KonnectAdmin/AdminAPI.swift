import Foundation
import HTTPTypes
import Hummingbird
import KonnectConfig
import KonnectPlugins
import KonnectStore
import NIOCore

/// What the Admin API reports about the node (`GET /`, `GET /status`).
public struct AdminNodeInfo: Sendable {
    public var version: String
    public var hostname: String
    /// "sqlite" in database mode, "off" in declarative mode (Kong's `database` setting).
    public var database: String
    /// Open client connections of the proxy.
    public var activeConnections: @Sendable () -> Int
    /// Requests the proxy has started since the node started.
    public var totalRequests: @Sendable () async -> Int

    public init(version: String, hostname: String, database: String, activeConnections: @escaping @Sendable () -> Int,
                totalRequests: @escaping @Sendable () async -> Int = { 0 }) {
        self.version = version
        self.hostname = hostname
        self.database = database
        self.activeConnections = activeConnections
        self.totalRequests = totalRequests
    }
}

/// The Kong-compatible Admin API: entity endpoints over the `ControlPlane`, with Kong's shapes
/// for lists, entities and errors.
public struct AdminAPI: HTTPResponder {
    public typealias Context = BasicRequestContext

    let control: ControlPlane
    let node: AdminNodeInfo
    /// When set, every request must carry it in `Konnect-Admin-Token`.
    let token: String?
    /// Largest request body accepted (a whole configuration for `POST /config` included).
    let maxBodySize: Int

    public init(control: ControlPlane, node: AdminNodeInfo, token: String?, maxBodySize: Int = 64 << 20) {
        self.control = control
        self.node = node
        self.token = token?.isEmpty == true ? nil : token
        self.maxBodySize = maxBodySize
    }

    /// Entity kinds that may be listed and created under another, by the path segment that
    /// names them there: `/services/{s}/routes`, `/consumers/{c}/key-auth` and so on.
    static let nested: [EntityKind: [String: (kind: EntityKind, field: EntityReferenceField)]] = [
        .services: ["routes": (.routes, .service), "plugins": (.plugins, .service)],
        .routes: ["plugins": (.plugins, .route)],
        .consumers: [
            "plugins": (.plugins, .consumer), "key-auth": (.keyAuthCredentials, .consumer),
            "basic-auth": (.basicAuthCredentials, .consumer), "jwt": (.jwtSecrets, .consumer),
            "acls": (.acls, .consumer),
        ],
        .consumerGroups: ["plugins": (.plugins, .consumerGroup)],
        .upstreams: ["targets": (.targets, .upstream)],
        .certificates: ["snis": (.snis, .certificate)],
    ]

    /// The kind whose top-level collection is `segment` (`services`, `key-auths`, …).
    /// Memberships have no collection of their own (as in Kong): they are managed under their
    /// group and their consumer.
    static func kind(atPath segment: String) -> EntityKind? {
        EntityKind.allCases.first { $0.adminPath == segment && $0 != .consumerGroupConsumers }
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        if let token {
            guard let given = request.headers[.konnectAdminToken], Self.constantTimeEquals(given, token) else {
                return Self.json(401, .object(["message": .string("Invalid or missing Konnect-Admin-Token")]))
            }
        }
        do {
            return try await route(request)
        } catch let error as EntityError {
            return Self.json(error.status, error.body)
        }
    }

    private func route(_ request: Request) async throws -> Response {
        let segments = request.uri.path.split(separator: "/", omittingEmptySubsequences: true)
            .map { String($0).removingPercentEncoding ?? String($0) }
        let method = request.method
        switch segments.count {
        case 0:
            guard method == .get else { return Self.methodNotAllowed }
            return Self.json(200, await nodeInfo())
        case 1 where segments[0] == "openapi.json":
            guard method == .get else { return Self.methodNotAllowed }
            return Self.json(200, AdminOpenAPI.document)
        case 1 where segments[0] == "config":
            return try await config(request)
        case 1 where segments[0] == "status":
            guard method == .get else { return Self.methodNotAllowed }
            return Self.json(200, .object([
                "database": .object(["reachable": .bool(await control.storeIsReachable())]),
                "server": .object([
                    "connections_active": .number(Double(node.activeConnections())),
                    "total_requests": .number(Double(await node.totalRequests())),
                ]),
            ]))
        default:
            break
        }
        if segments.count == 3, segments[0] == "schemas", segments[1] == "plugins", segments[2] != "validate" {
            guard method == .get else { return Self.methodNotAllowed }
            guard let schema = PluginSchema.named(segments[2]) else {
                let message = KnownPlugins.names.contains(segments[2])
                    ? "Konnect does not implement the plugin '\(segments[2])' yet: its config is stored as given, without a schema"
                    : "No plugin named '\(segments[2])'"
                return Self.json(404, .object(["message": .string(message)]))
            }
            return Self.json(200, schema.kongJSON)
        }
        if segments.count == 2, segments[0] == "schemas", let kind = EntityKind(rawValue: segments[1]) {
            guard method == .get else { return Self.methodNotAllowed }
            return Self.json(200, AdminOpenAPI.kongSchema(kind))
        }
        if segments.count == 3, segments[0] == "schemas", segments[2] == "validate",
           let kind = EntityKind(rawValue: segments[1]) {
            guard method == .post else { return Self.methodNotAllowed }
            try await control.validate(kind, body: try await body(of: request, kind: kind))
            return Self.json(200, .object(["message": .string("schema validation successful")]))
        }
        if segments == ["metrics"] {
            guard method == .get else { return Self.methodNotAllowed }
            return metrics()
        }
        if segments == ["ai-usage"] {
            guard method == .get else { return Self.methodNotAllowed }
            return await aiUsage(request)
        }
        if segments.first == "proxy-cache" {
            return await proxyCache(Array(segments.dropFirst()), method: method)
        }
        if segments == ["plugins", "enabled"] {
            guard method == .get else { return Self.methodNotAllowed }
            return Self.json(200, .object(["enabled_plugins": .array(KnownPlugins.names.sorted().map(JSONValue.string))]))
        }
        if let response = try await consumerGroups(segments, request: request) { return response }
        guard let kind = Self.kind(atPath: segments[0]) else { return Self.notFound }
        switch segments.count {
        case 1:
            return try await collection(kind, scope: nil, request: request)
        case 2:
            return try await entity(kind, segments[1], scope: nil, request: request)
        case 3, 4:
            guard let child = Self.nested[kind]?[segments[2]] else { return Self.notFound }
            let scope = ControlPlane.Scope(field: child.field, parent: segments[1])
            if segments.count == 3 { return try await collection(child.kind, scope: scope, request: request) }
            return try await entity(child.kind, segments[3], scope: scope, request: request)
        default:
            return Self.notFound
        }
    }

    private func collection(_ kind: EntityKind, scope: ControlPlane.Scope?, request: Request) async throws -> Response {
        switch request.method {
        case .get:
            return try await list(kind, scope: scope, request: request)
        case .post:
            let body = try await body(of: request, kind: kind)
            let record = try await control.create(kind, body: body, in: scope)
            return Self.json(201, record.json)
        default:
            return Self.methodNotAllowed
        }
    }

    private func entity(_ kind: EntityKind, _ key: String, scope: ControlPlane.Scope?, request: Request) async throws -> Response {
        switch request.method {
        case .get:
            return Self.json(200, try await control.find(kind, key, in: scope).json)
        case .put:
            let record = try await control.upsert(kind, key, body: try await body(of: request, kind: kind), in: scope)
            return Self.json(200, record.json)
        case .patch:
            let record = try await control.update(kind, key, body: try await body(of: request, kind: kind), in: scope)
            return Self.json(200, record.json)
        case .delete:
            try await control.delete(kind, key, in: scope)
            return Response(status: .noContent)
        default:
            return Self.methodNotAllowed
        }
    }

    private func list(_ kind: EntityKind, scope: ControlPlane.Scope?, request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        var size = 100
        if let text = query["size"] {
            guard let value = Int(text), (1...1000).contains(value) else { throw EntityError.invalidSize() }
            size = value
        }
        var tags: [String] = []
        var matchAll = true
        if let text = query["tags"].map(String.init), !text.isEmpty {
            if text.contains(","), text.contains("/") {
                throw EntityError(status: 400, message: "invalid option (tags: cannot mix 'and' (',') and 'or' ('/'))")
            }
            matchAll = !text.contains("/")
            tags = text.split(whereSeparator: { $0 == "," || $0 == "/" }).map(String.init)
        }
        let page = try await control.list(kind, in: scope, tags: tags, matchAll: matchAll, size: size,
                                          offset: query["offset"].map(String.init))
        var body: [String: JSONValue] = ["data": .array(page.records.map(\.json)), "next": .null]
        if let next = page.nextOffset {
            var parameters = ["offset=\(next)"]
            if query["size"] != nil { parameters.append("size=\(size)") }
            if let text = query["tags"] { parameters.append("tags=\(Self.percentEncoded(String(text)))") }
            body["next"] = .string(request.uri.path + "?" + parameters.joined(separator: "&"))
            body["offset"] = .string(next)
        }
        return Self.json(200, .object(body))
    }

    /// `GET /config` exports the configuration as declarative YAML (`{"config": "…"}`);
    /// `POST /config` replaces it with a declarative document (declarative mode only).
    private func config(_ request: Request) async throws -> Response {
        switch request.method {
        case .get:
            return Self.json(200, .object(["config": .string(await control.configuration.declarativeYAML)]))
        case .post:
            guard await !control.isDatabaseMode else {
                throw EntityError(status: 400, message: "this endpoint is only available when Konnect runs without a database (--declarative); use konnect config apply")
            }
            let buffer = try await rawBody(of: request)
            var text = String(buffer: buffer)
            // A form carries the document in its `config` field (`curl -F config=@kong.yaml`).
            let contentType = request.headers[.contentType] ?? ""
            let form: JSONValue? = if contentType.lowercased().hasPrefix("application/x-www-form-urlencoded") {
                try FormBody.decode(text, fieldTypes: ["config": "string"])
            } else if contentType.lowercased().hasPrefix("multipart/form-data"), let boundary = FormBody.boundary(of: contentType) {
                try FormBody.decodeMultipart(text, boundary: boundary, fieldTypes: ["config": "string"])
            } else {
                nil
            }
            if case .string(let inner)? = form?["config"] { text = inner }
            let configuration: Configuration
            do {
                configuration = try DeclarativeConfig.parseRequestBody(text, source: "POST /config")
            } catch {
                var invalid = EntityError.schemaViolation(error.issues).body
                if case .object(var fields) = invalid {
                    fields["code"] = .number(14)
                    fields["name"] = .string("invalid declarative configuration")
                    fields["message"] = .string("declarative config is invalid: " + error.issues.map(\.description).joined(separator: "; "))
                    invalid = .object(fields)
                }
                throw EntityError(status: 400, body: invalid)
            }
            try await control.replaceAll(with: configuration)
            return Self.json(201, .object(EntityKind.allCases.reduce(into: [String: JSONValue]()) { counts, kind in
                counts[kind.rawValue] = .number(Double(configuration.entities.filter { $0.kind == kind }.count))
            }))
        default:
            return Self.methodNotAllowed
        }
    }

    private func nodeInfo() async -> JSONValue {
        .object([
            "version": .string(node.version),
            "tagline": .string("Welcome to Konnect"),
            "hostname": .string(node.hostname),
            "plugins": .object([
                "available_on_server": .object(Dictionary(uniqueKeysWithValues: KnownPlugins.names.sorted().map { ($0, .bool(true)) })),
                "enabled_in_cluster": .array(Set(await control.configuration.plugins.map(\.name)).sorted().map(JSONValue.string)),
            ]),
            "configuration": .object(["database": .string(node.database)]),
        ])
    }

    // MARK: Bodies

    /// The request body's bytes, up to `maxBodySize` (413 beyond).
    private func rawBody(of request: Request) async throws -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: maxBodySize)
        } catch {
            throw EntityError(status: 413, message: "Request body too large (the limit is \(maxBodySize) bytes)")
        }
    }

    /// The request body as a JSON object: JSON, or a form (`a=1&b[]=x&service.id=…`, URL-encoded
    /// or multipart) typed by `kind`'s fields.
    private func body(of request: Request, kind: EntityKind) async throws -> JSONValue {
        try await body(of: request, fieldTypes: AdminOpenAPI.fieldTypes(kind))
    }

    /// The request body as a JSON object, a form's fields typed by `fieldTypes`.
    func body(of request: Request, fieldTypes: FormBody.FieldTypes) async throws -> JSONValue {
        let buffer = try await rawBody(of: request)
        let text = String(buffer: buffer)
        let contentType = request.headers[.contentType]?.split(separator: ";").first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch contentType {
        case "application/json":
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return .object([:]) }
            do {
                return try JSONValue.parse(text)
            } catch {
                throw EntityError(status: 400, message: "Cannot parse JSON body")
            }
        case "application/x-www-form-urlencoded":
            return try FormBody.decode(text, fieldTypes: fieldTypes)
        case "multipart/form-data":
            guard let boundary = FormBody.boundary(of: request.headers[.contentType] ?? ""),
                  let form = try FormBody.decodeMultipart(text, boundary: boundary, fieldTypes: fieldTypes)
            else { throw EntityError(status: 400, message: "Cannot parse multipart/form-data body") }
            return form
        case "":
            guard text.isEmpty else { throw EntityError(status: 415, message: "Unsupported Content-Type: none given") }
            return .object([:])
        default:
            throw EntityError(status: 415, message: "Unsupported Content-Type: \(contentType)")
        }
    }

    // MARK: Responses

    static func json(_ status: Int, _ body: JSONValue) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(body.jsonText)
        return Response(
            status: .init(code: status),
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: buffer)
        )
    }

    static let notFound = json(404, .object(["message": .string("Not found")]))
    static let methodNotAllowed = json(405, .object(["message": .string("Method not allowed")]))

    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~,"))) ?? text
    }

    /// Compares secrets without an early exit, so response times tell nothing about the token.
    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8), right = Array(b.utf8)
        var difference = UInt8(left.count == right.count ? 0 : 1)
        for index in 0..<max(left.count, right.count) {
            difference |= (index < left.count ? left[index] : 0) ^ (index < right.count ? right[index] : 0)
        }
        return difference == 0
    }
}

extension HTTPField.Name {
    /// The Admin API's token header (required when `KONNECT_ADMIN_TOKEN` is set).
    static let konnectAdminToken = Self("Konnect-Admin-Token")!
}
