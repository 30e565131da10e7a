/// List prices of well-known models (US dollars per million tokens, standard tier, short
/// context), used when a deployment names no price of its own.
public enum PriceTable {
    /// By model name; a dated name (`claude-sonnet-4-5-20250929`, `gpt-4o-2024-08-06`) takes the
    /// price of the longest name it starts with.
    static let prices: [String: Price] = [
        "gpt-5": Price(input: 1.25, output: 10, cachedInput: 0.125),
        "gpt-5-mini": Price(input: 0.25, output: 2, cachedInput: 0.025),
        "gpt-5-nano": Price(input: 0.05, output: 0.4, cachedInput: 0.005),
        "gpt-4.1": Price(input: 2, output: 8, cachedInput: 0.5),
        "gpt-4.1-mini": Price(input: 0.4, output: 1.6, cachedInput: 0.1),
        "gpt-4.1-nano": Price(input: 0.1, output: 0.4, cachedInput: 0.025),
        "gpt-4o": Price(input: 2.5, output: 10, cachedInput: 1.25),
        "gpt-4o-mini": Price(input: 0.15, output: 0.6, cachedInput: 0.075),
        "o3": Price(input: 2, output: 8, cachedInput: 0.5),
        "o4-mini": Price(input: 1.1, output: 4.4, cachedInput: 0.275),
        "claude-opus-4-5": Price(input: 5, output: 25, cachedInput: 0.5, cacheWrite: 6.25),
        "claude-opus-4-1": Price(input: 15, output: 75, cachedInput: 1.5, cacheWrite: 18.75),
        "claude-opus-4": Price(input: 15, output: 75, cachedInput: 1.5, cacheWrite: 18.75),
        "claude-sonnet-4-5": Price(input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75),
        "claude-sonnet-4": Price(input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75),
        "claude-3-7-sonnet": Price(input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75),
        "claude-haiku-4-5": Price(input: 1, output: 5, cachedInput: 0.1, cacheWrite: 1.25),
        "claude-3-5-haiku": Price(input: 0.8, output: 4, cachedInput: 0.08, cacheWrite: 1),
        "gemini-2.5-pro": Price(input: 1.25, output: 10),
        "gemini-2.5-flash": Price(input: 0.3, output: 2.5),
        "gemini-2.5-flash-lite": Price(input: 0.1, output: 0.4),
        "gemini-2.0-flash": Price(input: 0.1, output: 0.4),
    ]

    /// The list price of `model`, if it is a well-known one.
    public static func price(of model: String) -> Price? {
        let name = model.lowercased()
        if let price = prices[name] { return price }
        // The longest known name that the model's name extends with a `-` (a date or version).
        return prices.filter { name.hasPrefix($0.key + "-") }.max { $0.key.count < $1.key.count }?.value
    }
}
