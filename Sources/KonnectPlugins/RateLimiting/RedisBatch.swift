import KonnectRedis
import NIOConcurrencyHelpers
import NIOCore

/// The runs of one script that requests on one event loop ask of one Redis client during one
/// turn of the loop, sent together: one pipelined write and one hop to the client's loop and
/// back for all of them, where each request alone cost a hop each way and a write of its own.
///
/// Used only on its event loop (`on(_:client:script:)` hands each loop its own).
final class RedisBatch: @unchecked Sendable {
    /// What a run is told: the script's reply (an error reply as a `RedisError.server`), or why
    /// there is none. Called on the batch's loop.
    typealias Reply = (Result<RESPValue, any Error>) -> Void

    /// Looked up per request: hashed by loop and client only (a client runs few scripts), so
    /// the digest is compared but not hashed.
    private struct Key: Hashable {
        let loop: ObjectIdentifier
        let client: ObjectIdentifier
        let script: String

        func hash(into hasher: inout Hasher) {
            hasher.combine(loop)
            hasher.combine(client)
        }
    }

    private static let batches = NIOLockedValueBox<[Key: RedisBatch]>([:])

    private let loop: any EventLoop
    private let client: RedisClient
    private let script: RedisScript
    /// Each run's `EVALSHA` arguments after the digest (key count, keys, arguments), and who
    /// waits for its reply.
    private var runs: [(tail: [String], reply: Reply)] = []

    private init(loop: any EventLoop, client: RedisClient, script: RedisScript) {
        self.loop = loop
        self.client = client
        self.script = script
    }

    /// The batch of `loop` for runs of `script` through `client`.
    static func on(_ loop: any EventLoop, client: RedisClient, script: RedisScript) -> RedisBatch {
        let key = Key(loop: ObjectIdentifier(loop), client: ObjectIdentifier(client), script: script.sha1)
        return batches.withLockedValue { batches in
            if let batch = batches[key] { return batch }
            let batch = RedisBatch(loop: loop, client: client, script: script)
            batches[key] = batch
            return batch
        }
    }

    /// Runs the script with `tail` (key count, keys, arguments) once the loop's current turn is
    /// over, with the other runs asked for in it.
    func eval(_ tail: [String], reply: @escaping Reply) {
        runs.append((tail, reply))
        if runs.count == 1 { loop.execute { self.send() } }
    }

    private func send() {
        let batch = NIOLoopBound(runs, eventLoop: loop)
        runs.removeAll(keepingCapacity: true)
        let loop = self.loop
        client.send(batch.value.map { ["EVALSHA", script.sha1] + $0.tail }).whenComplete { result in
            loop.execute { self.deliver(batch.value, result) }
        }
    }

    private func deliver(_ batch: [(tail: [String], reply: Reply)], _ result: Result<[RESPValue], any Error>) {
        let replies: [RESPValue]
        switch result {
        case .success(let value): replies = value
        case .failure(let error):
            for run in batch { run.reply(.failure(error)) }
            return
        }
        for (run, reply) in zip(batch, replies) {
            guard case .error(let message) = reply, message.hasPrefix("NOSCRIPT") else {
                run.reply(Result { try reply.throwingServerError() })
                continue
            }
            // The server has lost its script cache (a restart): the script goes whole, which
            // caches it again for the runs after.
            let waiting = NIOLoopBound(run.reply, eventLoop: loop)
            let loop = self.loop
            client.send(["EVAL", script.source] + run.tail).whenComplete { result in
                loop.execute { waiting.value(result) }
            }
        }
    }
}
