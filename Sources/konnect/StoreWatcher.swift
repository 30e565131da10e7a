import KonnectStore
import Logging
import ServiceLifecycle

/// Picks up changes other processes make to the node's database (`konnect config apply` while
/// the node runs), checking once a second.
struct StoreWatcher: Service {
    let control: ControlPlane
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: .seconds(1))
            do {
                if try await control.reloadIfChangedElsewhere() {
                    logger.info("the database was changed by another process: configuration reloaded")
                }
            } catch {
                logger.error("the database was changed by another process, but could not be reloaded: \(error)")
            }
        }
    }
}
