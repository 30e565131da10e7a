import KonnectAI
import NIOCore

/// Feeds `pieces` to `decoder`, one `decode` call each, then finishes it.
func decodeStream(_ decoder: some ChatStreamDecoder, _ pieces: [[UInt8]]) throws(AIError) -> [ChatStreamEvent] {
    var decoder = decoder
    var events: [ChatStreamEvent] = []
    for piece in pieces { events += try decoder.decode(ByteBuffer(bytes: piece)) }
    events += try decoder.finish()
    return events
}

/// The events `decoder` gives for `text` before its end, and the error `finish()` throws.
func decodeStreamUntilFinish(_ decoder: some ChatStreamDecoder, _ text: String) throws -> (events: [ChatStreamEvent], finishError: AIError?) {
    var decoder = decoder
    let events = try decoder.decode(ByteBuffer(string: text))
    do throws(AIError) {
        _ = try decoder.finish()
        return (events, nil)
    } catch {
        return (events, error)
    }
}

/// The error `body` throws, or nil when it throws none.
func thrownAIError(_ body: () throws(AIError) -> Void) -> AIError? {
    do throws(AIError) {
        try body()
        return nil
    } catch {
        return error
    }
}
