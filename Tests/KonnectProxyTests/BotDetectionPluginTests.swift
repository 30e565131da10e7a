import KonnectConfig
import KonnectProxy
import Testing

/// bot-detection by User-Agent: the built-in list, deny patterns, and allow patterns that win.
@Suite("Plugins: bot-detection")
struct BotDetectionPluginTests {
    @Test(arguments: [
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 403),
        ("Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", 200),
        ("sqlmap/1.7", 403),
        ("BadClient/1.0", 403),          // deny pattern
        ("FriendlyBot/3.0 (partner)", 200),  // allow pattern wins over the built-in list
        ("curl/8.5.0", 200),
    ])
    func userAgentsAreSorted(agent: String, status: Int) async throws {
        let config: JSONValue = .object(["deny": .array([.string("^BadClient")]), "allow": .array([.string("FriendlyBot")])])
        try await withProxy(configure: {
            pluginConfiguration(port: $0[0], plugins: [Plugin(id: "p-bot", name: "bot-detection", config: config)])
        }) { fx in
            let client = try await fx.client()
            defer { client.close() }
            #expect(try await client.get("/x", headers: [("User-Agent", agent)]).status == status)
        }
    }
}
