import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway `redis-server` for one test: its own free port on 127.0.0.1, its own temp folder,
/// no persistence. Use `RedisServer.with { server in ... }`, which always stops it.
public final class RedisServer: @unchecked Sendable {
    // @unchecked: the mutable process handle is only touched under `lock`.

    /// TLS files for a server that speaks TLS only.
    public struct TLSFiles: Sendable {
        public init(certificate: String, key: String, certificateAuthority: String) {
            self.certificate = certificate
            self.key = key
            self.certificateAuthority = certificateAuthority
        }

        public var certificate: String
        public var key: String
        public var certificateAuthority: String
    }

    public enum Failure: Error, CustomStringConvertible {
        case notInstalled
        case didNotStart(String)
        public var description: String {
            switch self {
            case .notInstalled: "redis-server not found (apt-get install -y redis-server)"
            case .didNotStart(let log): "redis-server did not start: \(log)"
            }
        }
    }

    public let port: Int
    public let password: String?
    public let tls: TLSFiles?
    public let directory: URL
    private let lock = NSLock()
    private var process: Process?

    /// Path of the `redis-server` binary, or `nil` when it is not installed.
    public static let executable: String? = {
        let candidates = [ProcessInfo.processInfo.environment["REDIS_SERVER"], "/usr/bin/redis-server",
                          "/usr/local/bin/redis-server", "/opt/homebrew/bin/redis-server"]
        return candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Starts a server on a free port and waits until it answers.
    public init(password: String? = nil, tls: TLSFiles? = nil) throws {
        guard Self.executable != nil else { throw Failure.notInstalled }
        self.password = password
        self.tls = tls
        self.directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("konnect-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var started: (port: Int, process: Process)?
        do {
            // Another process may take the free port between probing and binding: try a few.
            for _ in 0..<5 where started == nil {
                let port = try Self.freePort()
                if let process = try Self.launch(port: port, password: password, tls: tls, directory: directory) {
                    started = (port, process)
                }
            }
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        guard let started else {
            try? FileManager.default.removeItem(at: directory)
            throw Failure.didNotStart("no free port found")
        }
        self.port = started.port
        self.process = started.process
    }

    /// Runs `body` with a fresh server and stops the server afterwards, whatever happens.
    public static func with<T>(password: String? = nil, tls: TLSFiles? = nil,
                        _ body: (RedisServer) async throws -> T) async throws -> T {
        let server = try RedisServer(password: password, tls: tls)
        defer { server.stop(removeFiles: true) }
        return try await body(server)
    }

    /// Kills the server at once (SIGKILL), as a crash would; `start()` brings it back on the same port.
    public func kill() {
        lock.withLock {
            guard let process else { return }
            sigkill(process.processIdentifier)
            process.waitUntilExit()
            self.process = nil
        }
    }

    /// Starts the server again on its port, after `kill()`.
    public func start() throws {
        try lock.withLock {
            guard process == nil else { return }
            guard let process = try Self.launch(port: port, password: password, tls: tls, directory: directory) else {
                throw Failure.didNotStart("port \(port) is taken")
            }
            self.process = process
        }
    }

    /// Kills the server and, unless asked to keep them, deletes its files.
    public func stop(removeFiles: Bool = true) {
        kill()
        if removeFiles { try? FileManager.default.removeItem(at: directory) }
    }

    deinit {
        if let process, process.isRunning {
            sigkill(process.processIdentifier)
        }
    }

    // MARK: Launching

    /// Starts `redis-server` and waits until it answers; `nil` if it exited at once (port taken).
    private static func launch(port: Int, password: String?, tls: TLSFiles?, directory: URL) throws -> Process? {
        var arguments = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory.path,
                         "--logfile", directory.appendingPathComponent("redis.log").path, "--daemonize", "no"]
        if let tls {
            arguments += ["--port", "0", "--tls-port", String(port), "--tls-cert-file", tls.certificate,
                          "--tls-key-file", tls.key, "--tls-ca-cert-file", tls.certificateAuthority,
                          "--tls-auth-clients", "no"]
        } else {
            arguments += ["--port", String(port)]
        }
        if let password { arguments += ["--requirepass", password] }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable!)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()

        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            guard process.isRunning else {
                let log = (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
                if log.contains("Address already in use") { return nil }
                throw Failure.didNotStart(String(log.suffix(500)))
            }
            if answers(port: port, sendPing: tls == nil) { return process }
            usleep(20_000)
        }
        sigkill(process.processIdentifier)
        process.waitUntilExit()
        throw Failure.didNotStart("no answer on port \(port) within 10 s")
    }

    /// Whether something accepts on `port` and, with `sendPing`, answers `PING` (`+PONG` or `-NOAUTH`).
    private static func answers(port: Int, sendPing: Bool) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { return false }
        guard sendPing else { return true }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let ping = Array("PING\r\n".utf8)
        guard write(fd, ping, ping.count) == ping.count else { return false }
        var reply = [UInt8](repeating: 0, count: 64)
        let count = read(fd, &reply, reply.count)
        return count > 0 && (reply[0] == UInt8(ascii: "+") || reply[0] == UInt8(ascii: "-"))
    }

    /// A TCP port that nothing listens on right now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure.didNotStart("socket() failed") }
        defer { close(fd) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw Failure.didNotStart("cannot bind a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// Sends SIGKILL to `pid`.
private func sigkill(_ pid: Int32) {
    _ = kill(pid, SIGKILL)
}
