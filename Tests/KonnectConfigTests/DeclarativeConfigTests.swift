import Foundation
import Testing

@testable import KonnectConfig

/// Parses `text`, failing the test with every issue when it does not load.
func parseValid(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> Configuration? {
    do {
        return try DeclarativeConfig.parse(text)
    } catch {
        Issue.record("expected the document to load, got:\n\(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Parses `text` expecting it to fail, and returns the issues.
func issues(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [ConfigIssue] {
    do {
        let configuration = try DeclarativeConfig.parse(text)
        Issue.record("expected issues, but the document loaded: \(configuration)", sourceLocation: sourceLocation)
        return []
    } catch {
        return error.issues
    }
}

@Suite("Declarative configuration: valid documents")
struct DeclarativeConfigTests {
    static let fullYAML = """
        _format_version: "3.0"
        _transform: true
        services:
          - id: 0b3f6d6c-1c0e-4c59-9d43-7a1e4c9b2f10
            name: users
            url: https://users.internal:8443/v1
            retries: 3
            connect_timeout: 2000
            write_timeout: 3000
            read_timeout: 4000
            tags: [team-a, prod]
            routes:
              - id: 7c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f
                name: users-api
                paths: [/users, "~/users/\\\\d+$"]
                hosts: [API.Example.com, "*.example.org:8000"]
                methods: [GET, POST]
                headers:
                  X-Version: ["1", "2"]
                  x-tenant: acme
                strip_path: false
                preserve_host: true
                regex_priority: 10
                path_handling: v1
                https_redirect_status_code: 308
                protocols: [https]
                plugins:
                  - id: 1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b
                    name: key-auth
                    config:
                      key_names: [apikey]
                      hide_credentials: true
            plugins:
              - id: 2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d
                name: rate-limiting
                config: {minute: 60, policy: local}
                protocols: [http, https]
        upstreams:
          - id: 3b4c5d6e-7f8a-4b9c-8d0e-2f3a4b5c6d7e
            name: users.internal
            algorithm: consistent-hashing
            hash_on: header
            hash_on_header: X-User
            hash_fallback: cookie
            hash_on_cookie: session
            slots: 100
            targets:
              - id: 4c5d6e7f-8a9b-4c0d-9e1f-3a4b5c6d7e8f
                target: 10.0.0.1:8443
                weight: 50
              - id: 5d6e7f8a-9b0c-4d1e-8f2a-4b5c6d7e8f9a
                target: "[::1]"
        consumers:
          - id: 6e7f8a9b-0c1d-4e2f-9a3b-5c6d7e8f9a0b
            username: alice
            custom_id: A-1
            tags: [vip]
            keyauth_credentials:
              - key: secret
            plugins:
              - id: 7f8a9b0c-1d2e-4f3a-8b4c-6d7e8f9a0b1c
                name: request-termination
                enabled: false
                service: users
        plugins:
          - id: 8a9b0c1d-2e3f-4a4b-9c5d-7e8f9a0b1c2d
            name: prometheus
        """

    static let fullJSON = """
        {
          "_format_version": "3.0",
          "_transform": true,
          "services": [
            {
              "id": "0b3f6d6c-1c0e-4c59-9d43-7a1e4c9b2f10",
              "name": "users",
              "url": "https://users.internal:8443/v1",
              "retries": 3,
              "connect_timeout": 2000,
              "write_timeout": 3000,
              "read_timeout": 4000,
              "tags": ["team-a", "prod"],
              "routes": [
                {
                  "id": "7c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                  "name": "users-api",
                  "paths": ["/users", "~/users/\\\\d+$"],
                  "hosts": ["API.Example.com", "*.example.org:8000"],
                  "methods": ["GET", "POST"],
                  "headers": {"X-Version": ["1", "2"], "x-tenant": "acme"},
                  "strip_path": false,
                  "preserve_host": true,
                  "regex_priority": 10,
                  "path_handling": "v1",
                  "https_redirect_status_code": 308,
                  "protocols": ["https"],
                  "plugins": [
                    {
                      "id": "1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b",
                      "name": "key-auth",
                      "config": {"key_names": ["apikey"], "hide_credentials": true}
                    }
                  ]
                }
              ],
              "plugins": [
                {
                  "id": "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",
                  "name": "rate-limiting",
                  "config": {"minute": 60, "policy": "local"},
                  "protocols": ["http", "https"]
                }
              ]
            }
          ],
          "upstreams": [
            {
              "id": "3b4c5d6e-7f8a-4b9c-8d0e-2f3a4b5c6d7e",
              "name": "users.internal",
              "algorithm": "consistent-hashing",
              "hash_on": "header",
              "hash_on_header": "X-User",
              "hash_fallback": "cookie",
              "hash_on_cookie": "session",
              "slots": 100,
              "targets": [
                {"id": "4c5d6e7f-8a9b-4c0d-9e1f-3a4b5c6d7e8f", "target": "10.0.0.1:8443", "weight": 50},
                {"id": "5d6e7f8a-9b0c-4d1e-8f2a-4b5c6d7e8f9a", "target": "[::1]"}
              ]
            }
          ],
          "consumers": [
            {
              "id": "6e7f8a9b-0c1d-4e2f-9a3b-5c6d7e8f9a0b",
              "username": "alice",
              "custom_id": "A-1",
              "tags": ["vip"],
              "keyauth_credentials": [{"key": "secret"}],
              "plugins": [
                {
                  "id": "7f8a9b0c-1d2e-4f3a-8b4c-6d7e8f9a0b1c",
                  "name": "request-termination",
                  "enabled": false,
                  "service": "users"
                }
              ]
            }
          ],
          "plugins": [
            {"id": "8a9b0c1d-2e3f-4a4b-9c5d-7e8f9a0b1c2d", "name": "prometheus"}
          ]
        }
        """

    static let fullExpected = Configuration(
        formatVersion: "3.0",
        services: [
            Service(
                id: "0b3f6d6c-1c0e-4c59-9d43-7a1e4c9b2f10", name: "users", protocol: "https", host: "users.internal",
                port: 8443, path: "/v1", retries: 3, connectTimeout: 2000, writeTimeout: 3000, readTimeout: 4000,
                tags: ["team-a", "prod"]
            ),
        ],
        routes: [
            Route(
                id: "7c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", name: "users-api", paths: ["/users", "~/users/\\d+$"],
                hosts: ["api.example.com", "*.example.org:8000"], methods: ["GET", "POST"],
                headers: ["x-version": ["1", "2"], "x-tenant": ["acme"]], protocols: ["https"], stripPath: false,
                preserveHost: true, regexPriority: 10, pathHandling: .v1,
                serviceID: "0b3f6d6c-1c0e-4c59-9d43-7a1e4c9b2f10", httpsRedirectStatusCode: 308
            ),
        ],
        upstreams: [
            Upstream(
                id: "3b4c5d6e-7f8a-4b9c-8d0e-2f3a4b5c6d7e", name: "users.internal", algorithm: .consistentHashing,
                hashOn: .header("x-user"), hashFallback: .cookie(name: "session", path: "/"), slots: 100
            ),
        ],
        targets: [
            Target(id: "4c5d6e7f-8a9b-4c0d-9e1f-3a4b5c6d7e8f", upstreamID: "3b4c5d6e-7f8a-4b9c-8d0e-2f3a4b5c6d7e",
                   host: "10.0.0.1", port: 8443, weight: 50),
            Target(id: "5d6e7f8a-9b0c-4d1e-8f2a-4b5c6d7e8f9a", upstreamID: "3b4c5d6e-7f8a-4b9c-8d0e-2f3a4b5c6d7e",
                   host: "::1", port: 8000, weight: 100),
        ],
        consumers: [
            Consumer(id: "6e7f8a9b-0c1d-4e2f-9a3b-5c6d7e8f9a0b", username: "alice", customID: "A-1", tags: ["vip"]),
        ],
        plugins: [
            // Document order: the route's plugin is written before the service's own plugins list.
            Plugin(
                id: "1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b", name: "key-auth",
                config: PluginSchema.named("key-auth")!.normalize(.object(["hide_credentials": .bool(true)])).config,
                routeID: "7c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
            ),
            Plugin(
                id: "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d", name: "rate-limiting",
                config: PluginSchema.named("rate-limiting")!.normalize(.object(["minute": .number(60), "policy": .string("local")])).config,
                serviceID: "0b3f6d6c-1c0e-4c59-9d43-7a1e4c9b2f10", protocols: ["http", "https"]
            ),
            Plugin(
                id: "7f8a9b0c-1d2e-4f3a-8b4c-6d7e8f9a0b1c", name: "request-termination",
                config: PluginSchema.named("request-termination")!.normalize(.null).config, enabled: false,
                serviceID: "0b3f6d6c-1c0e-4c59-9d43-7a1e4c9b2f10", consumerID: "6e7f8a9b-0c1d-4e2f-9a3b-5c6d7e8f9a0b"
            ),
            Plugin(id: "8a9b0c1d-2e3f-4a4b-9c5d-7e8f9a0b1c2d", name: "prometheus"),
        ]
    ).with {
        // The consumer's nested key-auth credential, with the id derived from its key.
        $0.keyAuthCredentials = [
            KeyAuthCredential(id: "70d3cb85-28dc-5c97-89ed-943b276966ee",
                              consumerID: "6e7f8a9b-0c1d-4e2f-9a3b-5c6d7e8f9a0b", key: "secret"),
        ]
    }

    @Test func fullYAMLDocumentParsesIntoTheModel() {
        let configuration = parseValid(Self.fullYAML)
        #expect(configuration == Self.fullExpected)
    }

    @Test func theSameDocumentInJSONParsesIdentically() {
        let configuration = parseValid(Self.fullJSON)
        #expect(configuration == Self.fullExpected)
    }

    @Test func defaultsApplyWhenFieldsAreLeftOut() throws {
        let configuration = try #require(parseValid("""
            _format_version: "3.0"
            services:
              - name: plain
                host: backend
                routes:
                  - paths: [/]
            upstreams:
              - name: pool
                targets:
                  - target: backend.local
            consumers:
              - custom_id: only-custom
            plugins:
              - name: cors
            """))
        let service = try #require(configuration.services.first)
        #expect(service.protocol == "http")
        #expect(service.port == 80)
        #expect(service.path == nil)
        #expect(service.retries == 5)
        #expect(service.connectTimeout == 60_000)
        #expect(service.writeTimeout == 60_000)
        #expect(service.readTimeout == 60_000)
        #expect(service.enabled)
        let route = try #require(configuration.routes.first)
        #expect(route.protocols == ["http", "https"])
        #expect(route.stripPath)
        #expect(!route.preserveHost)
        #expect(route.regexPriority == 0)
        #expect(route.pathHandling == .v0)
        #expect(route.httpsRedirectStatusCode == 426)
        #expect(route.serviceID == service.id)
        let upstream = try #require(configuration.upstreams.first)
        #expect(upstream.algorithm == .roundRobin)
        #expect(upstream.hashOn == .none)
        #expect(upstream.slots == 10_000)
        let target = try #require(configuration.targets.first)
        #expect(target.host == "backend.local")
        #expect(target.port == 8000)
        #expect(target.weight == 100)
        #expect(target.upstreamID == upstream.id)
        #expect(configuration.consumers.first?.customID == "only-custom")
        let plugin = try #require(configuration.plugins.first)
        // The plugin's schema fills in its defaults.
        #expect(plugin.config["credentials"] == .bool(false))
        #expect(plugin.config["methods"]?.jsonText == #"["GET","HEAD","PUT","PATCH","POST","DELETE","OPTIONS","TRACE","CONNECT"]"#)
        #expect(plugin.config["origins"] == .null)
        #expect(plugin.enabled)
        #expect(plugin.protocols == ["grpc", "grpcs", "http", "https"])
        #expect(plugin.serviceID == nil && plugin.routeID == nil && plugin.consumerID == nil)
    }

    @Test(arguments: [
        ("http://example.com", "http", "example.com", 80, nil),
        ("https://example.com", "https", "example.com", 443, nil),
        ("http://example.com:8080/api/v1", "http", "example.com", 8080, "/api/v1"),
        ("https://10.1.2.3/", "https", "10.1.2.3", 443, "/"),
        ("http://[::1]:9000/x", "http", "::1", 9000, "/x"),
        ("HTTP://Example.com:81", "http", "Example.com", 81, nil),
        ("grpc://grpc.internal:50051", "grpc", "grpc.internal", 50051, nil),
    ] as [(String, String, String, Int, String?)])
    func urlShorthandSetsProtocolHostPortAndPath(url: String, scheme: String, host: String, port: Int, path: String?) throws {
        let configuration = try #require(parseValid("""
            _format_version: "3.0"
            services:
              - name: s
                url: "\(url)"
            """))
        let service = try #require(configuration.services.first)
        #expect(service.protocol == scheme)
        #expect(service.host == host)
        #expect(service.port == port)
        #expect(service.path == path)
    }

    @Test func nestedAndTopLevelFormsGiveTheSameConfiguration() throws {
        let nested = try #require(parseValid("""
            _format_version: "3.0"
            services:
              - name: orders
                host: orders.internal
                routes:
                  - name: orders-route
                    paths: [/orders]
                    plugins:
                      - name: cors
                plugins:
                  - name: rate-limiting
                    config: {second: 5}
            upstreams:
              - name: orders.internal
                targets:
                  - target: 10.0.0.5:8080
            consumers:
              - username: bob
                plugins:
                  - name: acl
                    config: {allow: [admins]}
            """))
        let flat = try #require(parseValid("""
            _format_version: "3.0"
            services:
              - name: orders
                host: orders.internal
            routes:
              - name: orders-route
                paths: [/orders]
                service: orders
            upstreams:
              - name: orders.internal
            targets:
              - target: 10.0.0.5:8080
                upstream: {name: orders.internal}
            consumers:
              - username: bob
            plugins:
              - name: cors
                route: orders-route
              - name: rate-limiting
                config: {second: 5}
                service: {name: orders}
              - name: acl
                config: {allow: [admins]}
                consumer: bob
            """))
        #expect(nested == flat)
        #expect(nested.routes.first?.serviceID == nested.services.first?.id)
        #expect(nested.targets.first?.upstreamID == nested.upstreams.first?.id)
    }

    @Test func derivedIDsAreStableValidAndDistinct() throws {
        let text = """
            _format_version: "3.0"
            services:
              - name: a
                host: a.internal
                routes:
                  - paths: [/one]
                  - paths: [/two]
              - host: unnamed.internal
            upstreams:
              - name: pool
                targets:
                  - target: 10.0.0.1
                  - target: 10.0.0.2
            consumers:
              - username: carol
            plugins:
              - name: cors
            """
        let first = try #require(parseValid(text))
        let second = try #require(parseValid(text))
        #expect(first == second)

        let ids = first.services.map(\.id) + first.routes.map(\.id) + first.upstreams.map(\.id)
            + first.targets.map(\.id) + first.consumers.map(\.id) + first.plugins.map(\.id)
        #expect(ids.count == 9)
        #expect(Set(ids).count == ids.count)
        for id in ids {
            let uuid = try #require(UUID(uuidString: id), "\(id) is not a UUID")
            #expect(uuid.uuidString.lowercased() == id)
            #expect(Array(id)[14] == "5", "\(id) is not a version 5 UUID")
        }
    }

    @Test func aNamedEntityKeepsItsIDWhenOtherEntitiesChange() throws {
        let before = try #require(parseValid("""
            _format_version: "3.0"
            services:
              - name: keep
                host: k.internal
            """))
        let after = try #require(parseValid("""
            _format_version: "3.0"
            services:
              - name: added-first
                host: n.internal
              - name: keep
                host: k.internal
                port: 8080
            """))
        #expect(before.services[0].id == after.services[1].id)
    }

    @Test func givenIDsAreKeptLowerCased() throws {
        let configuration = try #require(parseValid("""
            _format_version: "3.0"
            services:
              - id: 0B3F6D6C-1C0E-4C59-9D43-7A1E4C9B2F10
                host: x.internal
            routes:
              - paths: [/x]
                service: 0B3F6D6C-1C0E-4C59-9D43-7A1E4C9B2F10
            """))
        #expect(configuration.services.first?.id == "0b3f6d6c-1c0e-4c59-9d43-7a1e4c9b2f10")
        #expect(configuration.routes.first?.serviceID == "0b3f6d6c-1c0e-4c59-9d43-7a1e4c9b2f10")
    }

    @Test func olderFormatVersionsGainTheRegexPrefixOnRegexPaths() throws {
        let configuration = try #require(parseValid("""
            _format_version: "1.1"
            routes:
              - paths: ["/plain/path", "/users/\\\\d+"]
            """))
        #expect(configuration.routes.first?.paths == ["/plain/path", "~/users/\\d+"])
        #expect(configuration.formatVersion == "3.0")
    }

    @Test func yamlAnchorsAndMergeKeysAreHonoured() throws {
        let configuration = try #require(parseValid("""
            _format_version: "3.0"
            services:
              - &defaults
                name: first
                host: a.internal
                retries: 1
                connect_timeout: 1500
              - <<: *defaults
                name: second
            """))
        #expect(configuration.services.map(\.name) == ["first", "second"])
        #expect(configuration.services.map(\.connectTimeout) == [1500, 1500])
    }

    @Test func theQuickstartExampleParsesCleanly() throws {
        let examples = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("examples")
        let path = examples.appendingPathComponent("quickstart.yaml").path
        let configuration: Configuration
        do {
            configuration = try DeclarativeConfig.load(path: path)
        } catch {
            Issue.record("examples/quickstart.yaml does not load:\n\(error)")
            return
        }
        #expect(configuration.services.map(\.name) == ["echo", "balanced"])
        #expect(configuration.routes.map(\.paths) == [["/echo"], ["/balanced"]])
        #expect(configuration.upstreams.map(\.name) == ["echo-pool"])
        #expect(configuration.targets.map(\.port) == [9000, 9001])
        #expect(configuration.services.last?.host == "echo-pool")
    }
}

extension Configuration {
    /// The configuration changed by `change`, for expected values built in one expression.
    func with(_ change: (inout Configuration) -> Void) -> Configuration {
        var copy = self
        change(&copy)
        return copy
    }
}
