import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KonnectAdmin
import KonnectConfig
import KonnectStore
import NIOCore
import Testing

/// The Admin API in process (Hummingbird's router test client) over a real SQLite store.
struct AdminFixture {
    let directory: String
    let app: Application<AdminAPI>

    /// Database mode by default; `declarative` gives a node without a store.
    init(token: String? = nil, declarative: Bool = false) throws {
        directory = NSTemporaryDirectory() + "konnect-admin-\(UUID().uuidString)"
        var store: SQLiteStore?
        if !declarative {
            store = try SQLiteStore(directory: directory)
            try store?.migrate()
        }
        let control = ControlPlane(store: store) { _ in }
        let node = AdminNodeInfo(version: "test", hostname: "test", database: declarative ? "off" : "sqlite",
                                 activeConnections: { 0 })
        app = Application(responder: AdminAPI(control: control, node: node, token: token))
    }

    func run(_ test: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await app.test(.router, test)
    }
}

/// A control plane over the SQLite store in `directory`, migrated as `konnect serve` does: open
/// it twice to see what a restart keeps.
func openControlPlane(in directory: String) throws -> ControlPlane {
    let store = try SQLiteStore(directory: directory)
    try store.migrate()
    return ControlPlane(store: store) { _ in }
}

extension TestClientProtocol {
    /// Sends a request and returns its status and JSON body (null when there is none).
    func call(_ method: HTTPRequest.Method, _ uri: String, json: String? = nil, form: String? = nil,
              headers extra: HTTPFields = [:]) async throws -> (status: Int, body: JSONValue) {
        var headers = extra
        var body: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            body = ByteBuffer(string: json)
        } else if let form {
            headers[.contentType] = "application/x-www-form-urlencoded"
            body = ByteBuffer(string: form)
        }
        return try await execute(uri: uri, method: method, headers: headers, body: body) { response in
            let text = String(buffer: response.body)
            return (response.status.code, text.isEmpty ? .null : try JSONValue.parse(text))
        }
    }
}

@Suite("Admin API")
struct AdminAPITests {
    @Test func createListAndFetchInKongsShapes() async throws {
        try await AdminFixture().run { client in
            let created = try await client.call(.post, "/services", json: #"{"name": "orders", "url": "http://orders.internal:8080"}"#)
            #expect(created.status == 201)
            #expect(created.body["port"] == .number(8080))
            #expect(created.body["path"] == .null)  // unset fields are present, as null
            let id = try #require(created.body["id"])

            let route = try await client.call(.post, "/services/orders/routes", json: #"{"paths": ["/orders"]}"#)
            #expect(route.status == 201)
            #expect(route.body["service"] == .object(["id": id]))
            #expect(route.body["strip_path"] == .bool(true))

            let list = try await client.call(.get, "/services/orders/routes")
            guard case .array(let data)? = list.body["data"] else {
                Issue.record("no data array")
                return
            }
            #expect(data.count == 1)
            #expect(list.body["next"] == .null)
            #expect(try await client.call(.get, "/services/orders").body["id"] == id)
            #expect(try await client.call(.get, "/services/\(try #require(id.string))").body["name"] == .string("orders"))
        }
    }

    @Test func errorsComeAsKongSendsThem() async throws {
        try await AdminFixture().run { client in
            let invalid = try await client.call(.post, "/services", json: #"{"host": "bad host", "port": "eighty"}"#)
            #expect(invalid.status == 400)
            #expect(invalid.body["name"] == .string("schema violation"))
            #expect(invalid.body["fields"]?["host"] != nil && invalid.body["fields"]?["port"] != nil)

            #expect(try await client.call(.post, "/services", json: #"{"name": "a", "host": "a.internal"}"#).status == 201)
            #expect(try await client.call(.post, "/services", json: #"{"name": "a", "host": "b.internal"}"#).status == 409)
            #expect(try await client.call(.get, "/services/nope").status == 404)
            #expect(try await client.call(.get, "/nothing-here").status == 404)
            #expect(try await client.call(.post, "/services/a").status == 405)
            #expect(try await client.call(.post, "/services", json: "{not json").body["message"] == .string("Cannot parse JSON body"))
            let unsupported = try await client.execute(
                uri: "/services", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: "x")
            ) { $0.status.code }
            #expect(unsupported == 415)
            #expect(try await client.call(.get, "/services?size=0").status == 400)
            #expect(try await client.call(.get, "/services?tags=a,b/c").status == 400)
            #expect(try await client.call(.get, "/services?offset=nowhere").status == 400)
        }
    }

    @Test func formBodiesWorkLikeJSON() async throws {
        try await AdminFixture().run { client in
            let created = try await client.call(.post, "/services", form: "name=billing&host=billing.internal&port=9000&tags[]=a&tags[]=b")
            #expect(created.status == 201)
            #expect(created.body["port"] == .number(9000))
            #expect(created.body["tags"] == .array([.string("a"), .string("b")]))
            let route = try await client.call(.post, "/routes", form: "paths[]=/billing&service.name=billing&strip_path=false")
            #expect(route.status == 201)
            #expect(route.body["strip_path"] == .bool(false))
            #expect(route.body["service"]?["id"] == created.body["id"])

            // Indexes and depths no entity has: the smallest integer as an index appends (it
            // once overflowed), and a key deeper than any entity is refused (it once took the
            // stack as deep as the key).
            let odd = try await client.call(.post, "/services", form: "name=odd&host=odd.internal&tags[-9223372036854775808]=y")
            #expect(odd.status == 201)
            #expect(odd.body["tags"] == .array([.string("y")]))
            let deepKey = Array(repeating: "x", count: 200_000).joined(separator: ".")
            let deep = try await client.call(.post, "/services", form: "name=deep&host=deep.internal&\(deepKey)=1")
            #expect(deep.status == 400)
            #expect(deep.body["message"]?.string?.contains("nested more than 32 levels") == true)
            #expect(try await client.call(.get, "/services/deep").status == 404)
        }
    }

    @Test func pagesLinkToTheNextOne() async throws {
        try await AdminFixture().run { client in
            for index in 1...3 {
                _ = try await client.call(.post, "/consumers", json: #"{"username": "user\#(index)", "tags": ["t"]}"#)
            }
            let first = try await client.call(.get, "/consumers?size=2&tags=t")
            guard case .array(let data)? = first.body["data"], case .string(let next)? = first.body["next"] else {
                Issue.record("expected a first page with a next link: \(first.body)")
                return
            }
            #expect(data.count == 2)
            #expect(next.hasPrefix("/consumers?offset="))
            let second = try await client.call(.get, next)
            guard case .array(let rest)? = second.body["data"] else { return }
            #expect(rest.count == 1)
            #expect(second.body["next"] == .null)
        }
    }

    @Test func patchPutAndDelete() async throws {
        try await AdminFixture().run { client in
            _ = try await client.call(.put, "/upstreams/pool", json: #"{"algorithm": "least-connections"}"#)
            let target = try await client.call(.post, "/upstreams/pool/targets", json: #"{"target": "10.0.0.1:8080", "weight": 50}"#)
            #expect(target.status == 201)
            let targetID = try #require(target.body["id"]?.string)
            let patched = try await client.call(.patch, "/upstreams/pool/targets/\(targetID)", json: #"{"weight": 0}"#)
            #expect(patched.body["weight"] == .number(0))
            #expect(try await client.call(.delete, "/upstreams/pool").status == 204)
            #expect(try await client.call(.get, "/targets/\(targetID)").status == 404)  // went with its upstream
        }
    }

    @Test func theAdminTokenIsRequiredWhenSet() async throws {
        let header = try #require(HTTPField.Name("Konnect-Admin-Token"))
        try await AdminFixture(token: "s3cret").run { client async throws in
            let missing = try await client.call(.get, "/services")
            let wrong = try await client.call(.get, "/services", headers: [header: "wrong"])
            let right = try await client.call(.get, "/services", headers: [header: "s3cret"])
            #expect(missing.status == 401)
            #expect(wrong.status == 401)
            #expect(right.status == 200)
        }
    }

    @Test func aDeclarativeNodeTakesWholeConfigurationsAtPostConfig() async throws {
        try await AdminFixture(declarative: true).run { client in
            #expect(try await client.call(.post, "/services", json: #"{"host": "a.internal"}"#).status == 405)
            let document = #"{"_format_version": "3.0", "services": [{"name": "a", "url": "http://a.internal", "routes": [{"name": "r", "paths": ["/a"]}]}]}"#
            let applied = try await client.call(.post, "/config", json: document)
            #expect(applied.status == 201)
            #expect(applied.body["routes"] == .number(1))
            #expect(try await client.call(.get, "/routes/r").body["paths"] == .array([.string("/a")]))

            let invalid = try await client.call(.post, "/config", json: #"{"_format_version": "3.0", "services": [{"name": "b"}]}"#)
            #expect(invalid.status == 400)
            #expect(invalid.body["code"] == .number(14))
            #expect(try await client.call(.get, "/services/a").status == 200)  // the old configuration stays

            let exported = try await client.call(.get, "/config")
            let yaml = try #require(exported.body["config"]?.string)
            #expect(try DeclarativeConfig.parse(yaml).routes.map(\.name) == ["r"])
        }
    }

    @Test func aDatabaseNodeRefusesPostConfig() async throws {
        try await AdminFixture().run { client async throws in
            let refused = try await client.call(.post, "/config", json: #"{"_format_version": "3.0"}"#)
            #expect(refused.status == 400)
        }
    }

    @Test func schemasListFieldsWithTheirDefaults() async throws {
        try await AdminFixture().run { client async throws in
            let schema = try await client.call(.get, "/schemas/services")
            guard case .array(let fields)? = schema.body["fields"] else {
                Issue.record("no fields: \(schema.body)")
                return
            }
            let byName = Dictionary(uniqueKeysWithValues: fields.compactMap { field -> (String, JSONValue)? in
                guard case .object(let entry) = field, let (name, value) = entry.first else { return nil }
                return (name, value)
            })
            #expect(byName["port"]?["default"] == .number(80))
            #expect(byName["port"]?["between"] == .array([.number(0), .number(65535)]))
            #expect(byName["retries"]?["default"] == .number(5))
            #expect(byName["protocol"]?["one_of"] != nil)
            let enabled = try await client.call(.get, "/plugins/enabled")
            guard case .array(let plugins)? = enabled.body["enabled_plugins"] else {
                Issue.record("no enabled_plugins: \(enabled.body)")
                return
            }
            #expect(plugins.contains(.string("key-auth")) && plugins.contains(.string("rate-limiting")))
            let upstream = try await client.call(.get, "/schemas/upstreams")
            #expect(upstream.body.jsonText.contains(#"{"name":{"required":true,"type":"string"}}"#))
            #expect(try await client.call(.get, "/schemas/nothing").status == 404)
        }
    }

    @Test func aBodyCanBeValidatedWithoutStoringIt() async throws {
        try await AdminFixture().run { client async throws in
            let good = try await client.call(.post, "/schemas/services/validate", json: #"{"name": "a", "host": "a.internal"}"#)
            let bad = try await client.call(.post, "/schemas/routes/validate", json: #"{"paths": ["x"]}"#)
            let list = try await client.call(.get, "/services")
            #expect(good.status == 200)
            #expect(bad.status == 400)
            #expect(bad.body["fields"]?["paths"] != nil)
            #expect(list.body["data"] == .array([]))
        }
    }

    /// The document in the repository is the one the API serves. Run the tests with
    /// KONNECT_WRITE_OPENAPI=1 to rewrite it after changing the API.
    @Test func theOpenAPIDocumentInTheRepositoryIsCurrent() async throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/admin-openapi.json").path
        let expected = AdminOpenAPI.document.prettyJSONText
        if ProcessInfo.processInfo.environment["KONNECT_WRITE_OPENAPI"] == "1" {
            try expected.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let stored = try String(contentsOfFile: path, encoding: .utf8)
        #expect(stored == expected, "docs/admin-openapi.json is out of date: run KONNECT_WRITE_OPENAPI=1 swift test")
        try await AdminFixture().run { client async throws in
            let served = try await client.call(.get, "/openapi.json")
            #expect(served.body == AdminOpenAPI.document)
        }
    }
}
