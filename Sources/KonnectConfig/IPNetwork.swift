#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as its bytes (4 or 16).
public struct IPAddress: Sendable, Hashable {
    public let bytes: [UInt8]

    /// Parses `192.0.2.1`, `2001:db8::1` or `::ffff:192.0.2.1` (taken as the IPv4 address it
    /// maps, so a client seen over an IPv6 socket matches IPv4 rules); nil for anything else.
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let all = withUnsafeBytes(of: &v6) { Array($0) }
        if all[0..<10].allSatisfy({ $0 == 0 }) && all[10] == 0xFF && all[11] == 0xFF {
            bytes = Array(all[12...])
        } else {
            bytes = all
        }
    }
}

/// An address block written in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`), or one address.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    /// Parses `address` or `address/prefix`; nil when either part is invalid.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        let bits = address.bytes.count * 8
        if parts.count == 2 {
            // A mapped IPv6 block like ::ffff:10.0.0.0/104 counts from the IPv4 part.
            let offset = bits == 32 && parts[0].contains(":") ? 96 : 0
            guard parts[1].allSatisfy(\.isASCII), let given = Int(parts[1]), (offset...offset + bits).contains(given) else { return nil }
            prefixLength = given - offset
        } else {
            prefixLength = bits
        }
        self.address = address
    }

    /// Whether `candidate` is inside this block (an IPv4 address is never inside an IPv6 block).
    public func contains(_ candidate: IPAddress) -> Bool {
        guard candidate.bytes.count == address.bytes.count else { return false }
        var remaining = prefixLength
        for index in address.bytes.indices where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if (candidate.bytes[index] ^ address.bytes[index]) & mask != 0 { return false }
            remaining -= 8
        }
        return true
    }

    public var description: String {
        let family = address.bytes.count == 4 ? AF_INET : AF_INET6
        var text = [CChar](repeating: 0, count: 64)
        address.bytes.withUnsafeBytes { _ = inet_ntop(family, $0.baseAddress, &text, 64) }
        let written = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "\(written)/\(prefixLength)"
    }
}
