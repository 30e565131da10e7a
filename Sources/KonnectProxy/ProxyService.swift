import Logging
import ServiceLifecycle

/// Runs the proxy listener inside a `ServiceGroup`: binds on start, drains on graceful shutdown.
public struct ProxyService: ServiceLifecycle.Service {
    let runtime: ProxyRuntime

    public init(runtime: ProxyRuntime) {
        self.runtime = runtime
    }

    public func run() async throws {
        try await runtime.start()
        try? await gracefulShutdown()
        await runtime.shutdown()
    }
}
