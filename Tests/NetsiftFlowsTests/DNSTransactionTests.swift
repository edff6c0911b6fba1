import Testing
import NetsiftDissect
import NetsiftTestSupport
@testable import NetsiftFlows

@Suite struct DNSTransactionTests {
    // The question www.example.com A IN (RFC 1035 §4.1.2).
    static let www = "03 777777 07 6578616d706c65 03 636f6d 00 0001 0001"
    // ID 1, flags 0100 (RD): a query.
    static let query = dnsMessage("0001 0100 0001 0000 0000 0000" + www)
    // ID 1, flags 8180 (QR RD RA, NoError), one answer: c00c A IN TTL 300 192.0.2.1.
    static let answer = dnsMessage("0001 8180 0001 0001 0000 0000" + www + "c00c 0001 0001 0000012c 0004 c0000201")
    // ID 1, flags 8383 (QR TC RD RA, NXDomain), no records: a truncated answer.
    static let truncated = dnsMessage("0001 8383 0001 0000 0000 0000" + www)
    // ID 2 over TCP, the same question.
    static let tcpQuery = dnsMessage("0002 0100 0001 0000 0000 0000" + www)
    static let tcpAnswer = dnsMessage("0002 8180 0001 0000 0000 0000" + www)

    static let client = Endpoint(address: IPAddress(ipv4: 0x0A00_0001), port: 40000)
    static let tcpClient = Endpoint(address: IPAddress(ipv4: 0x0A00_0001), port: 40001)
    static let server = Endpoint(address: IPAddress(ipv4: 0x0A00_0035), port: 53)
    static let second: Int64 = 1_000_000_000

    struct Run {
        var tracker = DNSTransactions()
        var done: [DNSTransaction] = []

        mutating func add(_ m: DNSMessage, _ frame: Int, at time: Int64, client: Endpoint = client,
                          transport: Transport = .udp) {
            tracker.add(m, frame: frame, time: time, client: client, server: server, transport: transport) { done.append($0) }
        }

        mutating func finish() { tracker.finish { done.append($0) } }
    }

    @Test func answered() {
        var run = Run()
        run.add(Self.query, 1, at: 10 * Self.second)
        run.add(Self.answer, 2, at: 10 * Self.second + 23_000_000)
        #expect(run.done.count == 1)
        let t = run.done[0]
        #expect(t.outcome == .answered && t.queryFrame == 1 && t.responseFrame == 2 && t.queryCount == 1)
        #expect(t.latency == 23_000_000 && t.responseCode == 0 && t.answerCount == 1 && !t.truncated)
        #expect(t.retriedOverTCP == nil && t.question?.name.text == "www.example.com")
        #expect(run.tracker.outstandingQueries == 0)
    }

    @Test func unansweredAfterTheTimeoutOrAtTheEnd() {
        var run = Run()
        run.add(Self.query, 1, at: 0)
        // Another exchange 5 s later: still within the timeout.
        run.add(Self.tcpQuery, 2, at: 5 * Self.second)
        #expect(run.done.isEmpty)
        // Past 5 s: the first query is over.
        run.tracker.expire(now: 5 * Self.second + 1) { run.done.append($0) }
        #expect(run.done.map(\.queryFrame) == [1] && run.done[0].outcome == .unanswered)
        run.finish()
        #expect(run.done.map(\.queryFrame) == [1, 2] && run.done[1].outcome == .unanswered)
        // An answer after its query timed out has no query to match.
        run.add(Self.answer, 3, at: 20 * Self.second)
        #expect(run.done.last?.outcome == .responseOnly && run.done.last?.responseFrame == 3)
    }

    @Test func retransmittedQuery() {
        var run = Run()
        run.add(Self.query, 1, at: 0)
        run.add(Self.query, 2, at: Self.second)
        run.add(Self.answer, 3, at: Self.second + 5_000_000)
        #expect(run.done.count == 1 && run.done[0].queryCount == 2 && run.done[0].queryFrame == 1)
        #expect(run.done[0].latency == Self.second + 5_000_000)
    }

    @Test func questionCaseDoesNotMatter() {
        // The answer spells the name 03 WwW 07 exAMple 03 com (RFC 4343; 0x20 randomisation).
        let mixed = dnsMessage("0001 8180 0001 0000 0000 0000 03 577757 07 6578414d706c65 03 636f6d 00 0001 0001")
        var run = Run()
        run.add(Self.query, 1, at: 0)
        run.add(mixed, 2, at: 1000)
        #expect(run.done.map(\.outcome) == [.answered])
    }

    @Test func anotherQuestionWithTheSameIDDoesNotMatch() {
        // ID 1 answering www.example.com AAAA (001c) instead of A.
        let aaaa = dnsMessage("0001 8180 0001 0000 0000 0000 03 777777 07 6578616d706c65 03 636f6d 00 001c 0001")
        var run = Run()
        run.add(Self.query, 1, at: 0)
        run.add(aaaa, 2, at: 1000)
        run.finish()
        #expect(run.done.map(\.outcome) == [.responseOnly, .unanswered])
        // From another client port it is another exchange too.
        var other = Run()
        other.add(Self.query, 1, at: 0)
        other.add(Self.answer, 2, at: 1000, client: Self.tcpClient)
        #expect(other.done.map(\.outcome) == [.responseOnly])
    }

    @Test func answerWithoutQuestion() {
        // ID 1, flags 8181 (FormErr), no question: it answers the query with ID 1.
        var run = Run()
        run.add(Self.query, 1, at: 0)
        run.add(dnsMessage("0001 8181 0000 0000 0000 0000"), 2, at: 1000)
        #expect(run.done.map(\.outcome) == [.answered] && run.done[0].responseCode == 1)
        #expect(run.done[0].question?.name.text == "www.example.com")
    }

    @Test func truncatedAnswerRetriedOverTCP() {
        var run = Run()
        run.add(Self.query, 1, at: 0)
        run.add(Self.truncated, 2, at: 1000)
        #expect(run.done.isEmpty)   // watched for a retry
        run.add(Self.tcpQuery, 5, at: Self.second, client: Self.tcpClient, transport: .tcp)
        #expect(run.done.count == 1)
        #expect(run.done[0].truncated && run.done[0].retriedOverTCP == true && run.done[0].responseCode == 3)
        run.add(Self.tcpAnswer, 7, at: Self.second + 1000, client: Self.tcpClient, transport: .tcp)
        #expect(run.done.count == 2 && run.done[1].transport == .tcp && run.done[1].outcome == .answered)
        #expect(run.done[1].retriedOverTCP == nil)
    }

    @Test func truncatedAnswerNotRetried() {
        var run = Run()
        run.add(Self.query, 1, at: 0)
        run.add(Self.truncated, 2, at: 1000)
        run.tracker.expire(now: 6 * Self.second) { run.done.append($0) }
        #expect(run.done.count == 1 && run.done[0].retriedOverTCP == false)
        // At the end of the capture likewise.
        var end = Run()
        end.add(Self.query, 1, at: 0)
        end.add(Self.truncated, 2, at: 1000)
        end.finish()
        #expect(end.done.map(\.retriedOverTCP) == [false])
    }

    @Test func tcpAnswerCountsAsRetryWhenTheQueryWasMissed() {
        var run = Run()
        run.add(Self.truncated, 2, at: 1000)
        run.add(Self.tcpAnswer, 7, at: 2000, client: Self.tcpClient, transport: .tcp)
        #expect(run.done.map(\.retriedOverTCP) == [true, nil])
        #expect(run.done.map(\.outcome) == [.responseOnly, .responseOnly])
    }

    @Test func oldestQueryEvictedAtTheLimit() {
        var run = Run(tracker: DNSTransactions(maximumOutstanding: 2))
        for id in 1...3 {
            let query = dnsMessage("000\(id) 0100 0001 0000 0000 0000" + Self.www)
            run.add(query, id, at: Int64(id))
        }
        #expect(run.done.map(\.queryFrame) == [1] && run.done[0].outcome == .evicted)
        #expect(run.tracker.evicted == 1 && run.tracker.outstandingQueries == 2)
    }

    @Test func multicastFlavorsAreNotMatched() {
        var run = Run()
        run.add(dnsMessage("0000 0000 0001 0000 0000 0000" + Self.www, flavor: .mdns), 1, at: 0)
        run.finish()
        #expect(run.done.isEmpty)
    }

    @Test func memoryStaysBoundedOverManyExchanges() {
        // 200,000 answered exchanges: the arrival list is compacted, never grows with history.
        var run = Run(tracker: DNSTransactions(maximumOutstanding: 16))
        var finished = 0
        for i in 0..<200_000 {
            let time = Int64(i) * 1000
            run.tracker.add(Self.query, frame: 2 * i, time: time, client: Self.client, server: Self.server,
                            transport: .udp) { _ in finished += 1 }
            run.tracker.add(Self.answer, frame: 2 * i + 1, time: time + 1, client: Self.client, server: Self.server,
                            transport: .udp) { _ in finished += 1 }
            if run.tracker.queries.arrivals.count > 2 * (2 * 16 + 1025) {
                Issue.record("\(run.tracker.queries.arrivals.count) arrivals kept after \(i) exchanges")
                break
            }
        }
        #expect(finished == 200_000)
        #expect(run.tracker.outstandingQueries == 0)
    }
}
