/// Strict base64url (RFC 4648 §5) without padding, the encoding JWS and JWK use (RFC 7515 §2).
enum Base64URL {
    /// The bytes `text` encodes; nil for any character outside the alphabet (`=` included), a
    /// length no encoding has, or non-zero unused bits in the last character.
    static func decode<Text: Collection<UInt8>>(_ text: Text) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(text.count * 3 / 4)
        var accumulator: UInt32 = 0
        var pendingBits: UInt32 = 0
        for character in text {
            guard let value = sextet(character) else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            pendingBits += 6
            if pendingBits >= 8 {
                pendingBits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> pendingBits))
                accumulator &= (1 << pendingBits) - 1
            }
        }
        // Six pending bits means a length of 4n+1, which no encoding has; the bits a shorter final
        // group leaves over must be zero, so that each byte string has exactly one encoding.
        guard pendingBits < 6, accumulator == 0 else { return nil }
        return output
    }

    /// The six-bit value of one base64url character; nil for anything else.
    private static func sextet(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }
}
