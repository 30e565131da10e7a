@testable import KonnectConfig
import Testing

@Suite("Declarative export")
struct DeclarativeExportTests {
    static let source = """
        _format_version: "3.0"
        services:
          - name: orders
            url: https://orders.internal:8443/v1
            retries: 2
            tags: [team-a, "3.0"]
            routes:
              - name: orders
                paths: [/orders, "~/orders/(?<id>\\\\d+)$"]
                methods: [GET, POST]
                hosts: ["*.example.com"]
                headers: {x-version: ["1", "~*^v2"]}
                strip_path: false
                plugins:
                  - name: cors
                    config: {origins: ["*"], max_age: 60}
        upstreams:
          - name: pool
            algorithm: consistent-hashing
            hash_on: header
            hash_on_header: x-user
            hash_fallback: ip
            targets:
              - target: "[::1]:9000"
                weight: 10
              - target: 10.0.0.2
        consumers:
          - username: alice
            custom_id: "007"
        """

    @Test func anExportLoadsBackAsTheSameConfiguration() throws {
        let original = try DeclarativeConfig.parse(Self.source)
        let yaml = original.declarativeYAML
        let reloaded = try DeclarativeConfig.parse(yaml)
        #expect(reloaded == original)
        #expect(yaml.hasPrefix("_format_version: \"3.0\"\nservices:"))
        #expect(yaml.contains("custom_id: \"007\""))  // a string that would read as a number stays quoted
    }

    @Test func aDiffNamesWhatChanges() throws {
        let before = try DeclarativeConfig.parse(Self.source)
        var after = before
        after.services[0].retries = 3
        after.consumers.removeAll()
        after.upstreams.append(Upstream(id: "0d6b7a8e-4b5c-4f3e-9a1d-2c3b4a5d6e7f", name: "extra"))
        let diff = ConfigurationDiff(from: before, to: after)
        #expect(diff.created == 1 && diff.updated == 1 && diff.deleted == 1)
        #expect(diff.lines.contains("update service orders (\(before.services[0].id))"))
        #expect(diff.lines.contains("delete consumer alice (\(before.consumers[0].id))"))
        #expect(ConfigurationDiff(from: before, to: before).isEmpty)
    }
}
