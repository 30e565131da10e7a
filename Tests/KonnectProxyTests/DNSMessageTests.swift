import Testing

@testable import KonnectProxy

/// Bytes of a name as a sequence of length-prefixed labels, ending with the root.
private func wireName(_ labels: String...) -> [UInt8] {
    labels.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
}

private func header(id: UInt16 = 0xBEEF, flags: UInt16 = 0x8180, questions: UInt16 = 1, answers: UInt16 = 0) -> [UInt8] {
    [id, flags, questions, answers, 0, 0].flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
}

/// `example.com A IN`, starting at byte 12 right after the header.
private let exampleQuestion: [UInt8] = wireName("example", "com") + [0, 1, 0, 1]

@Suite("DNS message encoding and decoding")
struct DNSMessageTests {
    @Test func encodesARecursiveQueryWithEDNS() throws {
        let bytes = try DNSMessage.query(id: 0x1234, DNSQuestion(name: "Example.COM.", type: .a)).encoded()
        let expected: [UInt8] =
            [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]  // id, RD, one question, one additional
            + wireName("example", "com") + [0, 1, 0, 1]
            + [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]  // OPT: root, type 41, 1232-byte payload
        #expect(bytes == expected)
    }

    @Test func encodesAnAAAAQuestion() throws {
        let bytes = try DNSMessage.query(id: 1, DNSQuestion(name: "a.b", type: .aaaa)).encoded()
        #expect(Array(bytes[12..<21]) == wireName("a", "b") + [0, 28, 0, 1])
    }

    @Test(arguments: ["a..b", "a.b..", "x." + String(repeating: "l", count: 64), Array(repeating: "abcdefg", count: 40).joined(separator: ".")])
    func refusesNamesThatCannotBeEncoded(_ name: String) {
        #expect(throws: DNSMessageError.self) { try DNSMessage.query(id: 1, DNSQuestion(name: name, type: .a)).encoded() }
    }

    @Test func followsCompressionPointersAndCNAMEs() throws {
        var bytes = header(answers: 2) + exampleQuestion
        // 29: example.com CNAME web.example.com (TTL 30), the target written as "web" + pointer to 12.
        bytes += [0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 30, 0, 6] + [3] + Array("web".utf8) + [0xC0, 12]
        // 47: web.example.com (pointer to the label at 41) A 93.184.216.34 (TTL 60).
        bytes += [0xC0, 41, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34]
        let message = try DNSMessage(decoding: bytes)
        #expect(message.id == 0xBEEF)
        #expect(message.isResponse)
        #expect(message.questions == [DNSQuestion(name: "example.com", type: .a)])
        #expect(message.answers == [
            .cname("example.com", "web.example.com", ttl: 30),
            .address("web.example.com", DNSAddress(93, 184, 216, 34), ttl: 60),
        ])
        let answer = message.answer(to: DNSQuestion(name: "example.com", type: .a))
        #expect(answer == .addresses([DNSAddress(93, 184, 216, 34)], ttl: 30))
    }

    @Test func answerTTLIsTheSmallestOfTheRecords() throws {
        let message = DNSMessage(id: 7, isResponse: true, questions: [DNSQuestion(name: "multi.test", type: .a)], answers: [
            .address("multi.test", DNSAddress(10, 0, 0, 1), ttl: 300),
            .address("multi.test", DNSAddress(10, 0, 0, 2), ttl: 20),
        ])
        let decoded = try DNSMessage(decoding: message.encoded())
        #expect(decoded.answer(to: DNSQuestion(name: "MULTI.test", type: .a))
            == .addresses([DNSAddress(10, 0, 0, 1), DNSAddress(10, 0, 0, 2)], ttl: 20))
    }

    @Test func decodesAAAARecords() throws {
        let v6 = try #require(DNSAddress("2001:db8::5"))
        let message = DNSMessage(id: 9, isResponse: true, questions: [DNSQuestion(name: "six.test", type: .aaaa)],
                                 answers: [.address("six.test", v6, ttl: 99)])
        let decoded = try DNSMessage(decoding: message.encoded())
        #expect(decoded.answer(to: DNSQuestion(name: "six.test", type: .aaaa)) == .addresses([v6], ttl: 99))
        #expect(v6.description == "2001:db8::5")
    }

    @Test func aCNAMEWithoutTargetRecordsIsAnAlias() throws {
        let bytes = try DNSMessage(id: 1, isResponse: true, questions: [DNSQuestion(name: "www.test", type: .a)],
                                   answers: [.cname("www.test", "edge.cdn.test", ttl: 40)]).encoded()
        let answer = try DNSMessage(decoding: bytes).answer(to: DNSQuestion(name: "www.test", type: .a))
        #expect(answer == .alias("edge.cdn.test", ttl: 40))
    }

    @Test func nxdomainIsANameError() throws {
        let message = try DNSMessage(decoding: header(flags: 0x8183) + exampleQuestion)
        #expect(message.responseCode == .nameError)
        #expect(message.answer(to: DNSQuestion(name: "example.com", type: .a)) == .nameError)
    }

    @Test func noErrorWithoutAnswersIsNoData() throws {
        let message = try DNSMessage(decoding: header(flags: 0x8180) + exampleQuestion)
        #expect(message.answer(to: DNSQuestion(name: "example.com", type: .a)) == .noData)
    }

    @Test func addressesOfAnotherNameAreNotAnAnswer() throws {
        let message = DNSMessage(id: 1, isResponse: true, questions: [DNSQuestion(name: "a.test", type: .a)],
                                 answers: [.address("b.test", DNSAddress(10, 0, 0, 1), ttl: 5)])
        #expect(message.answer(to: DNSQuestion(name: "a.test", type: .a)) == .noData)
    }

    @Test func serverFailureIsAFailureNamingTheCode() throws {
        let message = try DNSMessage(decoding: header(flags: 0x8182) + exampleQuestion)
        guard case .failure(let reason) = message.answer(to: DNSQuestion(name: "example.com", type: .a)) else {
            Issue.record("expected a failure")
            return
        }
        #expect(reason.contains("SERVFAIL"))
    }

    @Test func truncatedResponseDecodesWhatIsComplete() throws {
        // TC set; the answer section claims two records but the second is cut off.
        var bytes = header(flags: 0x8380, answers: 2) + exampleQuestion
        bytes += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]
        bytes += [0xC0, 12, 0, 1, 0]
        let message = try DNSMessage(decoding: bytes)
        #expect(message.truncated)
        #expect(message.answers.count == 1)
        #expect(message.answer(to: DNSQuestion(name: "example.com", type: .a)) == .truncated)
    }

    @Test func shortMessageWithoutTruncationBitIsAnError() {
        var bytes = header(answers: 1) + exampleQuestion
        bytes += [0xC0, 12, 0, 1, 0, 1, 0, 0]
        #expect(throws: DNSMessageError.self) { try DNSMessage(decoding: bytes) }
    }

    @Test func pointerThatDoesNotPointBackwardsIsRejected() {
        // The question's name is a pointer to itself.
        let bytes = header() + [0xC0, 12, 0, 1, 0, 1]
        #expect(throws: DNSMessageError.badCompressionPointer(offset: 12)) { try DNSMessage(decoding: bytes) }
    }

    @Test func addressRecordWithWrongLengthIsRejected() {
        let bytes = header(answers: 1) + exampleQuestion + [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 3, 10, 0, 0]
        #expect(throws: DNSMessageError.badRecordLength(type: .a, length: 3)) { try DNSMessage(decoding: bytes) }
    }

    @Test func ttlWithTheTopBitSetCountsAsZero() throws {
        let bytes = header(answers: 1) + exampleQuestion + [0xC0, 12, 0, 1, 0, 1, 0x80, 0, 0, 1, 0, 4, 10, 0, 0, 1]
        let message = try DNSMessage(decoding: bytes)
        #expect(message.answers.first?.ttl == 0)
    }
}
