// swift-tools-version:6.1
import PackageDescription

/// The proxy path is single-threaded per event loop and its exclusivity is checked at compile
/// time; the runtime checks cost about 2% of a proxied request, so release builds skip them.
let hotPathSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Konnect",
    platforms: [.macOS(.v14)],
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
    ],
    targets: [
        // Kong-format declarative configuration: model, YAML/JSON loading, validation.
        .target(
            name: "KonnectConfig",
            dependencies: [.product(name: "Yams", package: "Yams")]
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
        // The data plane: HTTP/1.1 listener, upstream pools, balancers, snapshots, reload.
        .target(
            name: "KonnectProxy",
            dependencies: [
                "KonnectConfig",
                "KonnectRouter",
                "KonnectHTTP1",
                "KonnectIO",
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
        .executableTarget(
            name: "konnect",
            dependencies: [
                "KonnectConfig",
                "KonnectProxy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "KonnectConfigTests", dependencies: ["KonnectConfig"]),
        .testTarget(name: "KonnectRouterTests", dependencies: ["KonnectRouter", "KonnectConfig"]),
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
                "KonnectProxy", "KonnectConfig", "KonnectRouter",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
