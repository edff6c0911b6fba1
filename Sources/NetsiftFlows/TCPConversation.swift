import NetsiftDissect

/// What one side of a TCP conversation sent.
public struct TCPSide: Decodable, Sendable {
    public var endpoint: Endpoint
    public var packets = 0
    /// Bytes on the wire (frame lengths).
    public var bytes = 0
    /// TCP payload bytes, retransmissions included.
    public var payloadBytes = 0
    /// Payload bytes in segments analysed as retransmissions (fast and spurious included).
    public var retransmittedBytes = 0
    /// MSS from this side's first SYN (or SYN/ACK).
    public var synMSS: UInt16?
    /// Window-scale shift this side offered in its SYN.
    public var windowScaleShift: UInt8?
    public var sackPermitted = false
    public var timestamps = false
    public var sentSYN = false
    public var sentSYNACK = false
    public var sentFIN = false
    public var sentRST = false
    /// Times of this side's first FIN and RST (ns), for close analysis.
    public var firstFINTime: Int64?
    public var firstRSTTime: Int64?
    /// SYNs (or SYN/ACKs) this side sent, retransmissions included.
    public var synCount = 0
    /// Segments carrying payload.
    public var dataSegments = 0
    /// Segments larger than the MSS the other side announced (TSO/GRO artefacts when captured at
    /// the sender, a mismatch on the path otherwise), and the first of them.
    public var segmentsAbovePeerMSS = 0
    public var firstSegmentAbovePeerMSS: Int?
    /// Retransmitted data segments by Wireshark's kinds (fast and spurious included in `retransmissions`).
    public var retransmissions = 0
    public var fastRetransmissions = 0
    public var spuriousRetransmissions = 0
    /// Data segments Wireshark's rules call out of order (sent again soon after a later one:
    /// often a retransmission that came quickly).
    public var outOfOrderSegments = 0
    /// Bursts: the most retransmissions in one second of capture time, and when that second began.
    public var peakRetransmissionsPerSecond = 0
    public var peakRetransmissionSecond: Int64 = 0
    var currentRetransmissionSecond: Int64 = .min
    var retransmissionsThisSecond = 0
    /// The first frames flagged as retransmissions (at most 8), for evidence.
    public var retransmissionFrames: [Int] = []
    /// Retransmissions of segments larger than any this side ever got acknowledged, and the
    /// largest such segment: the MTU black-hole pattern when they keep coming.
    public var oversizeRetransmissions = 0
    public var largestUnacknowledgedRetransmission = 0
    /// Those of them sent by timeout (neither fast nor spurious): a few are enough to tell a black
    /// hole when the transfer stops.
    public var oversizeTimeoutRetransmissions = 0
    /// The segment this side last retransmitted by timeout, again and again: a transfer that stalls.
    public var stall = StalledSegment()
    /// When this side's acknowledgment number last moved: the peer's data last made progress.
    public var lastAckAdvanceTime: Int64?
    /// Bytes of this side's data the capture missed: holes before segments Wireshark marks
    /// "previous segment not captured", and data the peer acknowledged beyond anything seen
    /// ("ACKed unseen segment"); with the first frame that showed one.
    public var bytesNotCaptured = 0
    public var firstNotCapturedFrame: Int?
    /// Where the holes counted so far end: an ACK and the next segment both show the same hole,
    /// which is counted once.
    var notCapturedUpTo: UInt32?
    /// Zero windows this side announced, and full windows it filled, with the first frame of each.
    public var zeroWindows = 0
    public var firstZeroWindowFrame: Int?
    public var windowFulls = 0
    public var firstWindowFullFrame: Int?
    /// The segment that last moved this side's acknowledgment number: the frame Wireshark's
    /// duplicate ACKs refer to (`tcp.analysis.duplicate_ack_frame`).
    public var lastNonDuplicateAckFrame = 0
    /// The sequence number after this side's FIN, and when the other side acknowledged it.
    public var finEnd: UInt32?
    public var finAckedTime: Int64?
    /// Sequence analysis state (Wireshark's per-direction `tcp_flow_t`).
    public var analysis = TCPDirectionState()
    /// What this side's data went through: RTTs, bytes in flight, pauses, Nagle stalls.
    public var transfer = TCPTransferStatistics()
    /// This side's bytes in sequence order, for the application parsers.
    public var stream = StreamReassembler()
    /// Where this endpoint is in Zeek's terms (for `conn_state`).
    public var state = EndpointState.inactive

    public init(endpoint: Endpoint) { self.endpoint = endpoint }
}

/// The segment one side keeps retransmitting by timeout: its sequence number and size, how many
/// times in a row, and when (the first and last time, and the gap between the last two). A transfer
/// that stopped resends one segment with growing gaps (exponential backoff) and never hears an ACK.
public struct StalledSegment: Decodable, Sendable {
    public var seq: UInt32 = 0
    public var length = 0
    public var retransmissions = 0
    public var firstFrame = 0
    public var firstTime: Int64 = 0
    public var lastTime: Int64 = 0
    public var lastGap: Int64 = 0
    /// Every gap between retransmissions was at least (nine tenths of) the one before: timers
    /// backing off, not a sender resending at will.
    public var backingOff = true

    public init() {}

    /// A timeout retransmission of `seq` (of `length` bytes) in `frame` at `time`: the same segment
    /// once more, or a new one that starts the count again.
    mutating func retransmitted(seq: UInt32, length: Int, frame: Int, time: Int64) {
        guard retransmissions > 0 && seq == self.seq else {
            self = StalledSegment(seq: seq, length: length, frame: frame, time: time)
            return
        }
        let gap = time &- lastTime
        if retransmissions >= 2 && gap < lastGap - lastGap / 10 { backingOff = false }
        retransmissions += 1
        lastGap = gap
        lastTime = time
        self.length = max(self.length, length)
    }

    init(seq: UInt32, length: Int, frame: Int, time: Int64) {
        self.seq = seq
        self.length = length
        retransmissions = 1
        firstFrame = frame
        firstTime = time
        lastTime = time
    }
}

/// One TCP conversation, numbered as tshark numbers `tcp.stream`: a new one for a new address and
/// port pair, and for a SYN that reuses a pair with a new initial sequence number.
public struct TCPConversation: Sendable, FlowEntry {
    public var stream: Int
    public var key: FlowKey
    /// `sides.0` sent the first packet seen; `client` says which side opened with a SYN.
    public var sides: (TCPSide, TCPSide)
    /// 0 or 1: the side whose SYN (without ACK) opened the conversation; nil when no SYN was seen.
    public var client: Int?
    public var firstFrame: Int
    public var lastFrame: Int
    public var start: Int64
    public var last: Int64
    /// The most recent SYN's time, and the handshake round trip (SYN to the ACK of the SYN/ACK; at
    /// least 1 ns once measured, 0 until the handshake completes).
    public var synTime: Int64 = 0
    public var handshakeRTT: Int64 = 0
    public var handshakeCompleted: Bool { handshakeRTT != 0 }
    /// ICMP errors about this conversation ("fragmentation needed", "packet too big", unreachable):
    /// how many, the smallest MTU they reported, and the first one's frame.
    public var icmpErrors = 0
    public var icmpMTU: UInt32?
    public var firstICMPFrame: Int?
    /// For a conversation in a tunnel: the bytes the tunnels add around an inner IP packet (the
    /// underlay datagram's length less the inner packet's, from packets whose underlay was not
    /// fragmented), the largest inner IP packet, and how many packets crossed the underlay in
    /// fragments (their tunnel packets exceeded its MTU).
    public var tunnelOverhead = 0
    public var largestInnerPacket = 0
    public var underlayFragmentedPackets = 0
    /// Frames flagged, per analysis flag: indexed by the flag's bit, empty until a frame is
    /// flagged (counting is an increment, not a dictionary update, for every flagged frame).
    public var analysisCounts: [Int] = []
    /// Request/response: the server's response times (first byte of a request to the first byte
    /// of its answer).
    public var responseTimes = ResponseTimes()
    /// What parses the conversation's payload, once decided.
    var application = ApplicationParsers.undecided
    /// `application.wantsBytes`, kept as `application` changes: asking the enum copied the
    /// parsers' state (some 175 bytes) twice, at every packet of every conversation.
    var reassembling = true
    /// The protocol its payload was parsed as, once decided.
    public var applicationProtocol: ApplicationProtocol?
    /// TLS: the server name (SNI) of the first ClientHello.
    public var serverName: String?
    /// 0 or 1: the side Zeek calls the originator (the SYN's sender; the receiver of a SYN/ACK
    /// seen first; else the first packet's sender).
    public var originator = 0
    public var historyRecorder = HistoryRecorder()

    /// The tunnel its first packet was found in, if any.
    public var tunnel: FlowTunnel?

    public init(stream: Int, key: FlowKey, first: Endpoint, second: Endpoint, frame: Int, time: Int64) {
        self.stream = stream
        self.key = key
        sides = (TCPSide(endpoint: first), TCPSide(endpoint: second))
        firstFrame = frame
        lastFrame = frame
        start = time
        last = time
    }

    public var duration: Int64 { last &- start }   // wrapping: timestamps are the capture's word

    /// The side taken as the client: the one that sent the first SYN, else Zeek's originator.
    public var clientSide: Int { client ?? originator }

    /// Zeek's history string (uppercase: the originator).
    public var history: String { historyRecorder.history }

    /// Zeek's `conn_state`.
    public var connectionState: ConnectionState {
        let o = self[originator], r = self[1 - originator]
        return ConnectionState.tcp(originator: o.state, responder: r.state, history: history,
                                   originatorBytes: o.payloadBytes, responderBytes: r.payloadBytes)
    }

    /// Both sides closed (FIN) or one reset.
    public var isClosed: Bool {
        sides.0.state == .reset || sides.1.state == .reset || (sides.0.state == .closed && sides.1.state == .closed)
    }

    public func idleLimit(_ limits: FlowLimits) -> Int64 { TCPRequest.IdleKind(self).limit(limits) }

    /// Reassembly dropped bytes at a limit in either direction.
    public var reassemblyOverflowed: Bool { sides.0.stream.overflowed || sides.1.stream.overflowed }

    /// Frees what the reassemblers and the application parsers hold (the conversation is over: it
    /// parses nothing more, and is handed on, between threads and into shard outputs, without
    /// them); returns the change in held bytes.
    mutating func releaseStreams() -> Int {
        application = .unparsed
        return sides.0.stream.reset() + sides.1.stream.reset()
    }

    /// The side that sent from `endpoint` (0 or 1).
    @inlinable public func side(of endpoint: Endpoint) -> Int {
        endpoint == sides.0.endpoint ? 0 : 1
    }

    /// Read and changed in place: a side holds arrays, and a copy taken to read or change one
    /// field would retain them (and copy one on its next append).
    public subscript(side: Int) -> TCPSide {
        _read { yield side == 0 ? sides.0 : sides.1 }
        _modify { if side == 0 { yield &sides.0 } else { yield &sides.1 } }
    }

    /// Frames flagged with `flag` (one flag).
    public func count(_ flag: TCPAnalysisFlags) -> Int {
        let bit = flag.rawValue.trailingZeroBitCount
        guard flag.rawValue.nonzeroBitCount == 1, bit < analysisCounts.count else { return 0 }
        return analysisCounts[bit]
    }

    /// Counts each flag of one frame's analysis.
    mutating func countFlags(_ analysis: TCPAnalysisFlags) {
        guard !analysis.isEmpty else { return }
        if analysisCounts.isEmpty { analysisCounts = Array(repeating: 0, count: UInt32.bitWidth) }
        var bits = analysis.rawValue
        while bits != 0 {
            analysisCounts[bits.trailingZeroBitCount] += 1
            bits &= bits &- 1
        }
    }
}

extension TCPSide {
    /// Data from sequence number `from` up to `to` that the capture did not hold (a hole the next
    /// segment or an ACK showed in `frame`); a backwards or absurd distance counts nothing.
    mutating func noteNotCaptured(from: UInt32, to: UInt32, frame: Int) {
        let start = notCapturedUpTo.map { seqLess(from, $0) ? $0 : from } ?? from
        let distance = Int32(bitPattern: to &- start)
        if distance > 0 {
            bytesNotCaptured += Int(distance)
            notCapturedUpTo = to
        }
        if firstNotCapturedFrame == nil { firstNotCapturedFrame = frame }
    }

    /// Counts a retransmission at `time` in its one-second bucket, keeping the busiest.
    mutating func countRetransmissionBurst(at time: Int64) {
        let second = time / 1_000_000_000
        if second != currentRetransmissionSecond {
            currentRetransmissionSecond = second
            retransmissionsThisSecond = 0
        }
        retransmissionsThisSecond += 1
        if retransmissionsThisSecond > peakRetransmissionsPerSecond {
            peakRetransmissionsPerSecond = retransmissionsThisSecond
            peakRetransmissionSecond = second * 1_000_000_000
        }
    }
}
