import Foundation
import NIOCore
import NIOPosix
import KonnectTestSupport
import Testing

@testable import KonnectRedis

/// Runs `body` with a client for `server` (configured further by `configure`), always shutting it down.
func withClient<T>(port: Int, configure: (inout RedisConfiguration) -> Void = { _ in },
                   _ body: (RedisClient) async throws -> T) async throws -> T {
    var configuration = RedisConfiguration(host: "127.0.0.1", port: port)
    configure(&configuration)
    let client = RedisClient(configuration: configuration, eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}

/// Runs `body`, returning the error it throws (failing the test if it throws none) and how long it took.
func expectFailure(_ body: () async throws -> Void,
                   sourceLocation: SourceLocation = #_sourceLocation) async -> (error: RedisError?, seconds: Double) {
    let start = ContinuousClock.now
    do {
        try await body()
        Issue.record("expected an error", sourceLocation: sourceLocation)
        return (nil, seconds(since: start))
    } catch let error as RedisError {
        return (error, seconds(since: start))
    } catch {
        Issue.record("expected a RedisError, got \(error)", sourceLocation: sourceLocation)
        return (nil, seconds(since: start))
    }
}

/// The bound on elapsed time in fault tests: it only says "failed rather than hung", far above
/// what any run takes even on a loaded machine (the error's kind says which mechanism fired).
let neverHangs = 30.0

func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}
