/// A string slice used as a dictionary key, hashed and compared byte for byte (no Unicode normalisation),
/// so a lookup with a slice of the request never allocates.
struct UTF8Key: Hashable, Sendable {
    let bytes: Substring.UTF8View

    init(_ bytes: Substring.UTF8View) {
        self.bytes = bytes
    }

    init(_ string: String) {
        self.bytes = Substring(string).utf8
    }

    static func == (lhs: UTF8Key, rhs: UTF8Key) -> Bool {
        guard lhs.bytes.count == rhs.bytes.count else { return false }
        let fast = lhs.bytes.withContiguousStorageIfAvailable { left in
            rhs.bytes.withContiguousStorageIfAvailable { right in left.elementsEqual(right) }
        }
        if let fast, let equal = fast { return equal }
        return lhs.bytes.elementsEqual(rhs.bytes)
    }

    func hash(into hasher: inout Hasher) {
        // Both paths feed the same byte stream to the hasher, so they agree on every key.
        let hashed: Void? = bytes.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        if hashed == nil {
            for byte in bytes { hasher.combine(byte) }
        }
    }
}

/// Values keyed by strings, answering "which keys are a prefix (or a suffix) of this string?" with one
/// hash lookup per distinct key length, whatever the number of keys. A prefix lookup is skipped
/// at once when no key of that length ends with the string's byte there.
struct AffixIndex<Value: Sendable>: Sendable {
    private(set) var table: [UTF8Key: Value] = [:]
    /// Distinct key lengths in UTF-8 bytes, longest first.
    private(set) var lengths: [Int] = []
    /// For each of `lengths`, the bytes its keys end with.
    private var lastBytes: [ByteSet] = []

    var isEmpty: Bool { table.isEmpty }

    mutating func update(_ key: String, default defaultValue: @autoclosure () -> Value, _ body: (inout Value) -> Void) {
        let utf8Key = UTF8Key(key)
        if table[utf8Key] == nil {
            table[utf8Key] = defaultValue()
            let length = key.utf8.count
            let position = lengths.firstIndex { $0 <= length } ?? lengths.count
            if position == lengths.count || lengths[position] != length {
                lengths.insert(length, at: position)
                lastBytes.insert(ByteSet(), at: position)
            }
            if let last = key.utf8.last { lastBytes[position].insert(last) }
        }
        body(&table[utf8Key]!)
    }

    subscript(key: UTF8Key) -> Value? { table[key] }

    /// Calls `body` with the value of each key that is a prefix of `bytes`, longest first.
    func forEachPrefix(of bytes: String.UTF8View, _ body: (Value) -> Void) {
        let count = bytes.count
        for (position, length) in lengths.enumerated() where length <= count {
            let end = bytes.index(bytes.startIndex, offsetBy: length)
            if length > 0, !lastBytes[position].contains(bytes[bytes.index(before: end)]) { continue }
            if let value = table[UTF8Key(bytes[..<end])] { body(value) }
        }
    }
}

/// A set of byte values, as 256 bits.
struct ByteSet: Sendable {
    private var words = InlineArray<4, UInt64>(repeating: 0)

    mutating func insert(_ byte: UInt8) {
        words[Int(byte >> 6)] |= 1 << UInt64(byte & 63)
    }

    func contains(_ byte: UInt8) -> Bool {
        words[Int(byte >> 6)] & (1 << UInt64(byte & 63)) != 0
    }
}
