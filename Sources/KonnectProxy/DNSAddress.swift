import NIOCore

/// An IPv4 or IPv6 address as DNS carries it: 4 or 16 bytes in network order, without a port.
struct DNSAddress: Hashable, Sendable, CustomStringConvertible {
    let bytes: [UInt8]

    /// `bytes` must hold 4 (IPv4) or 16 (IPv6) bytes.
    init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        bytes = [a, b, c, d]
    }

    /// Parses an IP literal (`10.0.0.1`, `::1`); `nil` for anything else.
    init?(_ text: String) {
        guard let address = try? SocketAddress(ipAddress: text, port: 0) else { return nil }
        self.init(address)
    }

    /// The IP part of a socket address; `nil` for Unix domain sockets.
    init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4):
            bytes = withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6):
            bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        case .unixDomainSocket:
            return nil
        }
    }

    var isIPv4: Bool { bytes.count == 4 }

    func socketAddress(port: Int) throws -> SocketAddress {
        try SocketAddress(packedIPAddress: ByteBuffer(bytes: bytes), port: port)
    }

    var description: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") }
        return (try? socketAddress(port: 0))?.ipAddress ?? bytes.map { String($0, radix: 16) }.joined(separator: ":")
    }
}
