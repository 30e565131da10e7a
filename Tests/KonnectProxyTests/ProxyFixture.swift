import Glibc
import KonnectConfig
import KonnectProxy
import NIOCore
import NIOPosix

/// A running proxy and mock origins for one test, torn down by `stop()`.
struct ProxyFixture {
    let runtime: ProxyRuntime
    let port: Int
    let origins: [MockUpstream]
    let clientGroup: MultiThreadedEventLoopGroup

    var origin: MockUpstream { origins[0] }

    /// Starts `originCount` mock origins, then a proxy whose configuration `configure` builds
    /// from the origins' ports.
    static func start(originCount: Int = 1, threads: Int = 2, settings adjust: (inout ProxySettings) -> Void = { _ in },
                      configure: ([Int]) -> Configuration) async throws -> ProxyFixture {
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var origins: [MockUpstream] = []
        for _ in 0..<originCount { origins.append(try await MockUpstream(group: clientGroup)) }
        var settings = ProxySettings()
        settings.host = "127.0.0.1"
        settings.port = 0
        settings.threads = threads
        adjust(&settings)
        let runtime = ProxyRuntime(settings: settings, configuration: configure(origins.map(\.port)))
        let port = try await runtime.start()
        return ProxyFixture(runtime: runtime, port: port, origins: origins, clientGroup: clientGroup)
    }

    /// A configuration with one service pointing at `port` and one route per path.
    static func simple(port: Int, paths: [String] = ["/"], servicePath: String? = nil, stripPath: Bool = true,
                       preserveHost: Bool = false, readTimeout: Int = 60_000, retries: Int = 5) -> Configuration {
        let service = Service(id: "s1", name: "echo", host: "127.0.0.1", port: port, path: servicePath,
                              retries: retries, readTimeout: readTimeout)
        let route = Route(id: "r1", name: "echo", paths: paths, stripPath: stripPath, preserveHost: preserveHost,
                          serviceID: "s1")
        return Configuration(services: [service], routes: [route])
    }

    func client() async throws -> TestClient {
        try await TestClient(port: port, group: clientGroup)
    }

    func stop() async throws {
        await runtime.shutdown()
        for origin in origins { try await origin.close() }
        try await clientGroup.shutdownGracefully()
    }
}

/// Runs `body` with a fixture and always stops it.
func withProxy(originCount: Int = 1, threads: Int = 2, settings: (inout ProxySettings) -> Void = { _ in },
               configure: ([Int]) -> Configuration, _ body: (ProxyFixture) async throws -> Void) async throws {
    let fixture = try await ProxyFixture.start(originCount: originCount, threads: threads, settings: settings,
                                               configure: configure)
    do {
        try await body(fixture)
    } catch {
        try? await fixture.stop()
        throw error
    }
    try await fixture.stop()
}

/// A port bound but not listening: connecting to it is refused, and no test running alongside can
/// take it while it is held (a port found free and let go can be bound again at once). Close it
/// at the end of the test.
final class RefusingPort {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(descriptor, address, length) == 0 && getsockname(descriptor, address, &length) == 0
            }
        }
        guard descriptor >= 0, bound else { throw IOError(errnoCode: errno, reason: "binding a refusing port") }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}
