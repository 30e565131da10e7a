import ArgumentParser
import Foundation
import KonnectConfig
import KonnectProxy
import Logging
import ServiceLifecycle

/// The `konnect` command line.
@main
struct Konnect: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "konnect",
        abstract: "API gateway and AI gateway in one binary.",
        version: version,
        subcommands: [Serve.self, Config.self, Version.self]
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
        subcommands: [Validate.self]
    )

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a declarative file; prints every issue with its path and line.")

        @Argument(help: "A YAML or JSON file in Kong's declarative format (_format_version: \"3.0\").")
        var file: String

        func run() throws {
            do {
                let configuration = try DeclarativeConfig.load(path: file)
                print("\(file): valid (\(configuration.services.count) services, \(configuration.routes.count) routes, "
                    + "\(configuration.upstreams.count) upstreams, \(configuration.targets.count) targets, "
                    + "\(configuration.consumers.count) consumers, \(configuration.plugins.count) plugins)")
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
            Without --declarative the gateway starts with an empty configuration.
            """
    )

    @Option(help: "Declarative configuration file (env KONNECT_DECLARATIVE); reloaded on SIGHUP or change.")
    var declarative: String?

    @Option(help: "Proxy listen address host:port (env KONNECT_PROXY_LISTEN, default 0.0.0.0:8000).")
    var proxyListen: String?

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
        if let declarativePath {
            do {
                initial = try DeclarativeConfig.load(path: declarativePath)
            } catch {
                printError(error.description)
                throw ExitCode(1)
            }
        }
        let runtime = ProxyRuntime(settings: settings, configuration: initial, logger: Logger(label: "konnect.proxy"))
        var services: [any ServiceLifecycle.Service] = [ProxyService(runtime: runtime)]
        if let declarativePath {
            services.append(DeclarativeReloader(path: declarativePath, runtime: runtime, logger: Logger(label: "konnect.config")))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ))
        try await group.run()
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
