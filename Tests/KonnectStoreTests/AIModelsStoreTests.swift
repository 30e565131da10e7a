import Foundation
import GRDB
import KonnectConfig
@testable import KonnectStore
import Testing

/// AI models (`ai_models`) in the SQLite store, through the control plane.
@Suite("Control plane: AI models")
struct AIModelsStoreTests {
    static let model = #"""
        {"name": "chat-default", "routing": "weighted", "tags": ["ai"], "deployments": [
            {"provider": "anthropic", "model": "claude-sonnet-4-5", "auth": {"header_value": "{env://ANTHROPIC_API_KEY}"}},
            {"provider": "openai", "model": "gpt-4o-mini", "weight": 3, "price": {"input": 0.15, "output": 0.6}}
        ]}
        """#

    @Test func aModelIsStoredWithItsDefaultsAndReadBackUnchanged() async throws {
        let directory = DataDirectory()
        let (control, published) = try directory.open()
        let created = try await control.create(.aiModels, body: object(Self.model))
        guard case .aiModel(let model) = created.entity else {
            Issue.record("not an AI model: \(created.entity)")
            return
        }
        #expect(model.name == "chat-default" && model.routing == "weighted" && model.cooldown == 30)
        #expect(model.deployments.map { $0["weight"] } == [.number(1), .number(3)])
        #expect(model.deployments[0]["timeout"] == .number(60_000))
        #expect(published.last?.aiModels == [model])
        #expect(try await control.find(.aiModels, "chat-default").entity.id == model.id)

        let (reopened, _) = try directory.open()
        let loaded = try await reopened.loadFromStore()
        #expect(loaded == published.last)
        #expect(try await reopened.find(.aiModels, "chat-default").createdAt == created.createdAt)
    }

    @Test func aPatchOfTheDeploymentsReplacesThemAndIsPublished() async throws {
        let (control, published) = try DataDirectory().open()
        let created = try await control.create(.aiModels, body: object(Self.model))
        guard case .array(var deployments)? = created.json["deployments"], case .object(var second) = deployments[1] else {
            Issue.record("no deployments: \(created.json)")
            return
        }
        second["weight"] = .number(7)
        deployments[1] = .object(second)
        let patched = try await control.update(.aiModels, "chat-default", body: .object(["deployments": .array(deployments)]))
        #expect(patched.json["deployments"]?.arrayValue?.map { $0["weight"] } == [.number(1), .number(7)])
        #expect(patched.json["routing"] == .string("weighted"))  // what the patch leaves out stays
        #expect(published.last?.aiModels.first?.deployments[1]["weight"] == .number(7))

        do {
            _ = try await control.update(.aiModels, "chat-default", body: object(#"{"deployments": [{"provider": "nobody", "model": "x"}]}"#))
            Issue.record("an unknown provider was taken")
        } catch {
            let error = try #require(error as? EntityError)
            #expect(error.status == 400)
            #expect(error.body["fields"]?["deployments"]?.arrayValue?.first?["provider"]?.string?.contains("one of") == true)
        }
        #expect(published.last?.aiModels.first?.deployments.count == 2)
    }

    @Test func anOlderDatabaseIsMigratedAndKeepsWhatItHeld() async throws {
        let directory = DataDirectory()
        // The database as Konnect left it before AI models existed.
        let old = try SQLiteStore(directory: directory.path)
        try old.migrate(upTo: "003_service_client_certificate")
        #expect(try old.migrationStatus().pending == ["004_ai_models", "005_consumer_groups", "006_plugins_consumer_group"])
        let before = ControlPlane(store: old) { _ in }
        let service = try await before.create(.services, body: object(#"{"name": "orders", "host": "orders.internal"}"#))
        // A plugin as Konnect stored it before plugins had a consumer group column.
        let pluginID = UUID().uuidString.lowercased()
        try await DatabaseQueue(path: old.path).write { db in
            try db.execute(
                sql: "INSERT INTO plugins (id, created_at, updated_at, entity, service_id) VALUES (?, 1, 1, ?, ?)",
                arguments: [pluginID, #"{"name": "cors", "service": {"id": "\#(service.entity.id)"}, "consumer": null}"#, service.entity.id])
        }

        let (control, published) = try directory.open()  // migrates, as `konnect serve` does
        #expect(try SQLiteStore(directory: directory.path).migrationStatus().pending.isEmpty)
        let loaded = try await control.loadFromStore()
        #expect(loaded.services.map(\.id) == [service.entity.id])
        // Plugins gained a consumer group column (006); one stored before has none.
        #expect(loaded.plugins.map(\.id) == [pluginID])
        #expect(loaded.plugins.first?.serviceID == service.entity.id)
        #expect(loaded.plugins.first?.consumerGroupID == nil)
        #expect(loaded.aiModels.isEmpty)
        _ = try await control.create(.aiModels, body: object(Self.model))
        let (reopened, _) = try directory.open()
        #expect(try await reopened.loadFromStore() == published.last)
        #expect(published.last?.aiModels.map(\.name) == ["chat-default"])
    }
}

extension JSONValue {
    var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}
