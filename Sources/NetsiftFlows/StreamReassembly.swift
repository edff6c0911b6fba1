import NetsiftDissect

/// Bounds on TCP stream reassembly. Only conversations whose application protocol Netsift parses
/// are reassembled, and only segments that arrive ahead of a hole are ever copied.
public struct ReassemblyLimits: Sendable, Equatable {
    /// Out-of-order bytes one direction may hold while it waits for a hole to fill.
    public var bytesPerDirection: Int
    /// Out-of-order bytes all conversations together may hold.
    public var totalBytes: Int

    public init(bytesPerDirection: Int = 1 << 20, totalBytes: Int = 64 << 20) {
        self.bytesPerDirection = bytesPerDirection
        self.totalBytes = totalBytes
    }
}

/// One direction of a TCP conversation put back in sequence order: retransmitted and overlapping
/// bytes are delivered once (the first copy wins, as Wireshark's reassembly keeps it), segments
/// ahead of a hole wait, copied, until the hole fills. Delivery is a callback taking the next
/// in-order bytes, or nil for a gap (bytes missing for good: what follows does not continue what
/// came before). A hole is given up — reported as a gap —
/// when the peer acknowledges past it (the capture missed those bytes) or when the held bytes
/// or segments reach their limit (the direction is then marked `overflowed`).
public struct StreamReassembler: Sendable {
    /// Segments one direction may hold ahead of a hole. Bounds the work per segment and the memory
    /// beyond the bytes themselves (tiny segments would otherwise be a million entries in 1 MiB).
    public static let maximumHeldSegments = 1_024

    /// The next sequence number to deliver, once known (from the SYN or the first data).
    var nextSeq: UInt32 = 0
    var started = false
    /// Segments ahead of `nextSeq`, sorted by sequence number.
    var pending: [(seq: UInt32, bytes: [UInt8])] = []
    public private(set) var pendingBytes = 0
    /// Segments held ahead of a hole.
    public var heldSegments: Int { pending.count }
    /// A limit made this direction drop held bytes at least once.
    public private(set) var overflowed = false
    /// Gaps delivered (holes given up).
    public private(set) var gaps = 0
    /// This direction's FIN, once seen: it takes a sequence number but carries no byte, so the
    /// peer's ACK of it is one past the last byte.
    var finSeq: UInt32?

    public init() {}

    /// Adds one segment. `payload` is its captured payload, `wireLength` its length on the wire
    /// (a segment the snaplen cut delivers what was captured, then a gap). `budget` is what the
    /// direction may still hold, given the global limit; the change in held bytes is returned so
    /// the caller can keep the global count.
    @discardableResult
    public mutating func add(seq: UInt32, syn: Bool, fin: Bool = false, payload: RawSpan, wireLength: Int,
                             budget: Int, _ deliver: (RawSpan?) -> Void) -> Int {
        let before = pendingBytes
        var seq = seq
        if syn {
            seq &+= 1
            if !started {
                nextSeq = seq
                started = true
            }
        }
        if fin { finSeq = seq &+ UInt32(truncatingIfNeeded: wireLength) }
        guard wireLength > 0 else { return 0 }
        if !started {
            nextSeq = seq
            started = true
        }
        let end = seq &+ UInt32(truncatingIfNeeded: wireLength)
        guard seqGreater(end, nextSeq) else { return 0 }   // every byte delivered already
        if seqGreater(seq, nextSeq) {
            hold(seq: seq, payload: payload, wireLength: wireLength, budget: budget, deliver)
            return pendingBytes - before
        }
        let skip = Int(nextSeq &- seq)
        if payload.byteCount > skip {
            deliver(payload.extracting(skip..<payload.byteCount))
        }
        nextSeq = end
        if payload.byteCount < wireLength {
            deliver(nil)   // the snaplen cut these bytes off: they are gone
            gaps += 1
        }
        drain(deliver)
        return pendingBytes - before
    }

    /// The peer acknowledged up to `ack`: bytes below it that were never seen never will be.
    @discardableResult
    public mutating func acknowledged(_ ack: UInt32, _ deliver: (RawSpan?) -> Void) -> Int {
        var ack = ack
        if let finSeq, ack == finSeq &+ 1 { ack = finSeq }   // acknowledges the FIN, not a byte
        guard started, seqGreater(ack, nextSeq) else { return 0 }
        // The peer has these bytes and we never saw them: waiting longer cannot help. (A capture
        // that records a segment after its ACK would also land here; we do not wait for that.)
        let before = pendingBytes
        skip(to: ack, deliver)
        return pendingBytes - before
    }

    /// Drops everything held (the conversation ended); returns the change in held bytes.
    public mutating func reset() -> Int {
        let held = pendingBytes
        pending.removeAll()
        pendingBytes = 0
        return -held
    }

    mutating func hold(seq: UInt32, payload: RawSpan, wireLength: Int, budget: Int,
                       _ deliver: (RawSpan?) -> Void) {
        let count = payload.byteCount
        if pendingBytes + count > budget || pending.count >= Self.maximumHeldSegments {
            // Over the limit: give up the holes up to this segment, delivering what is held.
            overflowed = true
            skip(to: seq, deliver)
            add(seq: seq, syn: false, payload: payload, wireLength: wireLength, budget: budget, deliver)
            return
        }
        let copy = payload.withUnsafeBytes { Array($0) }
        // Sorted by sequence number; segments usually come in order, so the place is found from the end.
        var index = pending.count
        while index > 0 && seqGreater(pending[index - 1].seq, seq) { index -= 1 }
        pending.insert((seq, copy), at: index)
        pendingBytes += count
    }

    /// Gives up every hole before `target`: a gap for each, and the held data between them.
    mutating func skip(to target: UInt32, _ deliver: (RawSpan?) -> Void) {
        while seqLess(nextSeq, target) {
            deliver(nil)
            gaps += 1
            nextSeq = pending.first.map { seqLess($0.seq, target) ? $0.seq : target } ?? target
            drain(deliver)
        }
    }

    /// Delivers held segments that now continue the stream.
    mutating func drain(_ deliver: (RawSpan?) -> Void) {
        while let first = pending.first, !seqGreater(first.seq, nextSeq) {
            pending.removeFirst()
            pendingBytes -= first.bytes.count
            let end = first.seq &+ UInt32(truncatingIfNeeded: first.bytes.count)
            guard seqGreater(end, nextSeq) else { continue }
            let skip = Int(nextSeq &- first.seq)
            deliver(first.bytes.span.bytes.extracting(skip..<first.bytes.count))
            nextSeq = end
        }
    }
}

/// Read back from a shard's replay record (`ReplayJSON`); here, where the counts may be set.
extension StreamReassembler: Decodable {
    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: ReplayKey.self)
        try c.fill(&self, \.nextSeq, "nextSeq")
        try c.fill(&self, \.started, "started")
        try c.fill(&self, \.pendingBytes, "pendingBytes")
        try c.fill(&self, \.overflowed, "overflowed")
        try c.fill(&self, \.gaps, "gaps")
        try c.fill(&self, \.finSeq, "finSeq")
        var segments = try c.nestedUnkeyedContainer(forKey: ReplayKey("pending"))
        while !segments.isAtEnd {
            var segment = try segments.nestedUnkeyedContainer()
            pending.append((try segment.decode(UInt32.self), try segment.decode([UInt8].self)))
        }
    }
}
