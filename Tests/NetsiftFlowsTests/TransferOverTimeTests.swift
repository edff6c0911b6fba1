import Foundation
import Testing
import NetsiftDissect
import NetsiftFlows
import NetsiftTestSupport

/// A side's transfer over time, its congestion window per round trip and the client's think times:
/// on conversations built here (the figures follow from how they were built) and on the
/// slow-responses fixture (against the clients' own timings, curl's and tshark's).
@Suite struct TransferOverTimeTests {
    static let client = FlowDriver.client, server = FlowDriver.server

    /// A handshake without window scaling whose ACK opens a 65,535-byte window: the client's window
    /// never holds the server's flights back.
    func handshake(_ d: inout FlowDriver) {
        d.tcp(Self.client, Self.server, .syn, seq: 100, window: 65535, time: 0)
        d.tcp(Self.server, Self.client, [.syn, .ack], seq: 900, ack: 101, window: 65535, time: 0.0001)
        d.tcp(Self.client, Self.server, .ack, seq: 101, ack: 901, window: 65535, time: 0.0002)
    }

    /// Round k: the server sends n_k segments of 1,000 bytes; a round trip (20 ms) later the client
    /// acknowledges all but the round's last segment, and the next round leaves at once. The flight
    /// of round k is then the segment left from the round before plus its own: 2,000 (round 1, none
    /// left), 5,000, 9,000, 17,000, 7,000 (under half of 17,000: a cut), 13,000; the last round is not
    /// counted (nothing follows it), nor is one the sender began after everything was acknowledged.
    @Test func congestionWindowPerRoundTrip() throws {
        var d = FlowDriver()
        handshake(&d)
        var seq: UInt32 = 901, t = 0.01
        for n in [2, 4, 8, 16, 6, 12, 3] {
            for _ in 0..<n {
                d.tcp(Self.server, Self.client, [.psh, .ack], seq: seq, ack: 101, length: 1000, window: 65535, time: t)
                seq += 1000
                t += 0.0001
            }
            t += 0.02
            d.tcp(Self.client, Self.server, .ack, seq: 101, ack: seq - 1000, window: 65535, time: t)
        }
        let c = try #require(d.end().first)
        let flights = c[1].transfer.flights
        #expect(flights.rounds == 6)
        #expect(flights.minimum == 2000)
        #expect(flights.maximum == 17000)
        #expect(flights.median == 7000)
        #expect(flights.reductions == 1)
        let summary = FlowSummary(tcp: c).responder.transfer
        #expect(summary?.congestionWindowMedian == 7000)
        #expect(summary?.congestionWindowRounds == 6)
    }

    /// Rounds of `segments[k]` 1,000-byte segments, each acknowledged (all but its last segment)
    /// 20 ms later, as above; then, 50 ms after the last ACK, `retransmitted` segments sent again
    /// (the first ones: already acknowledged, so retransmissions). Flights: `segments[0]` × 1,000,
    /// then 1,000 more than each round's own segments (the one left from the round before).
    func rounds(_ segments: [Int], retransmitted: Int) throws -> TCPConversation {
        var d = FlowDriver()
        handshake(&d)
        var seq: UInt32 = 901, t = 0.01
        for n in segments {
            for _ in 0..<n {
                d.tcp(Self.server, Self.client, [.psh, .ack], seq: seq, ack: 101, length: 1000, window: 65535, time: t)
                seq += 1000
                t += 0.0001
            }
            t += 0.02
            d.tcp(Self.client, Self.server, .ack, seq: 101, ack: seq - 1000, window: 65535, time: t)
        }
        for k in 0..<retransmitted {
            t += 0.05
            d.tcp(Self.server, Self.client, [.psh, .ack], seq: 901 + UInt32(k) * 1000, ack: 101, length: 1000,
                  window: 65535, time: t)
        }
        return try #require(d.end().first)
    }

    /// T-RAT's congestion class for a sender with few losses (under 1% of its segments) is told by
    /// its window being cut to under half at least twice. 224 segments: flights 4,000, 9,000, 17,000,
    /// 33,000, 13,000 (a cut), 25,000, 49,000, 21,000 (a cut), 41,000, 21,000 (21,000 × 2 is not
    /// under 41,000); with a third round of 36 instead, 37,000 follows 25,000 and 13,000 is the
    /// only cut.
    @Test func fewLossesAndRepeatedCutsAreCongestion() throws {
        let twoCuts = [4, 8, 16, 32, 12, 24, 48, 20, 40, 20], oneCut = [4, 8, 16, 32, 12, 24, 36, 40, 44, 30]
        let cut = try rounds(twoCuts, retransmitted: 2)
        #expect(cut[1].retransmissions == 2)
        #expect(cut[1].dataSegments == 226)
        #expect(cut[1].transfer.flights.reductions == 2)
        #expect(TransferLimit.of(cut[1], to: cut[0]) == .congestion)
        // The same cuts without a loss: the sender's own choice, not congestion.
        let clean = try rounds(twoCuts, retransmitted: 0)
        #expect(clean[1].transfer.flights.reductions == 2)
        #expect(TransferLimit.of(clean[1], to: clean[0]) == .bandwidth)
        // Two losses but one cut: under 1% and not cut round after round.
        let once = try rounds(oneCut, retransmitted: 2)
        #expect(once[1].retransmissions == 2)
        #expect(once[1].transfer.flights.reductions == 1)
        #expect(TransferLimit.of(once[1], to: once[0]) == .bandwidth)
    }

    /// A sender that goes idle (everything acknowledged) between bursts has no round counted: the
    /// application, not the window, set those flights.
    @Test func idleBurstsCountNoRound() throws {
        var d = FlowDriver()
        handshake(&d)
        var seq: UInt32 = 901, t = 0.01
        for _ in 0..<5 {
            for _ in 0..<4 {
                d.tcp(Self.server, Self.client, [.psh, .ack], seq: seq, ack: 101, length: 1000, window: 65535, time: t)
                seq += 1000
            }
            t += 0.02
            d.tcp(Self.client, Self.server, .ack, seq: 101, ack: seq, window: 65535, time: t)
            t += 0.2
        }
        let c = try #require(d.end().first)
        #expect(c[1].transfer.flights.rounds == 0)
        #expect(c[1].transfer.flights.median == nil)
    }

    /// 1,000 bytes every 10 ms for a second (from 5 ms after the SYN), each acknowledged 20 ms later
    /// (the last at 1,015 ms): 32 intervals of 10 ms would not hold that, nor of 20; intervals of 40 ms
    /// do, 26 of them, 25 with 4 segments each (100,000 bytes/s) and the last with an ACK only. One
    /// segment sent twice (in the 7th interval) is throughput, not goodput. The ACKs time the round
    /// trips: 20 ms in every interval, the retransmitted segment's left untimed (Karn).
    /// (The RTT of interval 0: ACKs at 25 and 35 ms of the segments sent at 5 and 15 ms.)
    @Test func throughputAndRoundTripsOverTime() throws {
        var d = FlowDriver()
        handshake(&d)
        var seq: UInt32 = 901
        for i in 0..<100 {
            let t = 0.005 + Double(i) * 0.01
            d.tcp(Self.server, Self.client, [.psh, .ack], seq: seq, ack: 101, length: 1000, window: 65535, time: t)
            if i == 25 {   // sent again at once: a retransmission, acknowledged with the original
                d.tcp(Self.server, Self.client, [.psh, .ack], seq: seq, ack: 101, length: 1000, window: 65535, time: t + 0.001)
            }
            seq += 1000
            d.tcp(Self.client, Self.server, .ack, seq: 101, ack: seq, window: 65535, time: t + 0.002 + (i == 25 ? 0.001 : 0) + 0.018)
        }
        let c = try #require(d.end().first)
        let overTime = try #require(FlowSummary(tcp: c).responder.transfer?.overTime)
        #expect(overTime.start == 0)
        #expect(overTime.intervalNanoseconds == 40_000_000)
        #expect(overTime.throughputBytesPerSecond.count == 26)
        var expected = [Int](repeating: 100_000, count: 25) + [0]
        expected[6] = 125_000   // 5,000 bytes in the 7th interval (240-280 ms): 4,000 and the copy
        #expect(overTime.throughputBytesPerSecond == expected)
        #expect(overTime.goodputBytesPerSecond == [Int](repeating: 100_000, count: 25) + [0])
        // Round trips are timed at the ACK, 20 ms after each segment (the retransmitted one untimed;
        // the handshake's came before the first data segment, and are not in the series).
        #expect(overTime.rttSamples.reduce(0, +) == 99)
        #expect(overTime.rttMeanNanoseconds.allSatisfy { abs($0 - 20_000_000) < 1_000 })
        #expect(overTime.rttSamples[0] == 2 && overTime.rttSamples[25] == 2)   // ACKs at 25 and 35 ms; at 1,005 and 1,015
        // The client sent no data (its SYN's round trip is in its rtt figures only): no series.
        #expect(FlowSummary(tcp: c).originator.transfer?.overTime == nil)
        #expect(c[0].transfer.rtt.count == 1)
    }

    /// Request at t, answer 100 ms later in two segments 5 ms apart, the next request 50 ms after
    /// the answer's last segment: response times of 100 ms and think times of 50 ms.
    @Test func responseAndThinkTimes() throws {
        var d = FlowDriver()
        d.handshake(at: 0)
        var clientSeq: UInt32 = 101, serverSeq: UInt32 = 901, t = 0.01
        for _ in 0..<10 {
            d.tcp(Self.client, Self.server, [.psh, .ack], seq: clientSeq, ack: serverSeq, length: 20, time: t)
            clientSeq += 20
            t += 0.1
            for _ in 0..<2 {
                d.tcp(Self.server, Self.client, [.psh, .ack], seq: serverSeq, ack: clientSeq, length: 500, time: t)
                serverSeq += 500
                t += 0.005
            }
            t += 0.05 - 0.005
        }
        let c = try #require(d.end().first)
        let summary = FlowSummary(tcp: c)
        let responses = try #require(summary.responseTimes), think = try #require(summary.thinkTimes)
        #expect(responses.count == 10 && think.count == 9)
        #expect(abs(responses.minNanoseconds - 100_000_000) < 1_000)
        #expect(abs(think.minNanoseconds - 50_000_000) < 1_000 && abs(think.maxNanoseconds - 50_000_000) < 1_000)
        #expect(abs(Double(think.medianNanoseconds) / 50e6 - 1) < 0.13)
        #expect(abs(c.responseTimes.thinkTotal - 9 * 50_000_000) < 10_000)
    }

    // MARK: The slow-responses fixture

    static let fixture = Corpus.fixturesDirectory.appendingPathComponent("slow-responses")

    func facts() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: Self.fixture.appendingPathComponent("facts.json"))) as? [String: Any])
    }

    /// The nearest-rank percentile of `values`, as the histogram reads it.
    func percentile(_ values: [Double], _ fraction: Double) -> Double {
        let sorted = values.sorted()
        return sorted[max(1, Int((fraction * Double(sorted.count)).rounded(.up))) - 1]
    }

    func conversation(clientPort: UInt16) throws -> FlowSummary {
        let run = try PipelineRun(path: Self.fixture.appendingPathComponent("slow-responses.pcap").path)
        let c = try #require(run.tcpConversations.first { $0[0].endpoint.port == clientPort || $0[1].endpoint.port == clientPort })
        return FlowSummary(tcp: c)
    }

    /// Port 40094: response times against the client's own (request sent to the answer's first
    /// byte), think times against its own (the answer's last byte to the next request sent): the
    /// median and p95 within the histogram's 12% (and a millisecond of the client's own stack).
    @Test func lineProtocolTimesAgreeWithTheClients() throws {
        let waits = try #require(try facts()["waits"] as? [String: Any])
        let exchanges = try #require(waits["exchanges"] as? [[String: Any]])
        let response = exchanges.map { ($0["first_byte_ms"] as! Double) - ($0["sent_ms"] as! Double) }
        let think = zip(exchanges, exchanges.dropFirst()).map { ($1["sent_ms"] as! Double) - ($0["last_byte_ms"] as! Double) }
        let flow = try conversation(clientPort: 40094)
        let responses = try #require(flow.responseTimes), thinks = try #require(flow.thinkTimes)
        #expect(responses.count == exchanges.count && thinks.count == exchanges.count - 1)
        for (ours, theirs) in [(responses.medianNanoseconds, percentile(response, 0.5)), (responses.p95Nanoseconds, percentile(response, 0.95)),
                               (thinks.medianNanoseconds, percentile(think, 0.5)), (thinks.p95Nanoseconds, percentile(think, 0.95))] {
            #expect(abs(Double(ours) / 1e6 - theirs) <= 0.13 * theirs + 1, "\(ours) ns against \(theirs) ms")
        }
        // The capture sees each request leave after the client noted it, and each answer come before
        // the client read it (some milliseconds on a busy machine): responses shorter, think times longer.
        let slowest = Double(responses.maxNanoseconds) / 1e6, shortest = Double(thinks.minNanoseconds) / 1e6
        #expect(slowest <= response.max()! + 0.5 && slowest >= response.max()! - 10)
        #expect(shortest >= think.min()! - 0.5 && shortest <= think.min()! + 10)
    }

    /// Port 40095 (HTTP/1.1, curl on one connection): response times against tshark's http.time and
    /// curl's time_starttransfer (which for the first request includes the handshake).
    @Test func httpResponseTimesAgreeWithTsharkAndCurl() throws {
        let facts = try facts()
        let tshark = try #require(facts["tshark_http_time_s"] as? [Double]).map { $0 * 1000 }
        let curl = try #require((facts["curl"] as? [String: Any])?["time_starttransfer_s"] as? [Double]).map { $0 * 1000 }
        let flow = try conversation(clientPort: 40095)
        let responses = try #require(flow.responseTimes)
        #expect(responses.count == tshark.count)
        #expect(abs(Double(responses.maxNanoseconds) / 1e6 - tshark.max()!) <= 1)
        #expect(abs(Double(responses.minNanoseconds) / 1e6 - tshark.min()!) <= 1)
        for fraction in [0.5, 0.95] {
            let ours = Double(fraction == 0.5 ? responses.medianNanoseconds : responses.p95Nanoseconds) / 1e6
            #expect(abs(ours - percentile(tshark, fraction)) <= 0.13 * percentile(tshark, fraction) + 1)
            #expect(abs(ours - percentile(curl, fraction)) <= 0.13 * percentile(curl, fraction) + 2)
        }
    }

    /// Port 40096: the server's 16 KiB answers go out at once and the client thinks 200 ms (at least:
    /// its own record says how long) after each: the think times make the server's idle time, and
    /// the payload over time adds up to the 20 answers the client read (with what was resent).
    @Test func thinkTimeIsTheServersIdleTime() throws {
        let sends = try #require(try facts()["sends"] as? [String: Any])
        let exchanges = try #require(sends["exchanges"] as? [[String: Any]])
        let think = zip(exchanges, exchanges.dropFirst()).map { ($1["sent_ms"] as! Double) - ($0["last_byte_ms"] as! Double) }
        let flow = try conversation(clientPort: 40096)
        let thinks = try #require(flow.thinkTimes)
        #expect(thinks.count == 19)
        #expect(Double(thinks.minNanoseconds) / 1e6 >= think.min()! - 0.5 && Double(thinks.minNanoseconds) / 1e6 <= think.min()! + 10)
        let transfer = try #require(flow.responder.transfer)
        #expect(transfer.limitedBy == .application)
        // The server is idle from the client's ACK of an answer to its next answer: the client's think
        // time, then the server's response time (both in the client's record).
        let responses = exchanges.map { ($0["first_byte_ms"] as! Double) - ($0["sent_ms"] as! Double) }
        let total = think.reduce(0, +), idle = Double(transfer.idleNanoseconds) / 1e6
        #expect(idle >= total - 19 && idle <= (total + responses.reduce(0, +)) * 1.05)
        let overTime = try #require(transfer.overTime)
        let bytes = overTime.throughputBytesPerSecond.reduce(0) { $0 + Double($1) * Double(overTime.intervalNanoseconds) / 1e9 }
        #expect(abs(bytes - Double(flow.responder.payloadBytes)) <= Double(overTime.throughputBytesPerSecond.count))
        #expect(flow.responder.payloadBytes == 20 * 16384 + (flow.responder.retransmittedBytes ?? 0))
    }

    /// The clean transfer raises no slowness finding (ThroughputFindingTests) because nothing slowed
    /// it, not because it was too small to judge: its 4 MiB (the client's count) are classified, as
    /// the path's own rate; nothing resent; its round trips never grew; its
    /// flights, capped by the 64 KiB send buffer it asked for (which Linux doubles), never met the
    /// client's window.
    @Test func cleanTransferIsJudgedAndFast() throws {
        let folder = Corpus.fixturesDirectory.appendingPathComponent("clean-transfer")
        let facts = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: folder.appendingPathComponent("facts.json"))) as? [String: Any])
        let run = try PipelineRun(path: folder.appendingPathComponent("clean-transfer.pcap").path)
        let c = try #require(run.tcpConversations.first)
        let server = c[c.clientSide == 0 ? 1 : 0], client = c[c.clientSide]
        #expect(server.payloadBytes == (facts["client"] as? [String: Any])?["bytes"] as? Int)
        #expect(server.payloadBytes >= TransferLimit.minimumBytes && server.dataSegments >= TransferLimit.minimumSegments)
        #expect(TransferLimit.of(server, to: client) == .bandwidth)
        #expect(server.retransmissions == 0 && !server.transfer.rttInflated && !server.transfer.windowBound)
        let requested = try #require((facts["sender"] as? [String: Any])?["so_sndbuf_requested"] as? Int)
        #expect(server.transfer.flights.rounds > 0 && server.transfer.flights.maximum <= 2 * requested)
        // Over time, every byte the client counted is in an interval, none of it resent.
        let intervals = try #require(server.transfer.overTime).values
        #expect(intervals.reduce(0) { $0 + $1.payload } == (facts["client"] as? [String: Any])?["bytes"] as? Int)
        #expect(intervals.allSatisfy { $0.retransmitted == 0 })
    }

    /// Timestamps that jump by 127 years (a hostile or broken capture): still at most 32 intervals,
    /// all the payload in them, and no trap.
    @Test func timestampJumpsStayBounded() throws {
        var limits = FlowLimits()
        limits.tcpIdle = .max   // kept across the jump: one conversation spans it
        var d = FlowDriver(limits: limits)
        handshake(&d)
        var seq: UInt32 = 901
        for t in [0.01, 0.02, 4.0e9, 4.0e9 + 0.01] {
            d.tcp(Self.server, Self.client, [.psh, .ack], seq: seq, ack: 101, length: 1000, window: 65535, time: t)
            seq += 1000
            d.tcp(Self.client, Self.server, .ack, seq: 101, ack: seq, window: 65535, time: t + 0.001)
        }
        let c = try #require(d.end().first)
        let overTime = try #require(FlowSummary(tcp: c).responder.transfer?.overTime)
        #expect(overTime.throughputBytesPerSecond.count <= TransferInterval.capacity)
        // (Per second over intervals of years, 2,000 bytes round to 0 B/s: the buckets hold the bytes.)
        let buckets = try #require(c[1].transfer.overTime)
        #expect(buckets.values.reduce(0) { $0 + $1.payload } == 4000)
        // Intervals years wide: the two segments before the jump in the first, the two after in the last.
        #expect(buckets.values.first?.payload == 2000 && buckets.values.last?.payload == 2000)
    }
}
