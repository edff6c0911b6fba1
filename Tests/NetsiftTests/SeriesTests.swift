import Testing
import NetsiftTestSupport
@testable import Netsift
import NetsiftFlows

/// What the HTML report draws, recorded in the one pass: the bounded containers against values
/// worked out by hand, and a fixture's series against tshark's figures for it.
struct SeriesTests {
    struct Count: BucketValue, Equatable {
        var n = 0
        mutating func merge(_ other: Count) { n += other.n }
    }

    @Test func intervalsDoubleWhenTheCaptureOutgrowsThem() {
        var buckets = TimeBuckets<Count>(start: 1_000, width: 10, capacity: 4)
        for time in [1_005, 1_015, 1_025, 1_035] as [Int64] { buckets.withValue(at: time) { $0.n += 1 } }
        #expect(buckets.values == [Count(n: 1), Count(n: 1), Count(n: 1), Count(n: 1)])
        // 1,045 is past four intervals of 10: pairs merge into intervals of 20, and it lands in the third.
        buckets.withValue(at: 1_045) { $0.n += 1 }
        #expect(buckets.width == 20)
        #expect(buckets.values == [Count(n: 2), Count(n: 2), Count(n: 1)])
        #expect(buckets.time(of: 2) == 1_040)
        // A time before the start (timestamps may go back) counts in the first interval.
        buckets.withValue(at: 0) { $0.n += 1 }
        #expect(buckets.values[0] == Count(n: 3))
    }

    @Test func thinningKeepsAnEvenSpread() {
        var thinned = Thinned<Int>(capacity: 4)
        for value in 0..<10 { thinned.add(value) }
        // Full at 4: every other one is dropped and every second one kept (0, 2, 4, 6); full again
        // at 8: every fourth (0, 4, 8).
        #expect(thinned.elements == [0, 4, 8])
        #expect(thinned.stride == 4)
        #expect(thinned.offered == 10)
    }

    static let fixture = Corpus.fixturesDirectory
        .appendingPathComponent("tcp-loss-retransmissions/tcp-loss-retransmissions.pcap").path

    func analyse(_ limits: SeriesLimits) throws -> CaptureSeries {
        var options = AnalysisOptions()
        options.series = limits
        options.threads = 2   // recording runs on one thread whatever is asked
        return try #require(try Analysis.analyze(path: Self.fixture, options: options).series)
    }

    /// Figures from tshark 4.0.17 over the fixture: 27 segments flagged retransmission (fast or
    /// spurious included), all in tcp.stream 1, no RST; the client (10.77.1.1:57070) sent 564,869
    /// bytes of TCP payload in it (retransmissions included); the server's last packet there
    /// (frame 634) acknowledges 524,327 (relative) with a window of 659,456 (scaled). facts.json: 638
    /// packets, 610,247 bytes on the wire.
    @Test func aFixturesSeriesAgreeWithTshark() throws {
        let series = try analyse(SeriesLimits())
        let timeline = try #require(series.timeline)
        #expect(timeline.values.reduce(0) { $0 + $1.packets } == 638)
        #expect(timeline.values.reduce(0) { $0 + $1.bytes } == 610_247)
        #expect(timeline.values.reduce(0) { $0 + $1.retransmissions } == 27)
        #expect(series.retransmissions == 27)
        #expect(series.resets == 0)
        let data = try #require(series.conversations[1])
        #expect(data.first.endpoint == "10.77.1.1:57070")
        #expect(data.dataSide == 0)
        #expect(data.first.payloadBytes == 564_869)
        #expect(data.first.marks.elements.filter { $0.kind == .retransmission }.count == 27)
        let last = try #require(data.second.points.elements.last)
        #expect(last.acknowledgment == 524_327)
        #expect(last.window == 659_456)
        // The handshake's SYN is relative sequence 0, its data starts at 1 (Wireshark's numbering).
        #expect(data.first.points.elements.first?.sequence == 0)
        #expect(data.first.points.elements.first { $0.length > 1 }?.sequence == 1)
        // Frame 1's time is the capture's first (facts.json: first_timestamp_ns).
        #expect(series.time(ofFrame: 1) == 1_795_664_608_156_225_000)
    }

    @Test func limitsBoundWhatIsKept() throws {
        var limits = SeriesLimits()
        limits.pointsPerDirection = 16
        limits.marksPerDirection = 8
        limits.intervals = 8
        limits.keptConversations = 1
        let series = try analyse(limits)
        #expect((series.timeline?.values.count ?? 0) <= 8)
        // The one kept is the most troubled: the data connection, with its retransmissions.
        #expect(Array(series.conversations.keys) == [1])
        let data = try #require(series.conversations[1])
        for side in [data.first, data.second] {
            #expect(side.points.elements.count <= 16)
            #expect(side.marks.elements.count <= 8)
        }
        #expect(data.buckets.values.count <= 8)
        // Thinned evenly: the points still span the conversation.
        #expect(data.first.points.elements.first?.time == data.start)
    }
}
