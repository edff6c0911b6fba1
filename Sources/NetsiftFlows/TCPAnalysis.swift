import NetsiftDissect

/// What TCP analysis says about one segment, with Wireshark's names (`tcp.analysis.*`). A fast or
/// spurious retransmission is also a retransmission, as in Wireshark, so a filter on
/// `retransmission` finds all three.
public struct TCPAnalysisFlags: Decodable, OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let retransmission = TCPAnalysisFlags(rawValue: 1 << 0)
    public static let fastRetransmission = TCPAnalysisFlags(rawValue: 1 << 1)
    public static let spuriousRetransmission = TCPAnalysisFlags(rawValue: 1 << 2)
    public static let outOfOrder = TCPAnalysisFlags(rawValue: 1 << 3)
    /// "Previous segment not captured".
    public static let lostSegment = TCPAnalysisFlags(rawValue: 1 << 4)
    /// "ACKed segment that wasn't captured".
    public static let ackedUnseenSegment = TCPAnalysisFlags(rawValue: 1 << 5)
    public static let duplicateAck = TCPAnalysisFlags(rawValue: 1 << 6)
    public static let zeroWindow = TCPAnalysisFlags(rawValue: 1 << 7)
    public static let zeroWindowProbe = TCPAnalysisFlags(rawValue: 1 << 8)
    public static let zeroWindowProbeAck = TCPAnalysisFlags(rawValue: 1 << 9)
    public static let keepAlive = TCPAnalysisFlags(rawValue: 1 << 10)
    public static let keepAliveAck = TCPAnalysisFlags(rawValue: 1 << 11)
    public static let windowFull = TCPAnalysisFlags(rawValue: 1 << 12)
    public static let windowUpdate = TCPAnalysisFlags(rawValue: 1 << 13)
    public static let reusedPorts = TCPAnalysisFlags(rawValue: 1 << 14)

    /// Wireshark's field names, in the order its expert info lists them.
    public static let names: [(TCPAnalysisFlags, String)] = [
        (.retransmission, "retransmission"), (.fastRetransmission, "fast_retransmission"),
        (.spuriousRetransmission, "spurious_retransmission"), (.outOfOrder, "out_of_order"),
        (.lostSegment, "lost_segment"), (.ackedUnseenSegment, "ack_lost_segment"),
        (.duplicateAck, "duplicate_ack"), (.zeroWindow, "zero_window"),
        (.zeroWindowProbe, "zero_window_probe"), (.zeroWindowProbeAck, "zero_window_probe_ack"),
        (.keepAlive, "keep_alive"), (.keepAliveAck, "keep_alive_ack"), (.windowFull, "window_full"),
        (.windowUpdate, "window_update"), (.reusedPorts, "reused_ports"),
    ]

    public var names: [String] { Self.names.filter { contains($0.0) }.map(\.1) }
}

/// Sequence-number comparisons modulo 2^32 (RFC 9293 §3.4).
@inlinable public func seqLess(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) < 0 }
@inlinable func seqGreater(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) > 0 }

/// One direction's analysis state: what Wireshark keeps per direction (`tcp_flow_t`), as plain
/// data. `nextSeq` is the highest sequence number seen plus length; `lastAck` and `window` are
/// what this direction last announced.
public struct TCPDirectionState: Decodable, Sendable {
    public var nextSeq: UInt32 = 0
    public var hasNextSeq = false
    /// When the segment that set `nextSeq` arrived.
    public var nextSeqTime: Int64 = 0
    /// The end of what this direction sent without a hole: the most the peer may acknowledge
    /// without having received a segment the capture missed.
    public var maxSeqToBeAcked: UInt32 = 0
    public var hasMaxSeqToBeAcked = false
    public var lastAck: UInt32 = 0
    public var hasLastAck = false
    public var lastAckTime: Int64 = 0
    /// The last window field announced, as sent (Wireshark compares raw values for duplicate ACKs
    /// and window updates, and scales only to find a full window).
    public var window: Int64 = 0
    public var hasWindow = false
    /// The shift from this direction's SYN: `unknownScale` before any SYN, `noScale` when scaling
    /// is off (a SYN without the option, or a peer that did not agree).
    public var windowScale: Int8 = TCPDirectionState.unknownScale
    public static let unknownScale: Int8 = -1
    public static let noScale: Int8 = -2
    public var duplicateAcks = 0
    /// The analysis of the last segment this direction sent (keep-alive, probe...).
    public var lastSegmentFlags: TCPAnalysisFlags = []
    /// The first sequence number seen (the ISN when the SYN was seen).
    public var baseSeq: UInt32 = 0
    public var hasBaseSeq = false
    /// Segments sent and not yet acknowledged, oldest first. Bounded: the oldest are forgotten.
    public var unacked = UnackedSegments()
    public static let maximumUnacked = 1024
    /// The largest segment (sequence space) of this direction the other side acknowledged whole.
    public var largestAcked = 0
    /// Wireshark's base for relative sequence numbers (the ISN, or one below the first sequence
    /// number seen, or one below the peer's first acknowledgment number): bytes in flight are
    /// measured relative to it.
    public var relativeBase: UInt32 = 0
    public var hasRelativeBase = false
    /// Bytes in flight are measured only while the stream has no hole: a segment beyond a gap makes
    /// them unknown until the peer's next ACK (as Wireshark's `valid_bif`).
    public var bytesInFlightValid = true
    /// The bytes the SACK blocks of this direction's last segment cover (its first three blocks, as
    /// Wireshark keeps them; 0 without a SACK option): data the peer holds, not in flight.
    public var sackedBytes: UInt32 = 0

    public init() {}

    /// The announced window in bytes (SYN windows are never scaled, RFC 7323 §2.2).
    @inlinable var scaledWindow: Int64 {
        windowScale >= 0 ? window << Int64(windowScale) : window
    }
}

/// Segments sent and not yet acknowledged, oldest first: (seq, end, when sent, whether it was a
/// retransmission). Acknowledging removes every segment an ACK covers whole, wherever it sits, as a
/// scan of all of them would, and moves the start of a segment it covers in part to the ACK (as
/// Wireshark does, which bytes in flight then see); but while the segments' starts and ends ascend
/// (no retransmission in the list), the covered ones are exactly the oldest, and an ACK costs only
/// the segments it removes instead of a pass over everything in flight.
public struct UnackedSegments: Decodable, Sendable {
    struct Segment: Decodable {
        var seq: UInt32
        var end: UInt32
        var time: Int64
        var retransmitted: Bool
    }
    /// The segments from `head` on; the ones before it are gone (removed from the front, and
    /// dropped from the storage once they outnumber the rest).
    var segments: [Segment] = []
    var head = 0
    /// From `head` on, each start and each end lies at or beyond the previous one (ends strictly),
    /// all within 2^31 of the first (so that comparing them modulo 2^32 orders them the same way
    /// for any ACK).
    var ascending = true

    /// What one ACK did to the list: the largest segment it covered whole (sequence space, 0 when
    /// none); when it ends exactly where a segment ends, the time the oldest such segment was sent
    /// (Wireshark's `tcp.analysis.ack_rtt` is measured from it); whether any segment it covered was
    /// a retransmission (Karn's rule: such an RTT sample is ambiguous).
    struct Acknowledgment {
        var largest = 0
        var exactMatchTime: Int64?
        var coveredRetransmission = false
    }

    public init() {}

    public var count: Int { segments.count - head }
    public var isEmpty: Bool { head == segments.count }

    /// Whether `next` may follow `previous` with the list still ascending (relative to `origin`).
    static func follows(_ previous: Segment, _ next: Segment, origin: Segment) -> Bool {
        let previousEnd = previous.end &- origin.end, nextEnd = next.end &- origin.end
        let previousSeq = previous.seq &- origin.seq, nextSeq = next.seq &- origin.seq
        return nextEnd > previousEnd && nextEnd < 1 << 31 && nextSeq >= previousSeq && nextSeq < 1 << 31
    }

    /// Adds a segment; at `limit`, the oldest is forgotten first.
    mutating func append(seq: UInt32, end: UInt32, time: Int64, retransmitted: Bool, limit: Int) {
        if count == limit { removeFirst() }
        let segment = Segment(seq: seq, end: end, time: time, retransmitted: retransmitted)
        if !isEmpty && ascending {
            ascending = Self.follows(segments[segments.count - 1], segment, origin: segments[head])
        }
        segments.append(segment)
    }

    /// Removes the segments `ack` covers whole and trims those it covers in part.
    mutating func acknowledge(_ ack: UInt32) -> Acknowledgment {
        var result = Acknowledgment()
        if ascending {
            while !isEmpty, !seqGreater(segments[head].end, ack) {
                result.note(segments[head], ack: ack)
                removeFirst()
            }
            if isEmpty { return result }
            // The oldest left lies beyond `ack`; if the newest does too, and no further from it
            // than 2^31, every end between them does: nothing else is covered. The starts ascend:
            // those below `ack` are the first ones.
            let oldest = segments[head].end &- ack, newest = segments[segments.count - 1].end &- ack
            if newest >= oldest && newest < 1 << 31 {
                var index = head
                while index < segments.count && seqGreater(ack, segments[index].seq) {
                    segments[index].seq = ack
                    index += 1
                }
                return result
            }
        }
        // Out of order (a retransmission was appended): look at every segment.
        var kept = head
        for index in head..<segments.count {
            var segment = segments[index]
            if seqGreater(segment.end, ack) {
                if seqGreater(ack, segment.seq) { segment.seq = ack }
                segments[kept] = segment
                kept += 1
            } else {
                result.note(segment, ack: ack)
            }
        }
        segments.removeSubrange(kept...)
        ascending = true
        var index = head + 1
        while ascending && index < segments.count {
            ascending = Self.follows(segments[index - 1], segments[index], origin: segments[head])
            index += 1
        }
        return result
    }

    /// Wireshark's bytes in flight over the list: from the lowest start to the highest end,
    /// relative to `base` (0 when empty).
    func span(base: UInt32) -> UInt32 {
        guard !isEmpty else { return 0 }
        if ascending { return segments[segments.count - 1].end &- segments[head].seq }
        var first = segments[head].seq &- base, last = segments[head].end &- base
        for index in head..<segments.count {
            first = min(first, segments[index].seq &- base)
            last = max(last, segments[index].end &- base)
        }
        return last &- first
    }

    mutating func removeFirst() {
        head += 1
        if head == segments.count {
            segments.removeAll(keepingCapacity: true)
            head = 0
            ascending = true
        } else if head >= 64 && head >= count {
            segments.removeFirst(head)
            head = 0
        }
    }
}

extension UnackedSegments.Acknowledgment {
    /// A segment the ACK covers whole.
    mutating func note(_ segment: UnackedSegments.Segment, ack: UInt32) {
        largest = max(largest, Int(segment.end &- segment.seq))
        if segment.end == ack && exactMatchTime == nil { exactMatchTime = segment.time }
        if segment.retransmitted { coveredRetransmission = true }
    }
}

/// The facts about one segment that analysis needs.
public struct TCPSegment: Sendable {
    public var seq: UInt32
    public var ack: UInt32
    public var flags: TCPFlags
    public var window: UInt16
    public var length: Int
    public var time: Int64
    /// The bytes its SACK option's first three blocks cover; nil without a SACK option.
    public var sackedBytes: UInt32?
    public init(seq: UInt32, ack: UInt32, flags: TCPFlags, window: UInt16, length: Int, time: Int64,
                sackedBytes: UInt32? = nil) {
        self.seq = seq
        self.ack = ack
        self.flags = flags
        self.window = window
        self.length = length
        self.time = time
        self.sackedBytes = sackedBytes
    }
}

/// What analysis says about one segment: Wireshark's flags, and its two measurements.
public struct TCPSegmentAnalysis: Sendable {
    public var flags: TCPAnalysisFlags = []
    /// `tcp.analysis.ack_rtt` (ns): the segment acknowledges exactly up to the end of a segment the
    /// other side sent, this long ago (the oldest such segment); 0 when it does not.
    public var ackRTT: Int64 = 0
    /// Karn's rule: the ACK covers no retransmitted segment, so `ackRTT` times one transmission.
    public var ackRTTUnambiguous = false
    /// `tcp.analysis.bytes_in_flight`: for a segment carrying data, the bytes its sender has sent
    /// and not yet seen acknowledged (or selectively acknowledged), itself included; nil when
    /// Wireshark shows none (no payload, a hole before it, nothing sensible).
    public var bytesInFlight: Int?

    public init() {}
}

/// Wireshark's sequence analysis (packet-tcp.c `tcp_analyze_sequence_number`, as summarised in
/// REFERENCE.md), written for our state: the checks run in Wireshark's order and with its
/// thresholds, so results can be set beside `tshark -2` frame by frame.
public enum TCPAnalyzer {
    /// A retransmission this soon (ns) after the third duplicate ACK is a fast retransmission.
    public static let fastRetransmissionWindow: Int64 = 20_000_000
    /// Out-of-order threshold when the handshake RTT is unknown.
    public static let defaultOutOfOrderThreshold: Int64 = 3_000_000

    /// Analyses `segment` sent by `forward` to `reverse`, updating both, and returns its flags and
    /// measurements. `handshakeRTT` (ns, 0 when unknown) sets the out-of-order threshold.
    public static func analyze(_ segment: TCPSegment, forward fwd: inout TCPDirectionState,
                               reverse rev: inout TCPDirectionState, handshakeRTT: Int64) -> TCPSegmentAnalysis {
        var flags: TCPAnalysisFlags = []
        let seq = segment.seq, ack = segment.ack, length = segment.length
        let syn = segment.flags.contains(.syn), fin = segment.flags.contains(.fin), rst = segment.flags.contains(.rst)
        let hasAck = segment.flags.contains(.ack)
        let noSFR = !syn && !fin && !rst
        let window = Int64(segment.window)

        if !fwd.hasBaseSeq {
            fwd.baseSeq = seq
            fwd.hasBaseSeq = true
        }
        if !fwd.hasRelativeBase {
            fwd.relativeBase = syn ? seq : seq &- 1
            fwd.hasRelativeBase = true
        }
        if !rev.hasRelativeBase && hasAck {
            rev.relativeBase = ack &- 1
            rev.hasRelativeBase = true
        }
        // An ACK from this side lets the other side's bytes in flight be measured again.
        if hasAck { rev.bytesInFlightValid = true }

        checks: do {
            // 1. Zero-window probe: one byte at the next sequence number into a closed window.
            if length == 1 && fwd.hasNextSeq && seq == fwd.nextSeq && rev.hasWindow && rev.window == 0 {
                flags.insert(.zeroWindowProbe)
                break checks
            }
            // 2. Zero window.
            if segment.window == 0 && noSFR { flags.insert(.zeroWindow) }
            // 3. Previous segment not captured: data starts beyond what was seen.
            if fwd.hasNextSeq && seqGreater(seq, fwd.nextSeq) && !rst {
                flags.insert(.lostSegment)
                fwd.bytesInFlightValid = false
            }
            // 4. Keep-alive: zero or one byte just below the next sequence number.
            if (length == 0 || length == 1) && fwd.hasNextSeq && seq == fwd.nextSeq &- 1 && noSFR {
                flags.insert(.keepAlive)
            }
            // 5. Window update: nothing but a new, open window. Before this direction's first
            // packet Wireshark's state is relative sequence and ACK numbers 0 and no window, so a
            // first bare ACK that acknowledges the peer's very first sequence number (relative 0)
            // counts as one too.
            let atNextSeq = fwd.hasNextSeq ? seq == fwd.nextSeq : true
            let atLastAck = fwd.hasLastAck ? ack == fwd.lastAck : ack == (rev.hasBaseSeq ? rev.baseSeq : 0)
            if length == 0 && window != 0 && (!fwd.hasWindow || window != fwd.window) && atNextSeq && atLastAck
                && noSFR {
                flags.insert(.windowUpdate)
            }
            // 6. Window full: this segment fills the receiver's announced window exactly.
            if length > 0 && rev.windowScale != TCPDirectionState.unknownScale && rev.hasLastAck && rev.hasWindow
                && seq &+ UInt32(truncatingIfNeeded: length) == rev.lastAck &+ UInt32(truncatingIfNeeded: rev.scaledWindow)
                && noSFR {
                flags.insert(.windowFull)
            }
            // 7. Keep-alive ACK: the answer to the other side's keep-alive.
            if length == 0 && window != 0 && fwd.hasWindow && window == fwd.window && fwd.hasNextSeq
                && seq == fwd.nextSeq && fwd.hasLastAck && ack == fwd.lastAck
                && rev.lastSegmentFlags.contains(.keepAlive) && noSFR {
                flags.insert(.keepAliveAck)
                break checks
            }
            // 8. Zero-window-probe ACK.
            if length == 0 && window == 0 && fwd.hasWindow && window == fwd.window && fwd.hasNextSeq
                && seq == fwd.nextSeq && fwd.hasLastAck && (ack == fwd.lastAck || ack == fwd.lastAck &+ 1)
                && rev.lastSegmentFlags.contains(.zeroWindowProbe) && noSFR {
                flags.insert(.zeroWindowProbeAck)
                break checks
            }
            // 9. Duplicate ACK: nothing new at all, same ack, same open window.
            if length == 0 && window != 0 && fwd.hasWindow && window == fwd.window && fwd.hasNextSeq
                && seq == fwd.nextSeq && fwd.hasLastAck && ack == fwd.lastAck && noSFR {
                fwd.duplicateAcks += 1
                flags.insert(.duplicateAck)
            }
        }
        // The run of duplicates ends when the acknowledgment number moves.
        if hasAck && !flags.contains(.duplicateAck) && (!fwd.hasLastAck || ack != fwd.lastAck) { fwd.duplicateAcks = 0 }

        // 10. ACKed segment that wasn't captured.
        if hasAck && rev.hasMaxSeqToBeAcked && seqGreater(ack, rev.maxSeqToBeAcked) {
            if rev.lastSegmentFlags.contains(.zeroWindowProbe) {
                flags.insert(.windowUpdate)   // the window re-opens after a probe
            } else {
                flags.insert(.ackedUnseenSegment)
            }
            // Flag the hole once: from here on the other side may be acknowledged up to what it sent.
            rev.maxSeqToBeAcked = rev.nextSeq
        }

        // 11. Retransmission and its kinds, for segments that take sequence space.
        if (length > 0 || syn || fin) && !flags.contains(.keepAlive) && !flags.contains(.zeroWindowProbe) {
            retransmission: do {
                if length > 0 && rev.hasLastAck && !seqGreater(seq &+ UInt32(truncatingIfNeeded: length), rev.lastAck) {
                    flags.formUnion([.spuriousRetransmission, .retransmission])
                    break retransmission
                }
                guard fwd.hasNextSeq, seqLess(seq, fwd.nextSeq) else { break retransmission }
                // A segment of more than one byte starting one below the next sequence number is
                // new data after a keep-alive's byte, not a retransmission.
                if length > 1 && seq == fwd.nextSeq &- 1 { break retransmission }
                let sinceAck = segment.time &- rev.lastAckTime
                if rev.duplicateAcks >= 2 && rev.hasLastAck && rev.lastAck == seq && sinceAck < fastRetransmissionWindow {
                    flags.formUnion([.fastRetransmission, .retransmission])
                    break retransmission
                }
                let sinceHighest = segment.time &- fwd.nextSeqTime
                let threshold = handshakeRTT > 0 ? handshakeRTT : defaultOutOfOrderThreshold
                let segmentEnd = seq &+ UInt32(truncatingIfNeeded: length) &+ (syn || fin ? 1 : 0)
                if sinceHighest < threshold && fwd.nextSeq != segmentEnd {
                    flags.insert(.outOfOrder)
                    break retransmission
                }
                flags.insert(.retransmission)
            }
        }

        // 12. Bookkeeping: what this direction has sent, acknowledged and announced.
        var result = TCPSegmentAnalysis()
        let taken = UInt32(truncatingIfNeeded: length) &+ (syn ? 1 : 0) &+ (fin ? 1 : 0)
        let end = seq &+ taken
        if taken > 0 {
            fwd.unacked.append(seq: seq, end: end, time: segment.time, retransmitted: flags.contains(.retransmission),
                               limit: TCPDirectionState.maximumUnacked)
        }
        if hasAck && !rev.unacked.isEmpty {
            let acknowledged = rev.unacked.acknowledge(ack)
            rev.largestAcked = max(rev.largestAcked, acknowledged.largest)
            if let sent = acknowledged.exactMatchTime, segment.time > sent {
                result.ackRTT = segment.time &- sent
                result.ackRTTUnambiguous = !acknowledged.coveredRetransmission
            }
        }
        fwd.sackedBytes = segment.sackedBytes ?? 0
        // Bytes in flight (Wireshark's default, payload-based): the span of this side's segments
        // not yet acknowledged, this one included, less what the peer's last SACK blocks hold.
        if length > 0 && !fwd.unacked.isEmpty && fwd.bytesInFlightValid {
            let inFlight = fwd.unacked.span(base: fwd.relativeBase) &- rev.sackedBytes
            if inFlight > 0 && inFlight < 2_000_000_000 {
                result.bytesInFlight = Int(inFlight) - (syn || fin ? 1 : 0)
            }
        }
        if !flags.contains(.zeroWindowProbe) && (!fwd.hasNextSeq || seqGreater(end, fwd.nextSeq)) {
            fwd.nextSeq = end
            fwd.hasNextSeq = true
            fwd.nextSeqTime = segment.time
        }
        // What the peer may acknowledge grows only while the stream has no hole: a segment that
        // continues it (or the first one) moves it to the highest sequence number sent.
        if !flags.contains(.zeroWindowProbe) && (!fwd.hasMaxSeqToBeAcked || seq == fwd.maxSeqToBeAcked) {
            fwd.maxSeqToBeAcked = fwd.nextSeq
            fwd.hasMaxSeqToBeAcked = true
        }
        fwd.window = window
        fwd.hasWindow = true
        if hasAck {
            fwd.lastAck = ack
            fwd.hasLastAck = true
            fwd.lastAckTime = segment.time
        }
        fwd.lastSegmentFlags = flags
        result.flags = flags
        return result
    }
}
