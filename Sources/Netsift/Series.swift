import NetsiftDissect
import NetsiftFlows
import NetsiftReport

/// One interval of the capture's timeline.
public struct TimelineCounts: BucketValue, Equatable {
    public var packets = 0
    public var bytes = 0
    public var retransmissions = 0
    public var resets = 0
    public var dnsErrors = 0
    public init() {}
    public mutating func merge(_ other: TimelineCounts) {
        packets += other.packets
        bytes += other.bytes
        retransmissions += other.retransmissions
        resets += other.resets
        dnsErrors += other.dnsErrors
    }
}

/// One interval of a conversation: payload bytes each side sent, and the round-trip times measured
/// for each side's data (ns).
public struct ConversationCounts: BucketValue {
    public var payload: (Int, Int) = (0, 0)
    public var rtt: (RTTSamples, RTTSamples) = (RTTSamples(), RTTSamples())
    public init() {}
    public mutating func merge(_ other: ConversationCounts) {
        payload.0 += other.payload.0
        payload.1 += other.payload.1
        rtt.0.merge(other.rtt.0)
        rtt.1.merge(other.rtt.1)
    }
}

/// The packets of one direction of a TCP conversation, as a time-sequence graph draws them.
/// Sequence and acknowledgment numbers are relative (to the sender's and the receiver's first one)
/// and unwrapped past 4 GiB.
public struct SegmentPoint: Sendable, Equatable {
    public var time: Int64
    /// First sequence number and payload length of what the packet carries (SYN and FIN count one).
    public var sequence: Int64
    public var length: Int
    /// What the packet acknowledges of the other side's data, and the window it offers (scaled).
    public var acknowledgment: Int64?
    public var window: Int64
}

/// Something a time-sequence graph marks: a retransmitted segment, a zero window, a reset, a
/// SACK block (`start`..`end`: sequence numbers of the marked direction's data).
public struct SegmentMark: Sendable, Equatable {
    public enum Kind: String, Sendable { case retransmission, zeroWindow = "zero_window", reset, sack }
    public var kind: Kind
    public var time: Int64
    public var start: Int64
    public var end: Int64
}

/// One direction of a recorded conversation: its packets (thinned), its marks (thinned apart, so
/// that the rare ones survive a long transfer), and what relative numbering needs.
public struct DirectionSeries: Sendable {
    /// The side's address and port ("10.0.0.1:443").
    public var endpoint: String { "\(sender)" }
    let sender: Endpoint
    public internal(set) var points: Thinned<SegmentPoint>
    public internal(set) var marks: Thinned<SegmentMark>
    /// The first sequence number seen, and the last one unwrapped.
    var base: UInt32 = 0
    var last: UInt32 = 0
    var lastRelative: Int64 = 0
    var started = false
    /// The window scale its SYN offered (nil: none, or no SYN seen).
    var offeredScale: UInt8?
    var sawSYN = false
    /// Data segments not yet acknowledged (end, time), for RTT samples; retransmitted ones are
    /// dropped (Karn: an ACK of a retransmitted segment times neither copy).
    var outstanding: [(end: Int64, time: Int64)] = []
    public internal(set) var payloadBytes = 0

    init(sender: Endpoint, points: Int, marks: Int) {
        self.sender = sender
        self.points = Thinned(capacity: points)
        self.marks = Thinned(capacity: marks)
    }

    /// `sequence` relative to the first seen, unwrapped (reordering of up to 2 GiB is fine).
    mutating func relative(_ sequence: UInt32) -> Int64 {
        if !started {
            started = true
            base = sequence
            last = sequence
            lastRelative = 0
            return 0
        }
        let value = lastRelative + Int64(Int32(bitPattern: sequence &- last))
        if value > lastRelative {
            last = sequence
            lastRelative = value
        }
        return value
    }

    /// An acknowledgment of this direction's data, relative like its sequence numbers (nil before any seen).
    func relativeAcknowledgment(_ ack: UInt32) -> Int64? {
        started ? lastRelative + Int64(Int32(bitPattern: ack &- last)) : nil
    }
}

/// A TCP conversation's series: both directions, by `tcp.stream`.
public struct ConversationSeries: Sendable {
    public var stream: Int
    public var first: DirectionSeries
    public var second: DirectionSeries
    public internal(set) var buckets: TimeBuckets<ConversationCounts>
    public internal(set) var start: Int64
    public internal(set) var end: Int64

    subscript(side: Int) -> DirectionSeries {
        // Borrowed and modified in place: a get (and set) would copy the side, retaining its arrays
        // (and copying them when changed), for every packet.
        _read {
            if side == 0 { yield first } else { yield second }
        }
        _modify {
            if side == 0 { yield &first } else { yield &second }
        }
    }

    /// The side that sent the most payload (what a time-sequence graph is drawn for).
    public var dataSide: Int { second.payloadBytes > first.payloadBytes ? 1 : 0 }
    public func direction(_ side: Int) -> DirectionSeries { self[side] }
}

/// How much the recorder keeps.
public struct SeriesLimits: Sendable, Equatable {
    /// Conversations recorded at once; those that begin while this many are recorded are not.
    public var activeConversations = 512
    /// Finished conversations kept for the report: the most troubled, then the largest.
    public var keptConversations = 32
    /// Packets and marks kept per direction.
    public var pointsPerDirection = 800
    public var marksPerDirection = 400
    /// Intervals of the timeline and of each conversation.
    public var intervals = 240
    public init() {}

    /// Only the timeline and the totals (`live --metrics` without `--html`): no conversation is recorded.
    public static let totalsOnly: SeriesLimits = {
        var limits = SeriesLimits()
        limits.activeConversations = 0
        limits.keptConversations = 0
        return limits
    }()
}

/// What the report's pictures are drawn from, gathered during the one pass over the capture:
/// the timeline, the series of the most troubled and largest TCP conversations, and when frames
/// were seen (to place findings in time). Bounded: `SeriesLimits`, whatever the capture's size.
public struct CaptureSeries: Sendable {
    public internal(set) var timeline: TimeBuckets<TimelineCounts>?
    /// Recorded conversations that are over, by stream.
    public internal(set) var conversations: [Int: ConversationSeries] = [:]
    /// Conversations that were not recorded because `SeriesLimits.activeConversations` were at once.
    public internal(set) var unrecorded = 0
    /// Every `frameStride`-th frame's time (frame 1, 1 + stride, …).
    public internal(set) var frameTimes: Thinned<Int64> = Thinned(capacity: 8192)
    /// Totals over the capture (what `live --metrics` exports).
    public internal(set) var retransmissions = 0
    public internal(set) var resets = 0

    /// About when `frame` was seen: exact while the capture has fewer frames than the index keeps,
    /// otherwise the time of the nearest indexed frame before it.
    public func time(ofFrame frame: Int) -> Int64? {
        guard frame >= 1 else { return nil }
        let index = (frame - 1) / frameTimes.stride
        guard !frameTimes.elements.isEmpty else { return nil }
        return frameTimes.elements[min(index, frameTimes.elements.count - 1)]
    }
}

/// Records `CaptureSeries` as packets, messages and finished conversations pass (one thread).
/// A reference, so that the pipeline (packets) and the analysis (messages, conversations) feed one.
public final class SeriesRecorder {
    public let limits: SeriesLimits
    public private(set) var series = CaptureSeries()
    /// The conversations being recorded, and where each is among them by stream. An array, so that
    /// a packet updates its conversation in place (a dictionary's value may be copied out and back).
    var active: [ConversationSeries] = []
    var slots: [Int: Int] = [:]

    public init(limits: SeriesLimits = SeriesLimits()) { self.limits = limits }

    /// Every packet the filter let through.
    func count(time: Int64, wireLength: Int) {
        series.frameTimes.add(time)
        if series.timeline == nil { series.timeline = TimeBuckets(start: time, capacity: limits.intervals) }
        series.timeline!.withValue(at: time) {
            $0.packets += 1
            $0.bytes += wireLength
        }
    }

    /// A TCP packet and what the tracker made of it.
    func add(_ s: inout PacketSummary, tracked: TrackedPacket?, time: Int64) {
        guard let tracked, tracked.transport == .tcp else { return }
        let flags = tracked.flags
        let retransmitted = !flags.isDisjoint(with: [.retransmission, .fastRetransmission, .spuriousRetransmission])
        let reset = s.tcpFlags.contains(.rst)
        if retransmitted || reset {
            if retransmitted { series.retransmissions += 1 }
            if reset { series.resets += 1 }
            series.timeline?.withValue(at: time) {
                if retransmitted { $0.retransmissions += 1 }
                if reset { $0.resets += 1 }
            }
        }
        guard limits.activeConversations > 0 else { return }
        let source = Endpoint(address: s.source, port: s.sourcePort)
        let slot: Int
        if let known = slots[tracked.stream] {
            slot = known
        } else {
            guard active.count < limits.activeConversations else {
                if s.tcpFlags.contains(.syn) && !s.tcpFlags.contains(.ack) { series.unrecorded += 1 }
                return
            }
            let destination = Endpoint(address: s.destination, port: s.destinationPort)
            slot = active.count
            slots[tracked.stream] = slot
            active.append(ConversationSeries(
                stream: tracked.stream,
                first: DirectionSeries(sender: source, points: limits.pointsPerDirection, marks: limits.marksPerDirection),
                second: DirectionSeries(sender: destination, points: limits.pointsPerDirection,
                                        marks: limits.marksPerDirection),
                buckets: TimeBuckets(start: time, capacity: limits.intervals), start: time, end: time))
        }
        // One lookup for the packet: the conversation is updated in place.
        active[slot].record(from: source, &s, flags: flags, retransmitted: retransmitted, time: time)
    }

    /// An application message: DNS answers with an error code count in the timeline.
    func add(_ event: ApplicationEvent) {
        guard case .dns(let message) = event.message, message.header.isResponse, message.responseCode != 0 else { return }
        series.timeline?.withValue(at: event.context.time) { $0.dnsErrors += 1 }
    }

    /// A conversation is over: its series is kept if it is among the most troubled or largest so far.
    func finished(_ flow: FlowSummary) {
        guard flow.transport == "tcp", let slot = slots.removeValue(forKey: flow.stream) else { return }
        // The last one takes the finished one's slot.
        active.swapAt(slot, active.count - 1)
        let recorded = active.removeLast()
        if slot < active.count { slots[active[slot].stream] = slot }
        scores[flow.stream] = (TopFlows.trouble(flow), flow.bytes)
        series.conversations[flow.stream] = recorded
        guard series.conversations.count > limits.keptConversations else { return }
        // Drop the least worth showing: least trouble, then fewest bytes, then the latest.
        let weakest = scores.min { a, b in
            (a.value.trouble, a.value.bytes, -a.key) < (b.value.trouble, b.value.bytes, -b.key)
        }!.key
        scores[weakest] = nil
        series.conversations[weakest] = nil
    }
    var scores: [Int: (trouble: Int, bytes: Int)] = [:]
}

extension ConversationSeries {
    /// One packet of the conversation, from `source`.
    mutating func record(from source: Endpoint, _ s: inout PacketSummary, flags: TCPAnalysisFlags,
                         retransmitted: Bool, time: Int64) {
        let side = first.sender == source ? 0 : 1
        end = max(end, time)
        let tcpFlags = s.tcpFlags
        let syn = tcpFlags.contains(.syn)
        if syn {
            self[side].sawSYN = true
            self[side].offeredScale = s.tcpOptions.windowScale
        }
        let sequence = self[side].relative(s.sequenceNumber)
        let length = s.payloadWireLength + (syn ? 1 : 0) + (tcpFlags.contains(.fin) ? 1 : 0)
        let acknowledgment = tcpFlags.contains(.ack) ? self[1 - side].relativeAcknowledgment(s.acknowledgmentNumber) : nil
        // RFC 7323: the window of a SYN is never scaled; the others are when both SYNs offered a scale.
        var window = Int64(s.windowSize)
        if !syn, self[0].sawSYN, self[1].sawSYN, let mine = self[side].offeredScale, self[1 - side].offeredScale != nil {
            window <<= Int64(min(mine, 14))
        }
        self[side].points.add(SegmentPoint(time: time, sequence: sequence, length: length, acknowledgment: acknowledgment,
                                        window: window))
        let payload = s.payloadWireLength
        self[side].payloadBytes += payload
        // RTT: this side's data segments wait for the other's acknowledgment.
        if payload > 0 {
            if retransmitted {
                self[side].outstanding.removeAll { $0.end > sequence }
            } else if self[side].outstanding.count < 64 {
                self[side].outstanding.append((sequence + Int64(payload), time))
            }
        }
        var sample: Int64?
        if let acknowledgment, !self[1 - side].outstanding.isEmpty {
            var acked = 0
            while acked < self[1 - side].outstanding.count && self[1 - side].outstanding[acked].end <= acknowledgment { acked += 1 }
            if acked > 0 {
                sample = time - self[1 - side].outstanding[acked - 1].time
                self[1 - side].outstanding.removeFirst(acked)
            }
        }
        buckets.withValue(at: time) { counts in
            if side == 0 { counts.payload.0 += payload } else { counts.payload.1 += payload }
            if let sample {
                if side == 0 { counts.rtt.1.add(sample) } else { counts.rtt.0.add(sample) }
            }
        }
        // Marks on the data they concern: retransmissions and resets on this side's sequence space,
        // zero windows and SACK blocks on the other's (what this side acknowledges).
        if retransmitted {
            self[side].marks.add(SegmentMark(kind: .retransmission, time: time, start: sequence, end: sequence + Int64(length)))
        }
        if tcpFlags.contains(.rst) {
            self[side].marks.add(SegmentMark(kind: .reset, time: time, start: sequence, end: sequence))
        }
        if let acknowledgment {
            // A reset is drawn on both sides' graphs: where its sender was, and where it had acknowledged up to.
            if tcpFlags.contains(.rst) {
                self[1 - side].marks.add(SegmentMark(kind: .reset, time: time, start: acknowledgment, end: acknowledgment))
            }
            if flags.contains(.zeroWindow) {
                self[1 - side].marks.add(SegmentMark(kind: .zeroWindow, time: time, start: acknowledgment, end: acknowledgment))
            }
            // `sack` makes an array: only for the packets that carry blocks.
            for block in s.tcpOptions.sackBlockCount == 0 ? [] : s.tcpOptions.sack {
                if let left = self[1 - side].relativeAcknowledgment(block.left),
                   let right = self[1 - side].relativeAcknowledgment(block.right) {
                    self[1 - side].marks.add(SegmentMark(kind: .sack, time: time, start: left, end: right))
                }
            }
        }
    }

}
