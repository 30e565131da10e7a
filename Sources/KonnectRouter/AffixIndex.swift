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
/// hash lookup per distinct key length, whatever the number of keys.
struct AffixIndex<Value: Sendable>: Sendable {
    private(set) var table: [UTF8Key: Value] = [:]
    /// Distinct key lengths in UTF-8 bytes, longest first.
    private(set) var lengths: [Int] = []

    var isEmpty: Bool { table.isEmpty }

    mutating func update(_ key: String, default defaultValue: @autoclosure () -> Value, _ body: (inout Value) -> Void) {
        let utf8Key = UTF8Key(key)
        if table[utf8Key] == nil {
            table[utf8Key] = defaultValue()
            let length = key.utf8.count
            if !lengths.contains(length) {
                lengths.append(length)
                lengths.sort(by: >)
            }
        }
        body(&table[utf8Key]!)
    }

    subscript(key: UTF8Key) -> Value? { table[key] }
}
