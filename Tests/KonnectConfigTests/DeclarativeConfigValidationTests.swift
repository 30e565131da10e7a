import Foundation
import Testing

@testable import KonnectConfig

/// One invalid document: the body is appended after `_format_version: "3.0"` (line 1), so its
/// first line is line 2.
struct InvalidDocument: CustomTestStringConvertible, Sendable {
    var name: String
    var body: String
    var path: String
    var line: Int?

    var testDescription: String { name }

    var text: String { "_format_version: \"3.0\"\n" + body }
}

@Suite("Declarative configuration: invalid documents")
struct DeclarativeConfigValidationTests {
    static let documents: [InvalidDocument] = [
        InvalidDocument(name: "port as a quoted string", body: """
            services:
              - host: a
                port: "80"
            """, path: "services[0].port", line: 4),
        InvalidDocument(name: "port out of range", body: """
            services:
              - host: a
                port: 70000
            """, path: "services[0].port", line: 4),
        InvalidDocument(name: "connect_timeout of zero", body: """
            services:
              - host: a
                connect_timeout: 0
            """, path: "services[0].connect_timeout", line: 4),
        InvalidDocument(name: "retries as a float", body: """
            services:
              - host: a
                retries: 2.5
            """, path: "services[0].retries", line: 4),
        InvalidDocument(name: "enabled as a quoted string", body: """
            services:
              - host: a
                enabled: "yes"
            """, path: "services[0].enabled", line: 4),
        InvalidDocument(name: "host is null", body: """
            services:
              - name: s
                host: null
            """, path: "services[0].host", line: 4),
        InvalidDocument(name: "host is missing", body: """
            services:
              - name: s
            """, path: "services[0].host", line: 3),
        InvalidDocument(name: "host with a port", body: """
            services:
              - host: a.internal:80
            """, path: "services[0].host", line: 3),
        InvalidDocument(name: "url together with host", body: """
            services:
              - url: http://a.internal
                host: b.internal
            """, path: "services[0].url", line: 3),
        InvalidDocument(name: "url without a scheme", body: """
            services:
              - url: a.internal/x
            """, path: "services[0].url", line: 3),
        InvalidDocument(name: "url with an unknown scheme", body: """
            services:
              - url: ftp://a.internal
            """, path: "services[0].url", line: 3),
        InvalidDocument(name: "service path without a leading slash", body: """
            services:
              - host: a
                path: api
            """, path: "services[0].path", line: 4),
        InvalidDocument(name: "path on a tcp service", body: """
            services:
              - host: a
                protocol: tcp
                path: /x
            """, path: "services[0].path", line: 5),
        InvalidDocument(name: "unknown protocol", body: """
            services:
              - host: a
                protocol: ftp
            """, path: "services[0].protocol", line: 4),
        InvalidDocument(name: "unknown service field", body: """
            services:
              - host: a
                hostname: b
            """, path: "services[0].hostname", line: 4),
        InvalidDocument(name: "name with a space", body: """
            services:
              - name: my service
                host: a
            """, path: "services[0].name", line: 3),
        InvalidDocument(name: "tag with a comma", body: """
            services:
              - host: a
                tags: ["a,b"]
            """, path: "services[0].tags[0]", line: 4),
        InvalidDocument(name: "id that is not a UUID", body: """
            services:
              - id: service-1
                host: a
            """, path: "services[0].id", line: 3),
        InvalidDocument(name: "services is a map", body: """
            services:
              name: a
            """, path: "services", line: 3),
        InvalidDocument(name: "paths is a string", body: """
            routes:
              - paths: /x
            """, path: "routes[0].paths", line: 3),
        InvalidDocument(name: "path without slash or tilde", body: """
            routes:
              - paths:
                  - /ok
                  - abc
            """, path: "routes[0].paths[1]", line: 5),
        InvalidDocument(name: "regex path that does not compile", body: """
            routes:
              - paths: ["~/users/(unclosed"]
            """, path: "routes[0].paths[0]", line: 3),
        InvalidDocument(name: "path with a space", body: """
            routes:
              - paths: ["/a b"]
            """, path: "routes[0].paths[0]", line: 3),
        InvalidDocument(name: "lower-case method", body: """
            routes:
              - methods: [get]
            """, path: "routes[0].methods[0]", line: 3),
        InvalidDocument(name: "host with two wildcards", body: """
            routes:
              - hosts: ["*.example.*"]
            """, path: "routes[0].hosts[0]", line: 3),
        InvalidDocument(name: "host with a wildcard in the middle", body: """
            routes:
              - hosts: ["api.*.example.com"]
            """, path: "routes[0].hosts[0]", line: 3),
        InvalidDocument(name: "Host header", body: """
            routes:
              - headers:
                  Host: [example.com]
            """, path: "routes[0].headers.Host", line: 4),
        InvalidDocument(name: "header regex that does not compile", body: """
            routes:
              - headers:
                  x-version: "~*[unclosed"
            """, path: "routes[0].headers.x-version", line: 4),
        InvalidDocument(name: "headers as a list", body: """
            routes:
              - headers: [x-a]
            """, path: "routes[0].headers", line: 3),
        InvalidDocument(name: "route that matches nothing", body: """
            routes:
              - name: empty
                strip_path: false
            """, path: "routes[0]", line: 3),
        InvalidDocument(name: "route with empty paths only", body: """
            routes:
              - paths: []
            """, path: "routes[0]", line: 3),
        InvalidDocument(name: "unsupported redirect code", body: """
            routes:
              - paths: [/x]
                https_redirect_status_code: 303
            """, path: "routes[0].https_redirect_status_code", line: 4),
        InvalidDocument(name: "protocols from two families", body: """
            routes:
              - paths: [/x]
                protocols: [http, tcp]
            """, path: "routes[0].protocols", line: 4),
        InvalidDocument(name: "unknown path_handling", body: """
            routes:
              - paths: [/x]
                path_handling: v2
            """, path: "routes[0].path_handling", line: 4),
        InvalidDocument(name: "nested route naming another service", body: """
            services:
              - name: a
                host: a
                routes:
                  - paths: [/a]
                    service: b
              - name: b
                host: b
            """, path: "services[0].routes[0].service", line: 7),
        InvalidDocument(name: "upstream without a name", body: """
            upstreams:
              - slots: 100
            """, path: "upstreams[0].name", line: 3),
        InvalidDocument(name: "upstream named by an IP address", body: """
            upstreams:
              - name: 10.0.0.1
            """, path: "upstreams[0].name", line: 3),
        InvalidDocument(name: "slots below 10", body: """
            upstreams:
              - name: pool
                slots: 5
            """, path: "upstreams[0].slots", line: 4),
        InvalidDocument(name: "hash_on header without hash_on_header", body: """
            upstreams:
              - name: pool
                algorithm: consistent-hashing
                hash_on: header
            """, path: "upstreams[0].hash_on_header", line: 3),
        InvalidDocument(name: "cookie hashing with a fallback", body: """
            upstreams:
              - name: pool
                hash_on: cookie
                hash_on_cookie: sid
                hash_fallback: ip
            """, path: "upstreams[0].hash_fallback", line: 6),
        InvalidDocument(name: "fallback equal to hash_on", body: """
            upstreams:
              - name: pool
                hash_on: ip
                hash_fallback: ip
            """, path: "upstreams[0].hash_fallback", line: 5),
        InvalidDocument(name: "fallback without hash_on", body: """
            upstreams:
              - name: pool
                hash_fallback: consumer
            """, path: "upstreams[0].hash_fallback", line: 4),
        InvalidDocument(name: "target with a bad port", body: """
            upstreams:
              - name: pool
                targets:
                  - target: a.internal:99999
            """, path: "upstreams[0].targets[0].target", line: 5),
        InvalidDocument(name: "target weight out of range", body: """
            upstreams:
              - name: pool
                targets:
                  - target: a.internal
                    weight: -1
            """, path: "upstreams[0].targets[0].weight", line: 6),
        InvalidDocument(name: "top-level target without an upstream", body: """
            targets:
              - target: a.internal:80
            """, path: "targets[0].upstream", line: 3),
        InvalidDocument(name: "consumer without username or custom_id", body: """
            consumers:
              - tags: [x]
            """, path: "consumers[0]", line: 3),
        InvalidDocument(name: "plugin without a name", body: """
            plugins:
              - config: {}
            """, path: "plugins[0].name", line: 3),
        InvalidDocument(name: "plugin config as a list", body: """
            plugins:
              - name: cors
                config: [a]
            """, path: "plugins[0].config", line: 4),
        InvalidDocument(name: "plugin protocol unknown", body: """
            plugins:
              - name: cors
                protocols: [smtp]
            """, path: "plugins[0].protocols[0]", line: 4),
        InvalidDocument(name: "reference map with both id and name", body: """
            services:
              - name: a
                host: a
            plugins:
              - name: cors
                service: {name: a, id: 0b3f6d6c-1c0e-4c59-9d43-7a1e4c9b2f10}
            """, path: "plugins[0].service", line: 7),
        InvalidDocument(name: "unknown top-level key", body: """
            servces:
              - host: a
            """, path: "servces", line: 2),
        InvalidDocument(name: "a Kong section Konnect does not read yet", body: """
            vaults: []
            """, path: "vaults", line: 2),
        InvalidDocument(name: "_transform not a boolean", body: """
            _transform: "no"
            """, path: "_transform", line: 2),
    ]

    @Test(arguments: documents)
    func anInvalidDocumentReportsTheIssueWhereItIs(document: InvalidDocument) throws {
        let found = issues(document.text)
        let issue = try #require(found.first { $0.path == document.path }, "no issue at \(document.path) in \(found)")
        if let line = document.line {
            #expect(issue.line == line, "\(issue)")
        }
        #expect(!issue.expected.isEmpty)
    }

    @Test(arguments: [
        ("", "", nil),
        ("- a\n- b\n", "", 1),
        ("services: []\n", "_format_version", 1),
        ("_format_version: \"4.0\"\n", "_format_version", 1),
        ("_format_version: 3.0\n", "_format_version", 1),
    ] as [(String, String, Int?)])
    func documentLevelProblems(text: String, path: String, line: Int?) throws {
        let found = issues(text)
        let issue = try #require(found.first { $0.path == path }, "no issue at \(path) in \(found)")
        #expect(issue.line == line)
    }

    @Test func everyProblemInADocumentIsReportedAtOnce() {
        let found = issues("""
            _format_version: "3.0"
            services:
              - name: a
                host: a
                port: "80"
                retries: -1
                routes:
                  - paths: [nope]
                    methods: [get]
            upstreams:
              - name: pool
                slots: 1
            plugins:
              - name: not-a-plugin
            """)
        #expect(Set(found.map(\.path)) == [
            "services[0].port", "services[0].retries", "services[0].routes[0].paths[0]",
            "services[0].routes[0].methods[0]", "upstreams[0].slots", "plugins[0].name",
        ])
        #expect(found.map(\.line) == [5, 6, 8, 9, 12, 14], "issues are ordered by line")
    }

    @Test func anUnknownPluginNameIsNamedAndAClosePluginSuggested() throws {
        let found = issues("""
            _format_version: "3.0"
            plugins:
              - name: rate-limitting
              - name: totally-unknown
            """)
        let misspelled = try #require(found.first { $0.path == "plugins[0].name" })
        #expect(misspelled.value == "rate-limitting")
        #expect(misspelled.expected.contains("\"rate-limiting\""))
        let unknown = try #require(found.first { $0.path == "plugins[1].name" })
        #expect(unknown.value == "totally-unknown")
        #expect(unknown.line == 4)
    }

    @Test func everyKnownPluginNameIsAccepted() throws {
        #expect(KnownPlugins.names.isSuperset(of: ["key-auth", "rate-limiting", "ai-proxy", "ai-prompt-guard", "prometheus"]))
        // The few plugins whose config has required fields get them.
        let needed = [
            "acl": "{allow: [staff]}", "ip-restriction": "{allow: [10.0.0.0/8]}", "rate-limiting": "{minute: 5}",
            "oauth2-introspection": "{introspection_url: \"https://idp.example/introspect\", authorization_value: \"Basic eDp5\"}",
            "ai-proxy": "{model: {provider: openai, name: gpt-4o-mini}}",
            "ai-gateway": "{models: [{name: chat, deployments: [{provider: openai, model: gpt-4o-mini}]}]}",
        ]
        let plugins = KnownPlugins.names.sorted()
            .map { name in "  - name: \(name)" + (needed[name].map { "\n    config: \($0)" } ?? "") }
            .joined(separator: "\n")
        let configuration = try #require(parseValid("_format_version: \"3.0\"\nplugins:\n" + plugins))
        #expect(configuration.plugins.count == KnownPlugins.names.count)
    }

    @Test func referencesThatDoNotResolveAreReportedAtTheReferringField() {
        let found = issues("""
            _format_version: "3.0"
            services:
              - name: real
                host: real.internal
            routes:
              - paths: [/x]
                service: missing
            targets:
              - target: 10.0.0.1
                upstream: no-such-pool
            plugins:
              - name: cors
                route: {name: ghost}
              - name: acl
                config: {allow: [staff]}
                consumer: {id: 6e7f8a9b-0c1d-4e2f-9a3b-5c6d7e8f9a0b}
            """)
        let byPath = Dictionary(found.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(byPath["routes[0].service"]?.value == "missing")
        #expect(byPath["routes[0].service"]?.line == 7)
        #expect(byPath["targets[0].upstream"]?.value == "no-such-pool")
        #expect(byPath["plugins[0].route.name"]?.value == "ghost")
        #expect(byPath["plugins[1].consumer.id"]?.value == "6e7f8a9b-0c1d-4e2f-9a3b-5c6d7e8f9a0b")
        #expect(found.count == 4, "\(found)")
    }

    @Test func duplicateNamesAndIDsAreReportedAtTheLaterDuplicate() {
        let found = issues("""
            _format_version: "3.0"
            services:
              - name: api
                host: a
                routes:
                  - name: main
                    paths: [/a]
              - name: api
                host: b
                routes:
                  - name: main
                    paths: [/b]
            upstreams:
              - id: 3b4c5d6e-7f8a-4b9c-8d0e-2f3a4b5c6d7e
                name: pool
                targets:
                  - target: 10.0.0.1:80
                  - target: 10.0.0.1:80
              - id: 3b4c5d6e-7f8a-4b9c-8d0e-2f3a4b5c6d7e
                name: other-pool
            consumers:
              - username: dana
                custom_id: c-1
              - username: dana
              - custom_id: c-1
            plugins:
              - name: cors
              - name: cors
            """)
        let paths = Set(found.map(\.path))
        #expect(paths == [
            "services[1].name", "services[1].routes[0].name", "upstreams[0].targets[1].target",
            "upstreams[1].id", "consumers[1].username", "consumers[2].custom_id", "plugins[1].name",
        ], "\(found)")
        let service = found.first { $0.path == "services[1].name" }
        #expect(service?.line == 8)
        #expect(service?.expected.contains("services[0]") == true)
    }

    @Test func aSameNamedTargetInAnotherUpstreamIsFine() throws {
        let configuration = try #require(parseValid("""
            _format_version: "3.0"
            upstreams:
              - name: one
                targets: [{target: "10.0.0.1:80"}]
              - name: two
                targets: [{target: "10.0.0.1:80"}]
            """))
        #expect(Set(configuration.targets.map(\.id)).count == 2)
    }

    @Test func aSyntaxErrorIsOneIssueWithItsLine() throws {
        let found = issues("""
            _format_version: "3.0"
            services:
              - name: a
                host: [unclosed
            routes: []
            """)
        #expect(found.count == 1)
        let issue = try #require(found.first)
        #expect(issue.path == "")
        #expect(issue.line != nil)
        #expect(issue.expected.contains("YAML or JSON"))
    }

    @Test func aRepeatedKeyIsReported() throws {
        let found = issues("""
            _format_version: "3.0"
            services: []
            services: []
            """)
        let issue = try #require(found.first)
        #expect(found.count == 1)
        #expect(issue.value == "services")
        #expect(issue.line == 3, "the issue points at the repeated key")
    }

    @Test func jsonDocumentsReportLinesToo() throws {
        let found = issues("""
            {
              "_format_version": "3.0",
              "services": [
                {"name": "a", "host": "a",
                 "port": "8080"}
              ]
            }
            """)
        let issue = try #require(found.first)
        #expect(issue.path == "services[0].port")
        #expect(issue.line == 5)
        #expect(issue.column == 14)
        #expect(issue.value == "8080")
    }

    @Test func jsonSyntaxErrorsReportTheirLine() throws {
        let found = issues("""
            {
              "_format_version": "3.0",
              "services": [
                {"name": "a" "host": "a"}
              ]
            }
            """)
        let issue = try #require(found.first)
        #expect(issue.line == 4)
    }

    @Test func anUnreadableFileIsOneIssueAtTheRoot() {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("konnect-missing-\(UUID().uuidString).yaml").path
        do {
            _ = try DeclarativeConfig.load(path: path)
            Issue.record("a missing file loaded")
        } catch {
            #expect(error.source == path)
            #expect(error.issues.count == 1)
            #expect(error.issues.first?.path == "")
        }
    }

    @Test func aLoadedFileNamesItselfInTheError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("konnect-\(UUID().uuidString).yaml").path
        try "_format_version: \"3.0\"\nservices:\n  - port: 1\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try DeclarativeConfig.load(path: path)
            Issue.record("a file without a service host loaded")
        } catch {
            #expect(error.source == path)
            #expect(error.description.hasPrefix("\(path): 1 problem"))
            #expect(error.issues.first?.path == "services[0].host")
        }
    }

    @Test func issueDescriptionsReadAsOneSentence() {
        let issue = ConfigIssue(
            path: "services[1].routes[0].paths[2]", value: "abc", expected: "a path starting with '/' or '~'",
            line: 12, column: 9
        )
        #expect(issue.description == "services[1].routes[0].paths[2]: expected a path starting with '/' or '~', got \"abc\" (line 12, column 9)")
        let long = ConfigIssue(path: "x", value: String(repeating: "a", count: 500), expected: "short")
        #expect(long.value?.count == ConfigIssue.maximumValueLength)
        #expect(long.value?.hasSuffix("…") == true)
    }

    @Test func aMisspelledFieldSuggestsTheRightOne() throws {
        let found = issues("""
            _format_version: "3.0"
            services:
              - host: a
                conect_timeout: 10
            """)
        let issue = try #require(found.first)
        #expect(issue.path == "services[0].conect_timeout")
        #expect(issue.expected.contains("\"connect_timeout\""))
    }
}
