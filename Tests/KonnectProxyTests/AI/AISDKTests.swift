import Foundation
import KonnectConfig
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ai-proxy and ai-gateway driven by the official Python SDKs (`openai`, `anthropic`) against the
/// mock provider: each SDK against a route of each provider (OpenAI, Anthropic, Gemini, Ollama,
/// Cohere, Bedrock, Azure OpenAI, Mistral), and through a model whose first deployment always
/// fails, through `sdk_checks.py` (next to this file).
///
/// The SDKs live in `<package root>/.venv`; when they are missing there, the suite creates the
/// venv and installs them from PyPI (once per process), so a fresh machine needs `python3` and
/// network access to PyPI.
@Suite("AI: official SDKs")
struct AISDKTests {
    static let openAIModel = "gpt-4o-mini"
    static let anthropicModel = "claude-sonnet-4-5"
    static let geminiModel = "gemini-3-flash-preview"
    static let ollamaModel = "llama3.2:3b"
    static let cohereModel = "command-a-03-2025"
    static let bedrockModel = "anthropic.claude-3-5-haiku-20241022-v1:0"
    /// The Bedrock route's embedding models (InvokeModel's two body formats).
    static let bedrockEmbeddingModels = ["amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"]
    static let azureModel = "gpt-4o"
    static let mistralModel = "mistral-large-latest"
    /// The model of the `/fallback` route: an OpenAI deployment that always fails, then Anthropic.
    static let fallbackModel = "chat-default"
    static let sdkVersions = (openai: "3.54.0", anthropic: "2.12.0")

    /// `Tests/KonnectProxyTests/AI/AISDKTests.swift` → the package root.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("sdk_checks.py")
    static let python = packageRoot.appendingPathComponent(".venv/bin/python")

    /// One process per SDK × route (see `sdk_checks.py --list` for the checks of each):
    /// "<sdk>@<route>", the route's provider being the route's name (`fallback`: see `configuration`).
    @Test(arguments: ["openai", "anthropic", "gemini", "ollama", "cohere", "bedrock", "azure", "mistral", "fallback"]
        .flatMap { ["openai@\($0)", "anthropic@\($0)"] })
    func sdkChecks(_ group: String) async throws {
        try await Self.pythonSDKs.value
        // Two Python processes at a time: each spends about a second of CPU importing the SDKs,
        // and all groups at once would starve the rest of the suite on a 2-core machine.
        await Self.processSlots.acquire()
        defer { Task { await Self.processSlots.release() } }
        try await withMockAIProvider { mock in
            try await withProxy(configure: { _ in Self.configuration(mockPort: mock.port) }) { fx in
                let result = try await Self.run(Self.python, [Self.script.path, "--base", "http://127.0.0.1:\(fx.port)",
                                                              "--check", group],
                                                environment: Self.checkEnvironment, timeout: .seconds(120))
                let lines = result.output.split(separator: "\n").map(String.init)
                let failed = Set(lines.filter { $0.hasPrefix("FAIL ") }.map { String($0.dropFirst(5)) })
                let passed = lines.filter { $0.hasPrefix("ok ") }
                // The script exits 1 when checks fail, after reporting each; anything else means it broke.
                #expect(result.status == (failed.isEmpty ? 0 : 1),
                        "sdk_checks.py --check \(group) exited with \(result.status):\n\(result.output)")
                #expect(!passed.isEmpty || !failed.isEmpty, "no check ran:\n\(result.output)")
                let unexpected = failed.sorted()
                #expect(unexpected.isEmpty, "failed: \(unexpected.joined(separator: ", "))\n\(result.output)")
                if group.hasSuffix("@fallback") {
                    // The answers came from Anthropic (the checks read the headers) after the
                    // failing deployment was tried.
                    #expect(mock.requests.contains { $0.path.hasPrefix("/fail/503/") }, "the failing deployment was never tried")
                }
            }
        }
    }

    /// Routes in front of the mock: `/openai` (ai-proxy, provider openai, Kong's `Bearer` key
    /// form) and `/anthropic` (ai-proxy, provider anthropic), whose service is never called since
    /// ai-proxy answers itself; `/gemini`, `/ollama`, `/cohere` and `/bedrock`, routes without a
    /// service whose ai-gateway plugin serves one model (named as the provider names it) from one
    /// deployment at the mock's address (`base_url`: ai-proxy's `upstream_url` would replace the
    /// whole URL, which for Gemini and Bedrock depends on the model and on streaming). `/azure` and
    /// `/mistral` are such routes too, Azure's deployment named by its options and Mistral's
    /// mock under `/mistral/v1`; `/fallback` serves `chat-default` from an OpenAI deployment whose
    /// `base_url` is under the mock's `/fail/503/` (it always fails), then an Anthropic one.
    /// `/bedrock` also serves two embedding models (Titan's and Cohere's InvokeModel formats) from
    /// the same account, since Bedrock's chat model embeds nothing.
    static func configuration(mockPort: Int) -> Configuration {
        func aiGateway(provider: String, model: String, key: String?, options: [String: JSONValue] = [:]) -> Plugin {
            var deployment: [String: JSONValue] = [
                "provider": .string(provider), "model": .string(model), "base_url": .string("http://127.0.0.1:\(mockPort)"),
            ]
            if let key { deployment["auth"] = .object(["header_value": .string(key)]) }
            if !options.isEmpty { deployment["options"] = .object(options) }
            return Plugin(id: "p-ai-\(provider)", name: "ai-gateway", config: .object(["models": .array([.object([
                "name": .string(model), "deployments": .array([.object(deployment)]),
            ])])]), routeID: "r-\(provider)")
        }
        /// A deployment at the mock, under `path`.
        func deployment(_ provider: String, _ model: String, path: String = "", key: String, options: [String: JSONValue] = [:]) -> JSONValue {
            var deployment: [String: JSONValue] = [
                "provider": .string(provider), "model": .string(model), "base_url": .string("http://127.0.0.1:\(mockPort)\(path)"),
                "auth": .object(["header_value": .string(key)]),
            ]
            if !options.isEmpty { deployment["options"] = .object(options) }
            return .object(deployment)
        }
        /// An ai-gateway plugin on `r-<route>` serving `model` from `deployments`, in that order.
        func aiGateway(route: String, model: String, deployments: [JSONValue]) -> Plugin {
            Plugin(id: "p-ai-\(route)", name: "ai-gateway", config: .object(["models": .array([.object([
                "name": .string(model), "deployments": .array(deployments),
            ])])]), routeID: "r-\(route)")
        }
        func aiProxy(id: String, routeID: String, provider: String, model: String, key: String, path: String) -> Plugin {
            Plugin(id: id, name: "ai-proxy", config: .object([
                "auth": .object(["header_value": .string(key)]),
                "model": .object([
                    "provider": .string(provider), "name": .string(model),
                    "options": .object(["upstream_url": .string("http://127.0.0.1:\(mockPort)\(path)")]),
                ]),
            ]), routeID: routeID)
        }
        return Configuration(
            services: [Service(id: "s-ai", name: "mock-ai", host: "127.0.0.1", port: mockPort)],
            routes: [
                Route(id: "r-openai", name: "openai", paths: ["/openai"], serviceID: "s-ai"),
                Route(id: "r-anthropic", name: "anthropic", paths: ["/anthropic"], serviceID: "s-ai"),
                Route(id: "r-gemini", name: "gemini", paths: ["/gemini"]),
                Route(id: "r-ollama", name: "ollama", paths: ["/ollama"]),
                Route(id: "r-cohere", name: "cohere", paths: ["/cohere"]),
                Route(id: "r-bedrock", name: "bedrock", paths: ["/bedrock"]),
                Route(id: "r-azure", name: "azure", paths: ["/azure"]),
                Route(id: "r-mistral", name: "mistral", paths: ["/mistral"]),
                Route(id: "r-fallback", name: "fallback", paths: ["/fallback"]),
            ],
            plugins: [
                aiProxy(id: "p-ai-openai", routeID: "r-openai", provider: "openai", model: openAIModel,
                        key: "Bearer \(MockAIProvider.openAIKey)", path: "/v1/chat/completions"),
                aiProxy(id: "p-ai-anthropic", routeID: "r-anthropic", provider: "anthropic", model: anthropicModel,
                        key: MockAIProvider.anthropicKey, path: "/v1/messages"),
                aiGateway(provider: "gemini", model: geminiModel, key: MockGemini.key),
                aiGateway(provider: "ollama", model: ollamaModel, key: MockOllama.key),
                aiGateway(provider: "cohere", model: cohereModel, key: MockCohere.key),
                // Signed with SigV4 from the access key (no API key).
                aiGateway(provider: "bedrock", model: bedrockModel, key: nil, options: [
                    "aws_access_key_id": .string(MockBedrock.accessKeyID),
                    "aws_secret_access_key": .string(MockBedrock.secretAccessKey),
                    "aws_region": .string(MockBedrock.region),
                ]).servingToo(bedrockEmbeddingModels),
                aiGateway(route: "azure", model: azureModel, deployments: [
                    deployment("azure", azureModel, key: MockAzure.key, options: [
                        "azure_deployment_id": .string(MockAzure.deployment), "azure_api_version": .string("2024-10-21"),
                    ]),
                ]),
                aiGateway(route: "mistral", model: mistralModel, deployments: [
                    deployment("mistral", mistralModel, path: "/mistral/v1", key: MockMistral.key),
                ]),
                aiGateway(route: "fallback", model: fallbackModel, deployments: [
                    deployment("openai", openAIModel, path: "/fail/503/v1", key: MockAIProvider.openAIKey),
                    deployment("anthropic", anthropicModel, key: MockAIProvider.anthropicKey),
                ]),
            ])
    }

    // MARK: Python

    /// The checks' environment: unbuffered output, and no HTTP proxy between the SDKs and Konnect.
    static var checkEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"] {
            environment[name] = nil
        }
        environment["NO_PROXY"] = "127.0.0.1,localhost"
        environment["no_proxy"] = "127.0.0.1,localhost"
        environment["PYTHONUNBUFFERED"] = "1"
        return environment
    }

    /// The venv's Python with both SDKs at the pinned versions, set up once per process.
    static let pythonSDKs = Task<Void, any Error> {
        let versionCheck = [
            "-c",
            "import sys, openai, anthropic; v = (openai.__version__, anthropic.__version__); "
                + "print('found', v); sys.exit(0 if v == ('\(sdkVersions.openai)', '\(sdkVersions.anthropic)') else 3)",
        ]
        let environment = ProcessInfo.processInfo.environment
        if FileManager.default.isExecutableFile(atPath: python.path),
           try await run(python, versionCheck, environment: environment, timeout: .seconds(120)).status == 0 {
            return
        }
        var log = ""
        if !FileManager.default.isExecutableFile(atPath: python.path) {
            let venv = try await run(URL(fileURLWithPath: "/usr/bin/env"),
                                     ["python3", "-m", "venv", packageRoot.appendingPathComponent(".venv").path],
                                     environment: environment, timeout: .seconds(300))
            log += venv.output
            guard venv.status == 0 else { throw SetupError(description: "python3 -m venv failed:\n\(log)") }
        }
        let pip = try await run(python, ["-m", "pip", "install", "-q", "openai==\(sdkVersions.openai)",
                                         "anthropic==\(sdkVersions.anthropic)"],
                                environment: environment, timeout: .seconds(600))
        log += pip.output
        guard pip.status == 0 else { throw SetupError(description: "pip install failed:\n\(log)") }
        let check = try await run(python, versionCheck, environment: environment, timeout: .seconds(120))
        guard check.status == 0 else {
            throw SetupError(description: "the SDKs are still not importable at the pinned versions:\n\(log)\(check.output)")
        }
    }

    static let processSlots = Slots(2)

    /// At most `count` holders at once; the others wait in turn.
    actor Slots {
        private var free: Int
        private var waiting: [CheckedContinuation<Void, Never>] = []

        init(_ count: Int) { free = count }

        func acquire() async {
            if free > 0 {
                free -= 1
                return
            }
            await withCheckedContinuation { waiting.append($0) }
        }

        func release() {
            if waiting.isEmpty { free += 1 } else { waiting.removeFirst().resume() }
        }
    }

    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    struct ProcessResult {
        var status: Int32
        var output: String
    }

    /// Runs `executable` to its end (killed after `timeout`, a did-not-hang bound), with stdout
    /// and stderr together in `output`.
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String],
                    timeout: Duration) async throws -> ProcessResult {
        // A file rather than a pipe: nothing to drain while the process runs.
        let log = FileManager.default.temporaryDirectory
            .appendingPathComponent("konnect-sdk-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
            throw SetupError(description: "cannot create \(log.path)")
        }
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }

        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = packageRoot
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = handle
        process.standardError = handle
        let (terminations, termination) = AsyncStream.makeStream(of: Int32.self)
        process.terminationHandler = { process in
            termination.yield(process.terminationStatus)
            termination.finish()
        }
        try process.run()
        let pid = process.processIdentifier
        let killer = Task {
            try? await Task.sleep(for: timeout)
            guard !Task.isCancelled else { return false }
            kill(pid, SIGKILL)
            return true
        }
        var status: Int32 = -1
        for await value in terminations { status = value }
        killer.cancel()
        let killed = await killer.value
        var output = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
        if killed { output += "\n[killed after \(timeout): it did not end]" }
        return ProcessResult(status: status, output: output)
    }
}

fileprivate extension Plugin {
    /// This ai-gateway plugin serving `models` too, each from a copy of its first model's first
    /// deployment asking that model.
    func servingToo(_ models: [String]) -> Plugin {
        guard case .object(var config) = config, case .array(var entries)? = config["models"],
              case .object(let first)? = entries.first, case .array(let deployments)? = first["deployments"],
              case .object(let deployment)? = deployments.first
        else { return self }
        for model in models {
            var copy = deployment
            copy["model"] = .string(model)
            entries.append(.object(["name": .string(model), "deployments": .array([.object(copy)])]))
        }
        config["models"] = .array(entries)
        var plugin = self
        plugin.config = .object(config)
        return plugin
    }
}
