import Testing
import NetsiftDissect
import NetsiftFlows
import NetsiftTestSupport

@Suite struct HostileReassemblyTests {
    /// One-byte segments ahead of a hole that never fills: each was held in a list kept sorted by
    /// a linear search, so the 1 MiB budget allowed a million entries and a quadratic time (and
    /// per-entry memory far above the bytes counted). At most `maximumHeldSegments` are held; past
    /// that the hole is given up like at the byte limit, and counted.
    @Test func oneByteSegmentsAheadOfAHoleAreBounded() {
        var d = ReassemblyDriver()
        d.send(999, "", syn: true)           // data starts at 1000; byte 1000 never comes
        let count = 3 * StreamReassembler.maximumHeldSegments
        for index in 0..<count {
            d.send(1001 + UInt32(index), "x")
            #expect(d.reassembler.heldSegments <= StreamReassembler.maximumHeldSegments)
        }
        #expect(d.reassembler.overflowed)
        // The hole is given up once (a gap), then everything held and all that follows is delivered.
        #expect(d.delivered.first == "|")
        #expect(d.delivered.filter { $0 == "|" }.count == 1)
        #expect(d.text.count == 1 + count)
    }
}

@Suite struct HostileFlowTests {
    /// SYNs whose timestamps go back 1 µs each: a sweep for idle flows ran on every packet whose
    /// time went back, and walked every flow (here 30,000: more than 5 minutes in a debug build, now about a second). Time going
    /// back now only moves the sweep clock; no flow is ended early by it either.
    @Test(.timeLimit(.minutes(1))) func decreasingTimestampsDoNotSweepEveryPacket() {
        var d = FlowDriver()
        let count = 30_000
        for index in 0..<count {
            let client = Endpoint(address: IPAddress(ipv4: 0x0A01_0000 | UInt32(index)), port: 40000)
            d.tcp(client, FlowDriver.server, .syn, seq: 1, time: 1_700_000_000 - Double(index) * 1e-6)
        }
        #expect(d.finished.isEmpty)
        #expect(d.tracker.counters.tcpConversations == count)
        #expect(d.end().count == count)
    }
}

@Suite struct HostileDNSTransactionTests {
    /// A flood reusing one ID from one client port with a new name each time: every query waited
    /// under the same key, each lookup a scan of all of them (65,536 at the outstanding limit).
    /// At most `maximumPerKey` wait under one key; the oldest are pushed out and counted.
    @Test func queriesSharingAnIDAreBoundedPerKey() {
        var transactions = DNSTransactions()
        var done: [DNSTransaction] = []
        let client = Endpoint(address: IPAddress(ipv4: 0x0A00_0001), port: 40000)
        let server = Endpoint(address: IPAddress(ipv4: 0x0A00_0035), port: 53)
        let count = 1_000
        for index in 0..<count {
            // ID 0x00aa, flags 0100 (RD), one question: 05 'q' and four digits, 07 example 03 com 00, A, IN.
            let digits = String(index)
            let label = Array(("q" + String(repeating: "0", count: 4 - digits.count) + digits).utf8)
            let bytes = Build.hex("00aa 0100 0001 0000 0000 0000 05") + label
                + Build.hex("07 6578616d706c65 03 636f6d 00 0001 0001")
            let query = bytes.withUnsafeBytes { DNSMessage($0.bytes) }
            transactions.add(query, frame: index + 1, time: 1_000_000 * Int64(index), client: client, server: server,
                             transport: .udp) { done.append($0) }
        }
        #expect(transactions.outstandingQueries == DNSTransactions.maximumPerKey)
        #expect(transactions.evicted == count - DNSTransactions.maximumPerKey)
        #expect(done.count == count - DNSTransactions.maximumPerKey && done.allSatisfy { $0.outcome == .evicted })
        // The oldest went first: the first pushed out is the first query.
        #expect(done.first?.question?.name.text == "q0000.example.com")
    }
}

extension HostileFlowTests {
    /// A blind reset attack: 5,000 RSTs with different sequence numbers on one conversation. Zeek
    /// writes `r`/`R` again for each new sequence number, so the history grew with every packet;
    /// it stops at `HistoryRecorder.maximumLength` letters.
    @Test func historyOfAResetFloodIsBounded() {
        var d = FlowDriver()
        d.handshake(at: 0)
        for index in 0..<5_000 {
            d.tcp(FlowDriver.server, FlowDriver.client, .rst, seq: 1000 + UInt32(index), time: 1 + Double(index) * 1e-6)
        }
        let flows = d.end()
        #expect(flows.count == 1)
        #expect(flows[0].history.count == HistoryRecorder.maximumLength)
        #expect(flows[0].history.hasPrefix("ShAr"))
    }
}
