// swift-tools-version:6.1
import PackageDescription

/// The proxy path is single-threaded per event loop and its exclusivity is checked at compile
/// time; the runtime checks cost about 2% of a proxied request, so release builds skip them.
/// Cross-module optimization lets the proxy inline small pieces of the modules below it (the
/// plugin context's accessors, the chain) instead of calling them, and retaining around each call.
let hotPathSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked", "-cross-module-optimization"], .when(configuration: .release)),
]

let package = Package(
    name: "Konnect",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "konnect", targets: ["konnect"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.30.0"),
    ],
    targets: [
        // Kong-format declarative configuration: model, YAML/JSON loading, validation.
        .target(
            name: "KonnectConfig",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ]
        ),
        // Route matching with Kong's precedence, compiled once per configuration.
        .target(
            name: "KonnectRouter",
            dependencies: ["KonnectConfig"],
            swiftSettings: hotPathSettings
        ),
        // A strict, allocation-light HTTP/1.1 codec: heads parsed in place, bodies as slices.
        .target(
            name: "KonnectHTTP1",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: hotPathSettings
        ),
        // Linux system interfaces that Glibc's module leaves out (epoll, eventfd, accept4).
        .target(name: "CKonnectIO"),
        // The proxy path's event loops: a SwiftNIO EventLoop over its own epoll set, with
        // pipeline-free TCP streams and a shared listener.
        .target(
            name: "KonnectIO",
            dependencies: [
                "CKonnectIO",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: hotPathSettings
        ),
        // A RESP2 Redis client over SwiftNIO: pooled, pipelined, with timeouts and TLS.
        .target(
            name: "KonnectRedis",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The AI gateway's translation: Konnect's chat model, the client formats (OpenAI,
        // Anthropic) and one file per provider; pure functions over bytes, no I/O.
        .target(
            name: "KonnectAI",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Plugins: which instances apply to a request (Kong's scope precedence) and in what order.
        .target(
            name: "KonnectPlugins",
            dependencies: [
                "KonnectConfig",
                "KonnectHTTP1",
                "KonnectRedis",
                "KonnectAI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: hotPathSettings
        ),
        // The data plane: HTTP/1.1 listener, upstream pools, balancers, snapshots, reload.
        .target(
            name: "KonnectProxy",
            dependencies: [
                "KonnectConfig",
                "KonnectRouter",
                "KonnectHTTP1",
                "KonnectIO",
                "KonnectPlugins",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: hotPathSettings
        ),
        // The node's entities: the SQLite store and the control plane that validates and applies
        // every change.
        .target(
            name: "KonnectStore",
            dependencies: ["KonnectConfig", "KonnectAI", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The Kong-compatible Admin API over the control plane.
        .target(
            name: "KonnectAdmin",
            dependencies: [
                "KonnectConfig",
                "KonnectStore",
                "KonnectPlugins",
                "KonnectAI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .executableTarget(
            name: "konnect",
            dependencies: [
                "KonnectConfig",
                "KonnectProxy",
                "KonnectPlugins",
                "KonnectStore",
                "KonnectAdmin",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Helpers several test targets share (certificates made at test time).
        .target(
            name: "KonnectTestSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            path: "Tests/KonnectTestSupport"
        ),
        .testTarget(name: "KonnectConfigTests", dependencies: ["KonnectConfig", "KonnectTestSupport"]),
        .testTarget(
            name: "KonnectStoreTests",
            dependencies: ["KonnectStore", "KonnectConfig", "KonnectAI", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "KonnectAdminTests",
            dependencies: [
                "KonnectAdmin", "KonnectStore", "KonnectConfig", "KonnectTestSupport", "KonnectPlugins", "KonnectAI",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(name: "KonnectRouterTests", dependencies: ["KonnectRouter", "KonnectConfig"]),
        .testTarget(
            name: "KonnectRedisTests",
            dependencies: [
                "KonnectRedis", "KonnectTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "KonnectPluginsTests",
            dependencies: [
                "KonnectPlugins", "KonnectConfig", "KonnectAI",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(name: "KonnectAITests", dependencies: ["KonnectAI", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(
            name: "KonnectHTTP1Tests",
            dependencies: ["KonnectHTTP1", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "KonnectIOTests",
            dependencies: ["KonnectIO", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]
        ),
        .testTarget(
            name: "KonnectProxyTests",
            dependencies: [
                "KonnectProxy", "KonnectConfig", "KonnectRedis", "KonnectRouter", "KonnectStore", "KonnectTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            // Run by AISDKTests with the official Python SDKs.
            exclude: ["AI/sdk_checks.py"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
