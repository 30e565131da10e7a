import Crypto

/// Name-based UUIDs (RFC 9562 version 5, SHA-1), used for the ids of entities a file leaves unnamed.
///
/// The same namespace and name always give the same UUID, so reloading an unchanged file keeps
/// every id.
public enum NameBasedUUID {
    /// The namespace of every id Konnect derives for declarative entities.
    static let konnectNamespace: [UInt8] = [
        0x6b, 0x6f, 0x6e, 0x6e, 0x65, 0x63, 0x74, 0x2d, 0x8e, 0x1f, 0x4a, 0x3c, 0x9d, 0x52, 0x27, 0x0b,
    ]

    /// The version 5 UUID of `name` in `namespace` (16 bytes), as a lower-case string.
    static func make(namespace: [UInt8] = konnectNamespace, name: String) -> String {
        // SHA-1 is what version 5 prescribes; these ids are names, not secrets.
        var digest = Array(Insecure.SHA1.hash(data: namespace + Array(name.utf8)))
        digest[6] = (digest[6] & 0x0F) | 0x50
        digest[8] = (digest[8] & 0x3F) | 0x80
        return format(Array(digest.prefix(16)))
    }

    /// The 16 bytes of a UUID string in the 8-4-4-4-12 form, or `nil` if it is not one.
    static func bytes(of text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 36 else { return nil }
        var bytes: [UInt8] = []
        var index = 0
        while index < utf8.count {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard utf8[index] == UInt8(ascii: "-") else { return nil }
                index += 1
                continue
            }
            guard let high = hexValue(utf8[index]), let low = hexValue(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    /// Whether `text` is a UUID in the 8-4-4-4-12 hexadecimal form (either case).
    static func isValid(_ text: String) -> Bool {
        bytes(of: text) != nil
    }

    static func format(_ bytes: [UInt8]) -> String {
        var text = ""
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append("-") }
            text += hex([byte])
        }
        return text
    }

    /// Lower-case hexadecimal digits of `bytes`.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        Array(bytes).withUnsafeBytes(hex)
    }

    /// `bytes` as lower-case hex digits, written in place. Not generic, so a caller in another
    /// module (proxy-cache makes a key per request) runs compiled code, not generic code whose
    /// types are looked up at run time.
    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 2 * bytes.count) { out in
            digits.withUTF8Buffer { digits in
                for (index, byte) in bytes.enumerated() {
                    out[2 * index] = digits[Int(byte >> 4)]
                    out[2 * index + 1] = digits[Int(byte & 0x0F)]
                }
            }
            return 2 * bytes.count
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
