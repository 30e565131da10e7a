import Foundation
import KonnectConfig
@testable import KonnectProxy
import KonnectStore
import Testing

/// Changes made through the control plane (as the Admin API makes them) reach the running proxy,
/// and never fail a request on the way.
@Suite("Admin changes under load")
struct AdminChangesUnderLoadTests {
    @Test func aChangeEveryFewMillisecondsFailsNoRequest() async throws {
        let directory = NSTemporaryDirectory() + "konnect-live-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try SQLiteStore(directory: directory)
        try store.migrate()
        try await withProxy(configure: { _ in .empty }) { fx in
            let control = ControlPlane(store: store) { try await fx.runtime.apply($0) }
            _ = try await control.create(.services, body: JSONValue.parse(#"{"name": "echo", "url": "http://127.0.0.1:\#(fx.origin.port)"}"#))
            _ = try await control.create(.routes, body: JSONValue.parse(#"{"name": "a", "paths": ["/a"]}"#),
                                         in: .init(field: .service, parent: "echo"))
            let failures = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        let client = try await fx.client()
                        defer { client.close() }
                        // Each failure says which request it was and what the one before it
                        // answered, so that a rare one can be told apart from load.
                        var failed: [String] = []
                        var previous = "none"
                        for index in 0..<150 {
                            do {
                                let response = try await client.get("/a/x")
                                if response.status != 200 { failed.append("request \(index): status \(response.status)") }
                                previous = "\(response.status), Connection: \(response.header("connection") ?? "-")"
                            } catch {
                                failed.append("request \(index): \(error); the one before answered \(previous)")
                                break
                            }
                        }
                        return failed
                    }
                }
                group.addTask {
                    for round in 0..<40 {
                        // Alternately strip the prefix or not, and add a route each time.
                        _ = try await control.update(.routes, "a", body: JSONValue.parse(#"{"strip_path": \#(round % 2 == 0)}"#))
                        _ = try await control.create(.routes, body: JSONValue.parse(#"{"paths": ["/extra-\#(round)"]}"#),
                                                     in: .init(field: .service, parent: "echo"))
                        try await Task.sleep(nanoseconds: 5_000_000)
                    }
                    return []
                }
                return try await group.reduce([], +)
            }
            #expect(failures == [])
            let client = try await fx.client()
            defer { client.close() }
            let last = try await client.get("/extra-39/y")
            #expect(last.status == 200)  // the last change is live
            #expect(last.text.hasPrefix("GET /y HTTP/1.1"))
        }
    }
}
