import Testing
import NetsiftFlows

/// Drives one direction's reassembler with segments given as (seq, bytes) and records what it
/// delivers: the bytes, and "|" for each gap.
struct ReassemblyDriver {
    var reassembler = StreamReassembler()
    var delivered: [String] = []
    var budget = 1 << 20

    mutating func send(_ seq: UInt32, _ text: String, syn: Bool = false, fin: Bool = false, wireLength: Int? = nil) {
        let bytes = Array(text.utf8)
        var out: [String] = []
        reassembler.add(seq: seq, syn: syn, fin: fin, payload: bytes.span.bytes, wireLength: wireLength ?? bytes.count,
                        budget: budget) { chunk in
            out.append(Self.text(chunk))
        }
        delivered += out
    }

    mutating func ack(_ ack: UInt32) {
        var out: [String] = []
        reassembler.acknowledged(ack) { chunk in
            out.append(Self.text(chunk))
        }
        delivered += out
    }

    var text: String { delivered.joined() }

    static func text(_ chunk: RawSpan?) -> String {
        guard let chunk else { return "|" }
        return String(decoding: (0..<chunk.byteCount).map { chunk.u8($0) }, as: UTF8.self)
    }
}

@Suite struct StreamReassemblyTests {
    /// A FIN takes one sequence number (RFC 9293 §3.4): the ACK of it is not a missed byte.
    @Test func ackOfFINIsNotAGap() {
        var d = ReassemblyDriver()
        d.send(999, "", syn: true)
        d.send(1000, "abcd", fin: true)     // FIN at 1004
        d.ack(1005)
        #expect(d.delivered == ["abcd"])
        var e = ReassemblyDriver()
        e.send(999, "", syn: true)
        e.send(1000, "ab")
        e.send(1004, "", fin: true)         // bytes 1002-1003 never seen, then the FIN
        e.ack(1005)
        #expect(e.delivered == ["ab", "|"])
    }

    @Test func inOrderAfterSYN() {
        var d = ReassemblyDriver()
        d.send(999, "", syn: true)          // ISN 999: data starts at 1000
        d.send(1000, "GET ")
        d.send(1004, "/ HTTP/1.1")
        #expect(d.delivered == ["GET ", "/ HTTP/1.1"])
    }

    @Test func retransmissionIsDeliveredOnce() {
        var d = ReassemblyDriver()
        d.send(999, "", syn: true)
        d.send(1000, "abcd")
        d.send(1000, "abcd")
        d.send(1002, "cdef")                // overlaps: only "ef" is new
        #expect(d.delivered == ["abcd", "ef"])
    }

    @Test func outOfOrderWaitsForTheHole() {
        var d = ReassemblyDriver()
        d.send(999, "", syn: true)
        d.send(1004, "efgh")
        #expect(d.delivered.isEmpty)
        #expect(d.reassembler.pendingBytes == 4)
        d.send(1000, "abcd")
        #expect(d.text == "abcdefgh")
        #expect(d.reassembler.pendingBytes == 0)
    }

    @Test func segmentsHeldInAnyOrderComeOutSorted() {
        var d = ReassemblyDriver()
        d.send(0, "", syn: true)
        d.send(7, "ghi")
        d.send(4, "def")
        d.send(10, "j")
        d.send(1, "abc")
        #expect(d.text == "abcdefghij")
    }

    @Test func ackPastAHoleGivesItUp() {
        var d = ReassemblyDriver()
        d.send(0, "", syn: true)
        d.send(1, "abc")
        d.send(8, "hij")                    // 4..<8 never captured
        d.ack(11)                           // the peer got everything
        #expect(d.delivered == ["abc", "|", "hij"])
        #expect(d.reassembler.gaps == 1)
    }

    @Test func ackWithinDeliveredBytesChangesNothing() {
        var d = ReassemblyDriver()
        d.send(0, "", syn: true)
        d.send(1, "abc")
        d.ack(4)
        d.ack(2)
        #expect(d.delivered == ["abc"])
    }

    @Test func overTheLimitTheHoleIsGivenUp() {
        var d = ReassemblyDriver()
        d.budget = 4
        d.send(0, "", syn: true)
        d.send(1, "ab")
        d.send(5, "efg")                    // held: 3 bytes
        d.send(8, "hi")                     // 5 > 4: give up 3..<5, deliver what is held, go on
        #expect(d.delivered == ["ab", "|", "efg", "hi"])
        #expect(d.reassembler.overflowed)
        #expect(d.reassembler.pendingBytes == 0)
    }

    @Test func bytesTheSnaplenCutAreAGap() {
        var d = ReassemblyDriver()
        d.send(0, "", syn: true)
        d.send(1, "abc", wireLength: 10)    // 7 bytes on the wire were not captured
        d.send(11, "xyz")
        #expect(d.delivered == ["abc", "|", "xyz"])
    }

    @Test func midstreamStartsAtTheFirstData() {
        var d = ReassemblyDriver()
        d.send(5000, "mid")
        d.send(5003, "dle")
        #expect(d.text == "middle")
    }

    @Test func sequenceNumbersWrapAround() {
        var d = ReassemblyDriver()
        d.send(0xFFFF_FFFD, "", syn: true)  // data starts at 0xFFFFFFFE
        d.send(0xFFFF_FFFE, "abcd")         // runs over the wrap
        d.send(2, "ef")
        d.send(0xFFFF_FFFF, "bc")           // old bytes
        #expect(d.delivered == ["abcd", "ef"])
    }
}
