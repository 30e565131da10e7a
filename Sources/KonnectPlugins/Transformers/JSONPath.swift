import KonnectConfig

/// Dotted paths (`a.b.c`) into nested JSON objects, for the transformers' body operations.
extension JSONValue {
    func value(at path: [Substring]) -> JSONValue? {
        guard let first = path.first else { return self }
        guard case .object(let members) = self, let member = members[String(first)] else { return nil }
        return member.value(at: Array(path.dropFirst()))
    }

    /// Sets the value at `path`, making the objects on the way when they are missing. Returns
    /// false (changing nothing) when something on the way is not an object.
    @discardableResult
    mutating func setValue(_ value: JSONValue, at path: [Substring]) -> Bool {
        guard let first = path.first else {
            self = value
            return true
        }
        guard case .object(var members) = self else { return false }
        var member = members[String(first)] ?? .object([:])
        guard member.setValue(value, at: Array(path.dropFirst())) else { return false }
        members[String(first)] = member
        self = .object(members)
        return true
    }

    /// Removes the value at `path`; returns it, or nil when there was none.
    @discardableResult
    mutating func removeValue(at path: [Substring]) -> JSONValue? {
        guard let first = path.first, case .object(var members) = self else { return nil }
        let key = String(first)
        let removed: JSONValue?
        if path.count == 1 {
            removed = members.removeValue(forKey: key)
        } else {
            guard var member = members[key] else { return nil }
            removed = member.removeValue(at: Array(path.dropFirst()))
            members[key] = member
        }
        self = .object(members)
        return removed
    }

    /// The most levels a path made from a request may have.
    static let deepestPath = 64

    static func path(_ dotted: String) -> [Substring] {
        dotted.split(separator: ".", omittingEmptySubsequences: false)
    }
}
