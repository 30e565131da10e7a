import Foundation
import KonnectConfig
import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads a declarative file on SIGHUP and when the file changes on disk.
///
/// A file that fails validation is logged with every issue and the running configuration
/// keeps serving.
public struct DeclarativeReloader: ServiceLifecycle.Service {
    let path: String
    /// Takes a new configuration to the data plane (through the control plane, so that the
    /// Admin API shows what runs).
    let apply: @Sendable (Configuration) async throws -> Void
    let logger: Logger
    let pollInterval: Duration

    public init(path: String, logger: Logger, pollInterval: Duration = .seconds(1),
                apply: @escaping @Sendable (Configuration) async throws -> Void) {
        self.path = path
        self.apply = apply
        self.logger = logger
        self.pollInterval = pollInterval
    }

    public func run() async throws {
        let state = ReloadState(fingerprint: Self.fingerprint(path))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
                    logger.info("SIGHUP: reloading", metadata: ["file": "\(path)"])
                    await reload(state: state, force: true)
                }
            }
            group.addTask {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await Task.sleep(for: pollInterval)
                    await reload(state: state, force: false)
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
    }

    /// Loads and applies the file when forced or when its contents changed since the last look.
    func reload(state: ReloadState, force: Bool) async {
        let fingerprint = Self.fingerprint(path)
        guard await state.update(fingerprint) || force else { return }
        do {
            let configuration = try DeclarativeConfig.load(path: path)
            try await apply(configuration)
        } catch let error as ConfigValidationError {
            logger.error("configuration rejected; the previous one keeps serving",
                         metadata: ["file": "\(path)", "issues": "\(error.issues.count)"])
            for issue in error.issues { logger.error("\(issue.description)") }
        } catch {
            logger.error("reload failed: \(error)")
        }
    }

    /// Size, modification time and a hash of the contents, so edits are noticed even within one second.
    static func fingerprint(_ path: String) -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { return 0 }
        var hasher = Hasher()
        hasher.combine(data)
        return hasher.finalize()
    }
}

/// The last fingerprint seen, shared by the signal and polling tasks.
actor ReloadState {
    private var fingerprint: Int

    init(fingerprint: Int) { self.fingerprint = fingerprint }

    /// Records `new` and reports whether it differs from the previous one.
    func update(_ new: Int) -> Bool {
        defer { fingerprint = new }
        return new != fingerprint
    }
}
