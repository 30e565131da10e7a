import Foundation
import NIOCore
import KonnectTestSupport
import Testing

@testable import KonnectRedis

/// Path of the `openssl` command, used to make a throwaway CA and server certificate.
private let openssl: String? = ["/usr/bin/openssl", "/usr/local/bin/openssl", "/opt/homebrew/bin/openssl"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// A CA and a server certificate for the name `localhost` only (no IP address: NIOSSL accepts an
/// IP address SAN matching the connected address whatever name is expected), made fresh in a temp folder.
private func makeCertificates() throws -> (files: RedisServer.TLSFiles, directory: URL) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("konnect-redis-tls-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
    try "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        .write(toFile: path("server.ext"), atomically: true, encoding: .utf8)
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    let steps: [[String]] = [
        ["req", "-x509"] + ec + ["-keyout", path("ca.key"), "-out", path("ca.crt"), "-days", "2",
                                 "-subj", "/CN=Konnect Test CA",
                                 "-addext", "basicConstraints=critical,CA:TRUE",
                                 "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req"] + ec + ["-keyout", path("server.key"), "-out", path("server.csr"), "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", path("server.csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"),
         "-CAcreateserial", "-out", path("server.crt"), "-days", "2", "-extfile", path("server.ext")],
    ]
    for arguments in steps {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl!)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw RedisServer.Failure.didNotStart("openssl \(arguments[0]) failed")
        }
    }
    // Redis reads the key as its own user; keep it private all the same.
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path("server.key"))
    let files = RedisServer.TLSFiles(certificate: path("server.crt"), key: path("server.key"),
                                     certificateAuthority: path("ca.crt"))
    return (files, directory)
}

@Suite("Redis client over TLS")
struct RedisClientTLSTests {
    /// Runs `body` with a TLS-only server and the path of the CA that signed its certificate.
    private func withTLSServer(_ body: (RedisServer, String) async throws -> Void) async throws {
        let (files, directory) = try makeCertificates()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await RedisServer.with(tls: files) { (server) async throws in
            try await body(server, files.certificateAuthority)
        }
    }

    @Test func verifiedConnectionByNameAndByIPWithServerName() async throws {
        try await withTLSServer { (server, ca) async throws in
            try await withClient(port: server.port, configure: {
                $0.tls = true
                $0.tlsTrustedCertificatesPath = ca
                $0.serverName = "localhost"
            }) { (redis) async throws in
                #expect(try await redis.send(["SET", "k", "over tls"]) == .simpleString("OK"))
                #expect(try await redis.send(["GET", "k"]).string == "over tls")
                let replies = try await redis.send(Array(repeating: ["INCR", "n"], count: 200))
                #expect(replies.last == .integer(200))
            }
            try await withClient(port: server.port, configure: {
                $0.host = "localhost"
                $0.tls = true
                $0.tlsTrustedCertificatesPath = ca
            }) { (redis) async throws in
                #expect(try await redis.send(["GET", "k"]).string == "over tls")
            }
        }
    }

    @Test func untrustedCertificateIsRefused() async throws {
        try await withTLSServer { (server, _) async throws in
            try await withClient(port: server.port, configure: { $0.tls = true }) { (redis) async throws in
                let failure = await expectFailure { _ = try await redis.send(["PING"]) }
                guard case .connect(_, let reason)? = failure.error else {
                    Issue.record("expected a connect error, got \(String(describing: failure.error))")
                    return
                }
                #expect(reason.hasPrefix("TLS handshake failed"))
                #expect(failure.seconds < neverHangs)
                #expect(redis.connectionCount == 0)
            }
        }
    }

    @Test("a name the certificate does not cover is refused", arguments: ["redis.example.com", nil])
    func wrongServerNameIsRefused(serverName: String?) async throws {
        try await withTLSServer { (server, ca) async throws in
            try await withClient(port: server.port, configure: {
                $0.tls = true
                $0.tlsTrustedCertificatesPath = ca
                $0.serverName = serverName
            }) { (redis) async throws in
                let failure = await expectFailure { _ = try await redis.send(["PING"]) }
                guard case .connect(_, let reason)? = failure.error else {
                    Issue.record("expected a connect error, got \(String(describing: failure.error))")
                    return
                }
                #expect(reason.hasPrefix("TLS handshake failed"))
            }
        }
    }

    @Test func verificationCanBeTurnedOff() async throws {
        try await withTLSServer { (server, _) async throws in
            try await withClient(port: server.port, configure: {
                $0.tls = true
                $0.tlsVerify = false
            }) { (redis) async throws in
                #expect(try await redis.send(["PING"]) == .simpleString("PONG"))
            }
        }
    }

    /// Redis reads the ClientHello as an unfinished inline command and waits for more, so the
    /// handshake ends at the connect timeout rather than with an alert.
    @Test func tlsToAPlainServerFailsCleanly() async throws {
        try await RedisServer.with { (server) async throws in
            try await withClient(port: server.port, configure: {
                $0.tls = true
                $0.tlsVerify = false
                $0.connectTimeout = .milliseconds(500)
            }) { (redis) async throws in
                let failure = await expectFailure { _ = try await redis.send(["PING"]) }
                guard case .connect(_, let reason)? = failure.error else {
                    Issue.record("expected a connect error, got \(String(describing: failure.error))")
                    return
                }
                #expect(reason.hasPrefix("TLS handshake"))
                #expect(failure.seconds < neverHangs)
                #expect(redis.connectionCount == 0)
            }
        }
    }

    @Test func tlsToASilentServerTimesOutInTheHandshake() async throws {
        let hung = try await FakeRedisServer(reply: nil)
        defer { Task { await hung.close() } }
        try await withClient(port: hung.port, configure: {
            $0.tls = true
            $0.connectTimeout = .milliseconds(300)
        }) { (redis) async throws in
            let failure = await expectFailure { _ = try await redis.send(["PING"]) }
            guard case .connect(_, let reason)? = failure.error else {
                Issue.record("expected a connect error, got \(String(describing: failure.error))")
                return
            }
            #expect(reason == "TLS handshake timed out after 300 ms")
            #expect(failure.seconds < neverHangs)
        }
    }
}
