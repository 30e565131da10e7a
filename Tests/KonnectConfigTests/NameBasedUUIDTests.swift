import Testing

@testable import KonnectConfig

@Suite("Name-based UUIDs")
struct NameBasedUUIDTests {
    /// The DNS namespace of RFC 9562, whose version 5 UUIDs are published widely.
    static let dnsNamespace: [UInt8] = [
        0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8,
    ]

    @Test func matchesTheKnownVersion5UUIDOfAName() {
        #expect(NameBasedUUID.make(namespace: Self.dnsNamespace, name: "python.org") == "886313e1-3b8a-5372-9b90-0c9aee199e5d")
    }

    @Test func validatesTheUUIDForm() {
        #expect(NameBasedUUID.isValid("0B3F6D6C-1c0e-4c59-9d43-7a1e4c9b2f10"))
        #expect(!NameBasedUUID.isValid("0b3f6d6c1c0e4c599d437a1e4c9b2f10"))
        #expect(!NameBasedUUID.isValid("0b3f6d6c-1c0e-4c59-9d43-7a1e4c9b2f1g"))
        #expect(!NameBasedUUID.isValid(""))
    }
}
