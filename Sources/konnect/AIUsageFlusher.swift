import KonnectPlugins
import Logging
import ServiceLifecycle

/// Moves the AI usage the node counted to its archive once a second, and once more when the
/// node stops (after the proxy, which stops first, has finished its requests).
struct AIUsageFlusher: Service {
    let logger: Logger

    func run() async throws {
        var failing = false
        func flush() {
            do {
                try AIUsageLedger.shared.flush()
                if failing { logger.notice("AI usage is being archived again") }
                failing = false
            } catch {
                // Once per failing spell; the rows wait in memory for the next flush.
                if !failing { logger.error("cannot archive AI usage (kept in memory, retried every second): \(error)") }
                failing = true
            }
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(1))
            flush()
        }
        flush()
    }
}
