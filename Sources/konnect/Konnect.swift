import ArgumentParser
import Foundation
import Hummingbird
import KonnectAdmin
import KonnectConfig
import KonnectPlugins
import KonnectProxy
import KonnectStore
import Logging
import NIOCore
import ServiceLifecycle

/// The `konnect` command line.
@main
struct Konnect: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "konnect",
        abstract: "API gateway and AI gateway in one binary.",
        version: version,
        subcommands: [Serve.self, Config.self, Migrations.self, Version.self]
    )
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")

    func run() {
        print("konnect \(Konnect.version)")
    }
}

struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with declarative configuration files.",
        subcommands: [Validate.self, Dump.self, Diff.self, Apply.self]
    )

    /// The database's configuration, loaded as `konnect serve` loads it. Only `apply` may
    /// create a database; the others read one that must already be there.
    static func loadDatabase(_ options: DatabaseOptions, create: Bool = false) async throws -> (ControlPlane, Configuration) {
        let store = try openStore(directory: options.directory, create: create)
        let control = ControlPlane(store: store) { _ in }
        do {
            return (control, try await control.loadFromStore())
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
    }

    static func loadFile(_ path: String) throws -> Configuration {
        do {
            return try DeclarativeConfig.load(path: path)
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
    }

    /// The file's configuration, the database's, and what differs between them.
    static func compare(_ file: String, _ options: DatabaseOptions, create: Bool = false) async throws
        -> (control: ControlPlane, wanted: Configuration, changes: ConfigurationDiff)
    {
        let wanted = try loadFile(file)
        let (control, current) = try await loadDatabase(options, create: create)
        return (control, wanted, ConfigurationDiff(from: current, to: wanted))
    }

    struct Dump: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the database's configuration as a declarative file (YAML).")
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let (_, configuration) = try await Config.loadDatabase(options)
            print(configuration.declarativeYAML, terminator: "")
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what applying a declarative file would change in the database.",
            discussion: "Exit status 0 when nothing would change, 2 when something would.")
        @Argument(help: "A declarative file.") var file: String
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let (_, _, changes) = try await Config.compare(file, options)
            for line in changes.lines { print(line) }
            print("\(changes.created) to create, \(changes.updated) to update, \(changes.deleted) to delete")
            if !changes.isEmpty { throw ExitCode(2) }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the database equal to a declarative file, in one transaction.")
        @Argument(help: "A declarative file.") var file: String
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let (control, wanted, changes) = try await Config.compare(file, options, create: true)
            do {
                try await control.replaceAll(with: wanted)
            } catch {
                printError("not applied: \(error)")
                throw ExitCode(1)
            }
            print("applied \(file): \(changes.created) created, \(changes.updated) updated, \(changes.deleted) deleted")
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a declarative file; prints every issue with its path and line.")

        @Argument(help: "A YAML or JSON file in Kong's declarative format (_format_version: \"3.0\").")
        var file: String

        func run() throws {
            do {
                let configuration = try DeclarativeConfig.load(path: file)
                // The proxy's kinds always, the rest when the file has some.
                let always: Set<EntityKind> = [.services, .routes, .upstreams, .targets, .consumers, .plugins]
                let counts = EntityKind.allCases.compactMap { kind -> String? in
                    let count = configuration.count(of: kind)
                    return always.contains(kind) || count > 0 ? "\(count) \(kind.rawValue)" : nil
                }
                print("\(file): valid (\(counts.joined(separator: ", ")))")
            } catch {
                printError(error.description)
                throw ExitCode(1)
            }
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway.",
        discussion: """
            Settings come from flags, then KONNECT_* environment variables, then defaults.
            Without --declarative the configuration lives in an SQLite database under --data-dir
            and is managed over the Admin API; with it, the file is the configuration and the
            Admin API only reads (and takes a whole new configuration at POST /config).
            """
    )

    @Option(help: "Declarative configuration file (env KONNECT_DECLARATIVE); reloaded on SIGHUP or change.")
    var declarative: String?

    @Option(help: "Directory of the SQLite database in database mode, and of the AI usage archive (env KONNECT_DATA_DIR, default ./konnect-data; in declarative mode AI usage is kept only in memory unless one is given).")
    var dataDir: String?

    @Option(help: "Proxy listen address host:port (env KONNECT_PROXY_LISTEN, default 0.0.0.0:8000).")
    var proxyListen: String?

    @Option(help: "Admin API listen address host:port, or off (env KONNECT_ADMIN_LISTEN, default 127.0.0.1:8001).")
    var adminListen: String?

    @Option(help: "Event-loop threads (env KONNECT_THREADS, default: one per core).")
    var threads: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env KONNECT_LOG_LEVEL).")
    var logLevel: String?

    func run() async throws {
        let environment = Environment.current
        var settings = try NodeSettings.proxySettings(environment: environment)
        if let proxyListen { try NodeSettings.applyListen(proxyListen, to: &settings, source: "--proxy-listen") }
        if let threads {
            guard threads > 0 else { throw ValidationError("--threads must be at least 1") }
            settings.threads = threads
        }
        let admin = try NodeSettings.adminListen(adminListen, environment: environment)
        let level = logLevel ?? environment["KONNECT_LOG_LEVEL"] ?? "info"
        guard let parsedLevel = Logger.Level(rawValue: level) else {
            throw ValidationError("unknown log level '\(level)'")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = parsedLevel
            return handler
        }
        let logger = Logger(label: "konnect")

        let declarativePath = declarative ?? environment["KONNECT_DECLARATIVE"]
        var initial = Configuration.empty
        var store: SQLiteStore?
        if let declarativePath {
            do {
                initial = try DeclarativeConfig.load(path: declarativePath)
            } catch {
                printError(error.description)
                throw ExitCode(1)
            }
        } else {
            store = try openStore(directory: dataDir ?? environment["KONNECT_DATA_DIR"] ?? "konnect-data", create: true)
            logger.info("database mode", metadata: ["database": "\(store!.path)"])
        }
        // AI usage outlives restarts where there is a data directory: always in database mode,
        // and in declarative mode when one is given.
        if let directory = dataDir ?? environment["KONNECT_DATA_DIR"] ?? (store == nil ? nil : "konnect-data") {
            do {
                let archive = try SQLiteUsageArchive(directory: directory)
                AIUsageLedger.shared.use(archive)
                logger.info("AI usage archive", metadata: ["database": "\(archive.path)"])
            } catch {
                printError("cannot open the AI usage archive in \(directory): \(error)")
                throw ExitCode(1)
            }
        }
        let runtimeBox = RuntimeBox()
        let control = ControlPlane(store: store) { configuration in
            try await runtimeBox.runtime?.apply(configuration)
        }
        if store != nil {
            do {
                initial = try await control.loadFromStore()
            } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
        } else {
            await control.adopt(initial)
        }
        let runtime = ProxyRuntime(settings: settings, configuration: initial, logger: Logger(label: "konnect.proxy"))
        runtimeBox.runtime = runtime

        // Stopped in the opposite order: the proxy finishes its requests before the last flush.
        var services: [any ServiceLifecycle.Service] = [
            AIUsageFlusher(logger: Logger(label: "konnect.ai")), ProxyService(runtime: runtime),
        ]
        if store != nil {
            services.append(StoreWatcher(control: control, logger: Logger(label: "konnect.store")))
        }
        if let declarativePath {
            services.append(DeclarativeReloader(path: declarativePath, logger: Logger(label: "konnect.config")) { configuration in
                try await control.replaceAll(with: configuration)
            })
        }
        if let admin {
            let node = AdminNodeInfo(
                version: Konnect.version, hostname: ProcessInfo.processInfo.hostName,
                database: store == nil ? "off" : "sqlite", activeConnections: { runtime.openConnectionCount },
                totalRequests: { await runtime.totalRequests() })
            let api = AdminAPI(control: control, node: node, token: environment["KONNECT_ADMIN_TOKEN"])
            services.append(Application(
                responder: api,
                configuration: .init(address: .hostname(admin.host, port: admin.port), serverName: nil),
                logger: Logger(label: "konnect.admin")
            ))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ))
        do {
            try await group.run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE && admin != nil {
            // The proxy reports its own address; an address in use otherwise is the Admin API's.
            printError("cannot listen for the Admin API on \(admin!.host):\(admin!.port): address already in use "
                + "(choose another with --admin-listen or KONNECT_ADMIN_LISTEN, or turn it off with --admin-listen off)")
            throw ExitCode(1)
        }
    }
}

/// Opens the store in `directory` and, unless only asked to look (`migrate: false`), brings its
/// schema up to date; exits with the reason when it cannot. Without `create`, a directory with no
/// database is an error (most likely a mistyped --data-dir), not a new empty database.
func openStore(directory: String, create: Bool, migrate: Bool = true) throws -> SQLiteStore {
    let file = (directory as NSString).appendingPathComponent(SQLiteStore.fileName)
    guard create || FileManager.default.fileExists(atPath: file) else {
        printError("no database at \(file): check --data-dir or KONNECT_DATA_DIR "
            + "(konnect serve or konnect migrations up creates one)")
        throw ExitCode(1)
    }
    do {
        let store = try SQLiteStore(directory: directory)
        if migrate { try store.migrate() }
        return store
    } catch {
        printError("cannot open the database in \(directory): \(error)")
        throw ExitCode(1)
    }
}

/// The proxy runtime, set once it exists: the control plane is made first (it reads the
/// configuration the runtime starts with) and publishes to the runtime afterwards.
final class RuntimeBox: @unchecked Sendable {
    // Written once, before any service runs (and so before anything can publish); read after.
    var runtime: ProxyRuntime?
}

/// `--data-dir`, for the commands that work on the database.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "Directory of the SQLite database (env KONNECT_DATA_DIR, default ./konnect-data).")
    var dataDir: String?

    var directory: String { dataDir ?? Environment.current["KONNECT_DATA_DIR"] ?? "konnect-data" }
}

struct Migrations: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the schema of the database (database mode).",
        subcommands: [Up.self, Status.self]
    )

    struct Up: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply the migrations not applied yet.")
        @OptionGroup var options: DatabaseOptions

        func run() throws {
            let store = try openStore(directory: options.directory, create: true)
            let status = try store.migrationStatus()
            print("\(store.path): up to date (\(status.applied.count) migrations: \(status.applied.joined(separator: ", ")))")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List applied and pending migrations.")
        @OptionGroup var options: DatabaseOptions

        func run() throws {
            let store = try openStore(directory: options.directory, create: false, migrate: false)
            let status = try store.migrationStatus()
            print("\(store.path)")
            for name in status.applied { print("  applied  \(name)") }
            for name in status.pending { print("  pending  \(name)") }
            if !status.pending.isEmpty { throw ExitCode(3) }
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
