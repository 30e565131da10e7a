import KonnectConfig
import Testing

/// Plugin configs are checked against their schema when written, with defaults filled in.
@Suite("Plugin schemas")
struct PluginSchemaTests {
    func issues(_ plugin: String) -> [ConfigIssue] {
        do {
            _ = try DeclarativeConfig.parse("_format_version: \"3.0\"\nplugins:\n" + plugin)
            return []
        } catch {
            return error.issues
        }
    }

    @Test func defaultsAreFilledIn() throws {
        let configuration = try DeclarativeConfig.parse("""
            _format_version: "3.0"
            plugins:
              - name: key-auth
                config: {key_names: [x-api-key]}
            """)
        let config = try #require(configuration.plugins.first?.config)
        #expect(config["key_names"] == .array([.string("x-api-key")]))
        #expect(config["hide_credentials"] == .bool(false))
        #expect(config["key_in_query"] == .bool(true))
        #expect(config["anonymous"] == .null)
    }

    /// Kong's older flat Redis fields and its sync_rate, as configs written for Kong carry them.
    @Test func kongsFlatRedisFieldsAreReadIntoTheRedisRecord() throws {
        let configuration = try DeclarativeConfig.parse("""
            _format_version: "3.0"
            plugins:
              - name: rate-limiting
                config: {minute: 5, policy: redis, redis_host: cache.internal, redis_port: 6380, redis_database: 2,
                         redis_timeout: 500, sync_rate: 10, redis: {password: given}, redis_password: ignored}
            """)
        let config = try #require(configuration.plugins.first?.config)
        #expect(config["redis"]?["host"] == .string("cache.internal"))
        #expect(config["redis"]?["port"] == .number(6380))
        #expect(config["redis"]?["database"] == .number(2))
        #expect(config["redis"]?["timeout"] == .number(500))
        // Given under its own name too: that one is kept.
        #expect(config["redis"]?["password"] == .string("given"))
        #expect(config["redis_host"] == nil)
        #expect(config["sync_rate"] == .number(10))
    }

    @Test(arguments: [
        ("  - name: key-auth\n    config: {hide_credential: true}", "plugins[0].config.hide_credential", "did you mean \"hide_credentials\"", 4),
        ("  - name: key-auth\n    config: {key_names: [\"bad header\"]}", "plugins[0].config.key_names[0]", "a header name", 4),
        ("  - name: acl\n    config: {allow: [a], deny: [b]}", "plugins[0].config.deny", "only one of allow and deny", 4),
        ("  - name: acl\n    config: {}", "plugins[0].config.allow", "exactly one of allow and deny", 4),
        ("  - name: ip-restriction\n    config:\n      allow: [10.0.0.0/8, 10.0.0.0/33]", "plugins[0].config.allow[1]", "CIDR", 5),
        ("  - name: cors\n    config: {methods: [GET, FETCH]}", "plugins[0].config.methods[1]", "one of \"GET\"", 4),
        ("  - name: request-termination\n    config: {status_code: 700}", "plugins[0].config.status_code", "from 100 to 599", 4),
        ("  - name: request-termination\n    config: {status_code: \"503\"}", "plugins[0].config.status_code", "an integer", 4),
        ("  - name: jwt\n    config: {maximum_expiration: 60}", "plugins[0].config.claims_to_verify", "containing \"exp\"", 4),
        ("  - name: bot-detection\n    config: {deny: [\"(unclosed\"]}", "plugins[0].config.deny[0]", "regular expression", 4),
        ("  - name: oauth2-introspection", "plugins[0].config.introspection_url", "the field is required", 3),
        ("  - name: key-auth\n    config: [1]", "plugins[0].config", "a map", 4),
        ("  - name: request-transformer\n    config: {add: {headers: [no-colon]}}", "plugins[0].config.add.headers[0]", "`name:value`", 4),
        ("  - name: request-transformer\n    config: {remove: {headers: [Host]}}", "plugins[0].config.remove.headers[0]", "other than Host", 4),
        ("  - name: request-transformer\n    config: {http_method: HEAD}", "plugins[0].config.http_method", "one of", 4),
        ("  - name: response-transformer\n    config: {add: {json_types: [date]}}", "plugins[0].config.add.json_types[0]", "one of", 4),
        ("  - name: rate-limiting\n    config: {limit_by: ip}", "plugins[0].config.minute", "at least one of second", 4),
        ("  - name: rate-limiting\n    config: {minute: 10, hour: 5}", "plugins[0].config.hour", "at least minute's limit (10)", 4),
        ("  - name: rate-limiting\n    config: {minute: 0}", "plugins[0].config.minute", "of at least 1", 4),
        ("  - name: rate-limiting\n    config: {minute: 5, limit_by: header}", "plugins[0].config.header_name", "required when limit_by is header", 4),
        ("  - name: rate-limiting\n    config: {minute: 5, policy: redis}", "plugins[0].config.redis.host", "required with the redis policy", 4),
        ("  - name: rate-limiting\n    config: {minute: 5, policy: cluster}", "plugins[0].config.policy", "one of \"local\"", 4),
        ("  - name: rate-limiting\n    config: {minute: 5, redis: {port: 0}}", "plugins[0].config.redis.port", "from 1 to 65535", 4),
        // A timeout whose nanoseconds an Int64 cannot hold; YAML's infinity (JSON has none).
        ("  - name: rate-limiting\n    config: {minute: 5, redis: {timeout: 10000000000000}}", "plugins[0].config.redis.timeout", "from 1 to 2147483646", 4),
        ("  - name: rate-limiting\n    config: {minute: .inf}", "plugins[0].config.minute", "a number", 4),
        ("  - name: cors\n    config: {max_age: .nan}", "plugins[0].config.max_age", "a number", 4),
    ])
    func badConfigIsReportedAtTheField(plugin: String, path: String, expected: String, line: Int) {
        let found = issues(plugin)
        let issue = found.first { $0.path == path }
        #expect(issue != nil, "\(found)")
        #expect(issue?.expected.contains(expected) == true, "\(String(describing: issue))")
        #expect(issue?.line == line)
    }

    @Test func theSchemaIsShownInKongsShape() throws {
        let schema = try #require(PluginSchema.named("key-auth"))
        guard case .array(let fields)? = schema.kongJSON["fields"],
              let config = fields.compactMap({ $0["config"] }).first,
              case .array(let configFields)? = config["fields"]
        else { Issue.record("no config record"); return }
        let keyNames = try #require(configFields.compactMap { $0["key_names"] }.first)
        #expect(keyNames["type"] == .string("array"))
        #expect(keyNames["default"] == .array([.string("apikey")]))
        #expect(keyNames["description"]?.string?.isEmpty == false)
        #expect(PluginSchema.named("ai-prompt-guard") == nil)  // known by name, not implemented yet
    }
}
