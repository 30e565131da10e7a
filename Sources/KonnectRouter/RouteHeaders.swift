/// Request headers as the router sees them; the proxy conforms its header type to this.
public protocol RouteHeaders {
    /// True when any value of the header `lowercasedName` satisfies `predicate` (values as received).
    func anyValue(named lowercasedName: String, where predicate: (Substring) -> Bool) -> Bool
}
