import Testing
import NetsiftDissect
import NetsiftFlows

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
