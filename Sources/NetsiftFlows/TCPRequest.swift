import NetsiftDissect

/// One bare TCP segment (no payload, no tunnel) as a `TCPRequest` keeps it: every field the
/// conversation's analysis reads, so that replaying it gives exactly what following it did. Packed
/// into 32 bytes (four of them are most of a request, and a flood holds `maximumFlows` requests).
struct BareSegment: Sendable {
    var time: Int64
    /// Frames after the request's first (`TCPRequest.firstFrame`).
    var frameOffset: UInt32
    var seq: UInt32
    var ack: UInt32
    var window: UInt16
    var wireLength: UInt16
    var flags: TCPFlags
    /// A SYN's options (the only ones the analysis reads), valid as `marks` say.
    var mssValue: UInt16
    var windowScaleValue: UInt8
    var marks: Marks

    struct Marks: OptionSet, Sendable {
        let rawValue: UInt8
        /// Sent by the key's low endpoint (else by its high one).
        static let fromLow = Marks(rawValue: 1)
        static let mss = Marks(rawValue: 2)
        static let windowScale = Marks(rawValue: 4)
        static let sackPermitted = Marks(rawValue: 8)
        /// A TSval (the analysis reads only whether there was one).
        static let timestamps = Marks(rawValue: 16)
    }

    /// The segment in `s`, when it is bare: no payload and no SACK blocks (which the analysis reads
    /// and a bare segment does not keep), outside any tunnel, a frame length and a frame number
    /// (after `firstFrame`) that fit.
    init?(_ s: inout PacketSummary, frame: Int, after firstFrame: Int, time: Int64, wireLength: Int, fromLow: Bool) {
        guard s.payloadWireLength == 0, s.tcpOptions.sackBlockCount == 0, s.encapsulation?.depth == nil,
              let length = UInt16(exactly: wireLength),
              let offset = UInt32(exactly: frame - firstFrame) else { return nil }
        self.time = time
        frameOffset = offset
        seq = s.sequenceNumber
        ack = s.acknowledgmentNumber
        flags = s.tcpFlags
        window = s.windowSize
        self.wireLength = length
        mssValue = s.tcpOptions.mss ?? 0
        windowScaleValue = s.tcpOptions.windowScale ?? 0
        var marks: Marks = []
        if fromLow { marks.insert(.fromLow) }
        if s.tcpOptions.mss != nil { marks.insert(.mss) }
        if s.tcpOptions.windowScale != nil { marks.insert(.windowScale) }
        if s.tcpOptions.sackPermitted { marks.insert(.sackPermitted) }
        if s.tcpOptions.timestampValue != nil { marks.insert(.timestamps) }
        self.marks = marks
    }

    var fromLow: Bool { marks.contains(.fromLow) }

    /// The summary the analysis reads, as the dissector wrote it for this segment.
    var summary: PacketSummary {
        var s = PacketSummary()
        s.layers = [.tcp]
        s.ipProtocol = 6
        s.sequenceNumber = seq
        s.acknowledgmentNumber = ack
        s.tcpFlags = flags
        s.windowSize = window
        s.tcpOptions.mss = marks.contains(.mss) ? mssValue : nil
        s.tcpOptions.windowScale = marks.contains(.windowScale) ? windowScaleValue : nil
        s.tcpOptions.sackPermitted = marks.contains(.sackPermitted)
        s.tcpOptions.timestampValue = marks.contains(.timestamps) ? 0 : nil
        return s
    }
}

/// A conversation that has so far carried only a few bare segments and no completed handshake —
/// a SYN, and perhaps its SYN/ACKs or a reset — kept the way a kernel keeps a request socket apart
/// from full ones: a few dozen bytes a segment instead of a full `TCPConversation` (reassemblers,
/// analysis state, parsers). A spoofed SYN flood or a scan makes hundreds of thousands of these and
/// almost none ever becomes more. The tracker promotes a request to a full conversation, by
/// replaying its segments through the same code, when it needs more: payload, a completed
/// handshake, a new SYN, more segments than it holds. Replaying gives exactly the state that
/// following every segment in full would have, so what is reported does not depend on which form a
/// conversation was kept in.
struct TCPRequest: Sendable, FlowEntry {
    /// At most this many segments are kept; the next one promotes the request.
    static let capacity = 4

    /// The key's endpoints: a request is never in a tunnel, so the rest of its key is known (and
    /// not stored: 40 bytes of each of a flood's requests).
    var low: Endpoint, high: Endpoint
    var key: FlowKey { FlowKey(low: low, high: high, ipProtocol: 6) }
    var stream: Int
    /// The frame of its first segment (the others keep theirs as offsets from it).
    var firstFrame: Int
    var last: Int64
    /// The first SYN reused a port pair (its conversation is the pair's second): flagged as Wireshark does.
    var reusedPorts: Bool
    /// How long it may stay idle: decided by the state its segments left it in.
    var idleKind: IdleKind
    var count: UInt8 = 1
    var segments: InlineArray<4, BareSegment>
    /// Each side's last TCP timestamp echo (TSecr) as its conversation noted it: the one part of a
    /// bare segment's options the transfer figures read that `BareSegment` does not keep.
    var lastEchoes: (UInt32?, UInt32?) = (nil, nil)

    enum IdleKind: UInt8, Sendable { case attempt, closed, open }

    init(stream: Int, key: FlowKey, first: BareSegment, firstFrame: Int, reusedPorts: Bool) {
        precondition(key.ipProtocol == 6 && key.tunnel.isNone, "a request outside any tunnel")
        low = key.low
        high = key.high
        self.stream = stream
        self.firstFrame = firstFrame
        last = first.time
        self.reusedPorts = reusedPorts
        idleKind = .attempt
        segments = InlineArray(repeating: first)
    }

    func idleLimit(_ limits: FlowLimits) -> Int64 { idleKind.limit(limits) }

    /// Keeps one more bare segment, which `conversation` (this request replayed, then that segment
    /// added) has followed: false when the request cannot hold it and must be promoted.
    mutating func keep(_ segment: BareSegment, after conversation: TCPConversation) -> Bool {
        guard Int(count) < Self.capacity, !conversation.handshakeCompleted else { return false }
        segments[Int(count)] = segment
        count += 1
        last = max(last, segment.time)
        idleKind = IdleKind(conversation)
        lastEchoes = (conversation.sides.0.transfer.lastEchoSampled, conversation.sides.1.transfer.lastEchoSampled)
        return true
    }

    /// The full conversation: the request's segments followed one by one, as the tracker follows
    /// a conversation's packets.
    func replayed(decodeAs: DecodeAs, limits: ReassemblyLimits) -> TCPConversation {
        let first = segments[0]
        var conversation = TCPConversation(stream: stream, key: key, first: first.fromLow ? low : high,
                                           second: first.fromLow ? high : low, frame: firstFrame, time: first.time)
        let noBytes: [UInt8] = []
        for index in 0..<Int(count) {
            let segment = segments[index]
            var s = segment.summary
            let source = segment.fromLow ? low : high
            _ = conversation.follow(&s, bytes: noBytes.span.bytes, from: source, frame: firstFrame + Int(segment.frameOffset),
                                    time: segment.time, wireLength: Int(segment.wireLength), reusedPorts: index == 0 && reusedPorts,
                                    decodeAs: decodeAs, limits: limits, heldBytes: 0) { _ in }
        }
        conversation.sides.0.transfer.lastEchoSampled = lastEchoes.0
        conversation.sides.1.transfer.lastEchoSampled = lastEchoes.1
        return conversation
    }
}

/// How long a TCP conversation (a request or a full one) may stay idle, by the state it is in:
/// closed, an attempt not yet answered, or open.
extension TCPRequest.IdleKind {
    func limit(_ limits: FlowLimits) -> Int64 {
        switch self {
        case .attempt: limits.tcpAttemptIdle
        case .closed: limits.tcpClosedIdle
        case .open: limits.tcpIdle
        }
    }

    init(_ c: TCPConversation) {
        if c.isClosed {
            self = .closed
        } else if !c.handshakeCompleted && (c.sides.0.state == .synSent || c.sides.1.state == .synSent) {
            self = .attempt
        } else {
            self = .open
        }
    }
}
