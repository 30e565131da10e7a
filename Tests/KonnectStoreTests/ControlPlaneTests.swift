import Foundation
import KonnectConfig
import Synchronization
@testable import KonnectStore
import Testing

/// A temporary data directory, removed when the test ends.
final class DataDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "konnect-store-\(UUID().uuidString)"
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// A control plane over the store in this directory, as `konnect serve` opens it; what it
    /// publishes is recorded.
    func open(published: Published = Published()) throws -> (ControlPlane, Published) {
        let store = try SQLiteStore(directory: path)
        try store.migrate()
        let control = ControlPlane(store: store) { configuration in published.append(configuration) }
        return (control, published)
    }
}

/// The configurations a control plane handed to the data plane.
final class Published: Sendable {
    private let list = Mutex<[Configuration]>([])
    func append(_ configuration: Configuration) { list.withLock { $0.append(configuration) } }
    var all: [Configuration] { list.withLock { $0 } }
    var last: Configuration? { all.last }
}

func object(_ text: String) throws -> JSONValue {
    try JSONValue.parse(text)
}

@Suite("Control plane over SQLite")
struct ControlPlaneTests {
    @Test func entitiesSurviveARestartWithTheirIdsAndTimes() async throws {
        let directory = DataDirectory()
        let (control, published) = try directory.open()
        let service = try await control.create(.services, body: object(#"{"name": "orders", "url": "http://orders.internal:8080/v1"}"#))
        let route = try await control.create(.routes, body: object(#"{"name": "orders", "paths": ["/orders"]}"#),
                                             in: .init(field: .service, parent: "orders"))
        #expect(published.all.count == 2)
        #expect(published.last?.routes.first?.serviceID == service.entity.id)

        let (reopened, _) = try directory.open()
        let loaded = try await reopened.loadFromStore()
        #expect(loaded.services.map(\.id) == [service.entity.id])
        #expect(loaded.services.first?.host == "orders.internal")
        #expect(loaded.services.first?.path == "/v1")
        #expect(loaded.routes.map(\.id) == [route.entity.id])
        #expect(loaded.routes.first?.serviceID == service.entity.id)
        let again = try await reopened.find(.routes, "orders")
        #expect(again.createdAt == route.createdAt)
    }

    @Test func thePublishedConfigurationFollowsEachChangeInOrder() async throws {
        let directory = DataDirectory()
        let (control, published) = try directory.open()
        _ = try await control.create(.services, body: object(#"{"name": "s", "host": "s.internal"}"#))
        for name in ["a", "b", "c", "d"] {
            _ = try await control.create(.routes, body: object(#"{"name": "\#(name)", "paths": ["/\#(name)"]}"#),
                                         in: .init(field: .service, parent: "s"))
        }
        try await control.delete(.routes, "b")
        _ = try await control.update(.routes, "c", body: object(#"{"paths": ["/c2"]}"#))
        try await control.delete(.routes, "a")
        _ = try await control.create(.routes, body: object(#"{"name": "e", "paths": ["/e"]}"#))
        let last = try #require(published.last)
        #expect(last.routes.map(\.name) == ["c", "d", "e"])
        #expect(last.routes.map(\.paths) == [["/c2"], ["/d"], ["/e"]])
        _ = try await control.update(.routes, "d", body: object(#"{"paths": ["/d2"]}"#))  // after the moves
        #expect(published.last?.routes.map(\.paths) == [["/c2"], ["/d2"], ["/e"]])

        let (reopened, _) = try directory.open()
        #expect(try await reopened.loadFromStore() == published.last)
    }

    @Test func aChangeFromAnotherProcessIsPickedUp() async throws {
        let directory = DataDirectory()
        let (node, published) = try directory.open()
        _ = try await node.loadFromStore()
        _ = try await node.create(.services, body: object(#"{"name": "own", "host": "own.internal"}"#))
        #expect(try await node.reloadIfChangedElsewhere() == false)  // its own write is not news

        let (other, _) = try directory.open()  // another connection, as `konnect config apply` opens
        _ = try await other.loadFromStore()
        _ = try await other.create(.services, body: object(#"{"name": "theirs", "host": "theirs.internal"}"#))

        #expect(try await node.reloadIfChangedElsewhere() == true)
        #expect(published.last?.services.compactMap(\.name) == ["own", "theirs"])
        #expect(try await node.find(.services, "theirs").entity.uniqueName == "theirs")
        #expect(try await node.reloadIfChangedElsewhere() == false)
    }

    @Test func concurrentWritersNeverLeaveAHalfAppliedChange() async throws {
        let directory = DataDirectory()
        let (control, published) = try directory.open()
        _ = try await control.create(.upstreams, body: object(#"{"name": "pool"}"#))
        // 40 writers at once: 20 race for one name, 20 add targets to the same upstream.
        let outcomes = await withTaskGroup(of: Int.self) { group in
            for index in 0..<40 {
                group.addTask {
                    do {
                        if index.isMultiple(of: 2) {
                            _ = try await control.create(.services, body: object(#"{"name": "contested", "host": "h\#(index).internal"}"#))
                        } else {
                            _ = try await control.create(.targets, body: object(#"{"target": "10.0.0.\#(index):80"}"#),
                                                         in: .init(field: .upstream, parent: "pool"))
                        }
                        return 201
                    } catch let error as EntityError {
                        return error.status
                    } catch {
                        return 0
                    }
                }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == 201 }.count == 21)  // one service, twenty targets
        #expect(outcomes.filter { $0 == 409 }.count == 19)
        let (reopened, _) = try directory.open()
        let stored = try await reopened.loadFromStore()
        #expect(stored.services.count == 1 && stored.targets.count == 20)
        #expect(published.last == stored)
    }

    @Test func everyBadFieldIsNamedAndNothingIsStored() async throws {
        let directory = DataDirectory()
        let (control, published) = try directory.open()
        do {
            _ = try await control.create(.services, body: object(#"{"name": "x y", "port": 70000, "host": "a/b", "colour": 1}"#))
            Issue.record("expected a schema violation")
        } catch {
            let error = try #require(error as? EntityError)
            #expect(error.status == 400)
            #expect(error.body["code"] == .number(2))
            guard case .object(let fields)? = error.body["fields"] else {
                Issue.record("no fields object")
                return
            }
            #expect(Set(fields.keys) == ["name", "port", "host", "colour"])
        }
        #expect(published.all.isEmpty)
        let (reopened, _) = try directory.open()
        #expect(try await reopened.loadFromStore().services.isEmpty)
    }

    /// A field whose name looks like a list index (`a[-1]`, `a[99999999999]`) is named as it is
    /// written, not taken for a place in a list.
    @Test func fieldNamesThatLookLikeIndexesAreNamedAsWritten() async throws {
        let (control, _) = try DataDirectory().open()
        for (kind, body) in [
            (EntityKind.services, #"{"host": "a.internal", "x[-1]": 1, "y[99999999999]": 2}"#),
            (.aiModels, #"{"name": "m", "deployments": [{"provider": "openai", "model": "a", "options": {"z[-3]": 1}}]}"#),
        ] {
            do {
                _ = try await control.create(kind, body: object(body))
                Issue.record("\(kind) was created")
            } catch {
                let error = try #require(error as? EntityError)
                #expect(error.status == 400)
                #expect(error.body["fields"] != nil)
                #expect(error.body.jsonText.count < 5000)  // no list padded to the "index"
            }
        }
    }

    @Test func uniqueNamesAreEnforcedWithA409() async throws {
        let directory = DataDirectory()
        let (control, _) = try directory.open()
        _ = try await control.create(.services, body: object(#"{"name": "a", "host": "a.internal"}"#))
        await #expect(throws: EntityError.self) {
            _ = try await control.create(.services, body: object(#"{"name": "a", "host": "b.internal"}"#))
        }
        do {
            _ = try await control.create(.services, body: object(#"{"name": "a", "host": "b.internal"}"#))
        } catch {
            let error = try #require(error as? EntityError)
            #expect(error.status == 409)
            #expect(error.body["name"] == .string("unique constraint violation"))
        }
        #expect(try await control.list(.services).records.count == 1)
    }

    /// Only one plugin of a name can apply at one scope, so a second one is refused, as Kong's
    /// cache key refuses it; the same name at another scope, or the plugin itself replaced, is not.
    @Test func aSecondPluginOfANameAtTheSameScopeIsA409() async throws {
        let (control, _) = try DataDirectory().open()
        _ = try await control.create(.services, body: object(#"{"name": "s", "host": "s.internal"}"#))
        _ = try await control.create(.routes, body: object(#"{"name": "r", "paths": ["/"], "service": {"name": "s"}}"#))
        let first = try await control.create(.plugins, body: object(#"{"name": "rate-limiting", "config": {"minute": 5}, "route": {"name": "r"}}"#))
        do {
            _ = try await control.create(.plugins, body: object(#"{"name": "rate-limiting", "config": {"minute": 9}, "route": {"name": "r"}}"#))
            Issue.record("a second rate-limiting plugin on the route was taken")
        } catch {
            let error = try #require(error as? EntityError)
            #expect(error.status == 409)
            #expect(error.body["fields"]?["name"] == .string("rate-limiting"))
        }
        _ = try await control.create(.plugins, body: object(#"{"name": "rate-limiting", "config": {"minute": 9}, "service": {"name": "s"}}"#))
        _ = try await control.upsert(.plugins, first.entity.id, body: object(#"{"name": "rate-limiting", "config": {"minute": 7}, "route": {"name": "r"}}"#))
        #expect(await control.configuration.plugins.count == 2)
    }

    @Test func aReferenceToNothingIsRefused() async throws {
        let (control, _) = try DataDirectory().open()
        do {
            _ = try await control.create(.routes, body: object(#"{"paths": ["/"], "service": {"name": "ghost"}}"#))
            Issue.record("expected a foreign key violation")
        } catch {
            let error = try #require(error as? EntityError)
            #expect(error.status == 400)
            #expect(error.body["code"] == .number(4))
            #expect(error.body["fields"]?["service"]?["name"] == .string("ghost"))
        }
    }

    @Test func deletingFollowsKongsRules() async throws {
        let directory = DataDirectory()
        let (control, published) = try directory.open()
        _ = try await control.create(.services, body: object(#"{"name": "s", "host": "s.internal"}"#))
        _ = try await control.create(.routes, body: object(#"{"name": "r", "paths": ["/"], "service": {"name": "s"}}"#))
        _ = try await control.create(.plugins, body: object(#"{"name": "cors", "service": {"name": "s"}}"#))
        _ = try await control.create(.upstreams, body: object(#"{"name": "pool"}"#))
        _ = try await control.create(.targets, body: object(#"{"target": "10.0.0.1:80"}"#), in: .init(field: .upstream, parent: "pool"))

        // Routes hold on to their service.
        do {
            try await control.delete(.services, "s")
            Issue.record("a service in use was deleted")
        } catch {
            #expect(error.status == 400)
            #expect(error.body["fields"]?["@referenced_by"] == .string("routes"))
        }
        try await control.delete(.routes, "r")
        try await control.delete(.services, "s")  // its plugin goes with it
        try await control.delete(.upstreams, "pool")  // and its targets
        try await control.delete(.services, "never-existed")  // deleting nothing succeeds

        let final = try #require(published.last)
        #expect(final.services.isEmpty && final.routes.isEmpty && final.plugins.isEmpty)
        #expect(final.upstreams.isEmpty && final.targets.isEmpty)
        let (reopened, _) = try directory.open()
        #expect(try await reopened.loadFromStore() == Configuration.empty)
    }

    @Test func patchChangesOnlyWhatItGives() async throws {
        let directory = DataDirectory()
        let store = try SQLiteStore(directory: directory.path)
        try store.migrate()
        let times = Mutex(1000)
        let control = ControlPlane(store: store, now: { times.withLock { $0 } }) { _ in }
        let created = try await control.create(.services, body: object(#"{"name": "s", "host": "old.internal", "retries": 2}"#))
        times.withLock { $0 = 2000 }
        let patched = try await control.update(.services, "s", body: object(#"{"url": "https://new.internal:8443/api"}"#))
        guard case .service(let service) = patched.entity else {
            Issue.record("not a service")
            return
        }
        #expect(service.host == "new.internal" && service.port == 8443 && service.protocol == "https" && service.path == "/api")
        #expect(service.retries == 2)
        #expect(patched.entity.id == created.entity.id)
        #expect(patched.createdAt == 1000 && patched.updatedAt == 2000)
        await #expect(throws: EntityError.self) {
            _ = try await control.update(.services, "missing", body: object(#"{"retries": 1}"#))
        }
    }

    @Test func putByNameCreatesThenReplaces() async throws {
        let (control, _) = try DataDirectory().open()
        let first = try await control.upsert(.services, "billing", body: object(#"{"host": "billing.internal", "retries": 1}"#))
        let second = try await control.upsert(.services, "billing", body: object(#"{"host": "billing2.internal"}"#))
        #expect(first.entity.id == second.entity.id)
        guard case .service(let service) = second.entity else { return }
        #expect(service.name == "billing" && service.host == "billing2.internal")
        #expect(service.retries == 5)  // PUT replaces: what the body leaves out gets its default
        let id = "7d2c4c5e-0f4b-4b5e-9a55-0f6e8f3b1c2a"
        let byID = try await control.upsert(.services, id, body: object(#"{"name": "by-id", "host": "x.internal"}"#))
        #expect(byID.entity.id == id)
    }

    @Test func listsPageAndFilterByTags() async throws {
        let (control, _) = try DataDirectory().open()
        for index in 1...5 {
            let tags = index % 2 == 0 ? #"["even", "all"]"# : #"["odd", "all"]"#
            _ = try await control.create(.services, body: object(#"{"name": "s\#(index)", "host": "h\#(index).internal", "tags": \#(tags)}"#))
        }
        var names: [String] = []
        var offset: String?
        var pages = 0
        repeat {
            let page = try await control.list(.services, size: 2, offset: offset)
            names += page.records.compactMap(\.entity.uniqueName)
            offset = page.nextOffset
            pages += 1
        } while offset != nil
        #expect(names == ["s1", "s2", "s3", "s4", "s5"])
        #expect(pages == 3)
        #expect(try await control.list(.services, tags: ["even", "all"]).records.count == 2)
        #expect(try await control.list(.services, tags: ["even", "odd"], matchAll: false).records.count == 5)
        #expect(try await control.list(.services, tags: ["even", "odd"]).records.isEmpty)
    }

    @Test func aDeclarativeNodeOnlyTakesWholeConfigurations() async throws {
        let published = Published()
        let control = ControlPlane(store: nil) { published.append($0) }
        do {
            _ = try await control.create(.services, body: object(#"{"host": "a.internal"}"#))
            Issue.record("a declarative node took a single write")
        } catch {
            let error = try #require(error as? EntityError)
            #expect(error.status == 405)
        }
        let configuration = try DeclarativeConfig.parse("""
            _format_version: "3.0"
            services:
              - name: a
                url: http://a.internal
                routes: [{name: r, paths: [/a]}]
            """)
        try await control.replaceAll(with: configuration)
        #expect(published.last == configuration)
        #expect(try await control.find(.routes, "r").entity.references[.service] == configuration.services[0].id)
    }
}
