import NetsiftDissect

/// One bare TCP segment (no payload, no tunnel) as a `TCPRequest` keeps it: every field the
/// conversation's analysis reads, so that replaying it gives exactly what following it did.
struct BareSegment: Sendable {
    var frame: Int
    var time: Int64
    var seq: UInt32
    var ack: UInt32
    var flags: TCPFlags
    var window: UInt16
    var wireLength: UInt16
    /// Sent by the key's low endpoint (else by its high one).
    var fromLow: Bool
    /// A SYN's options (the only ones the analysis reads; `timestamps` stands for a TSval).
    var mss: UInt16?
    var windowScale: UInt8?
    var sackPermitted: Bool
    var timestamps: Bool

    /// The segment in `s`, when it is bare: no payload, outside any tunnel, a frame that fits.
    init?(_ s: inout PacketSummary, frame: Int, time: Int64, wireLength: Int, fromLow: Bool) {
        guard s.payloadWireLength == 0, s.encapsulation?.depth == nil, wireLength <= Int(UInt16.max) else { return nil }
        self.frame = frame
        self.time = time
        seq = s.sequenceNumber
        ack = s.acknowledgmentNumber
        flags = s.tcpFlags
        window = s.windowSize
        self.wireLength = UInt16(wireLength)
        self.fromLow = fromLow
        mss = s.tcpOptions.mss
        windowScale = s.tcpOptions.windowScale
        sackPermitted = s.tcpOptions.sackPermitted
        timestamps = s.tcpOptions.timestampValue != nil
    }

    /// The summary the analysis reads, as the dissector wrote it for this segment.
    var summary: PacketSummary {
        var s = PacketSummary()
        s.layers = [.tcp]
        s.ipProtocol = 6
        s.sequenceNumber = seq
        s.acknowledgmentNumber = ack
        s.tcpFlags = flags
        s.windowSize = window
        s.tcpOptions.mss = mss
        s.tcpOptions.windowScale = windowScale
        s.tcpOptions.sackPermitted = sackPermitted
        s.tcpOptions.timestampValue = timestamps ? 0 : nil
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
    var last: Int64
    /// The first SYN reused a port pair (its conversation is the pair's second): flagged as Wireshark does.
    var reusedPorts: Bool
    /// How long it may stay idle: decided by the state its segments left it in.
    var idleKind: IdleKind
    var count: UInt8 = 1
    var segments: InlineArray<4, BareSegment>

    enum IdleKind: UInt8, Sendable { case attempt, closed, open }

    init(stream: Int, key: FlowKey, first: BareSegment, reusedPorts: Bool) {
        precondition(key.ipProtocol == 6 && key.tunnel.isNone, "a request outside any tunnel")
        low = key.low
        high = key.high
        self.stream = stream
        last = first.time
        self.reusedPorts = reusedPorts
        idleKind = .attempt
        segments = InlineArray(repeating: first)
    }

    func idleLimit(_ limits: FlowLimits) -> Int64 {
        switch idleKind {
        case .attempt: limits.tcpAttemptIdle
        case .closed: limits.tcpClosedIdle
        case .open: limits.tcpIdle
        }
    }

    /// Keeps one more bare segment, which `conversation` (this request replayed, then that segment
    /// added) has followed: false when the request cannot hold it and must be promoted.
    mutating func keep(_ segment: BareSegment, after conversation: TCPConversation) -> Bool {
        guard Int(count) < Self.capacity, !conversation.handshakeCompleted else { return false }
        segments[Int(count)] = segment
        count += 1
        last = max(last, segment.time)
        idleKind = IdleKind(conversation)
        return true
    }

    /// The full conversation: the request's segments followed one by one, as the tracker follows
    /// a conversation's packets.
    func replayed(decodeAs: DecodeAs, limits: ReassemblyLimits) -> TCPConversation {
        let first = segments[0]
        var conversation = TCPConversation(stream: stream, key: key, first: first.fromLow ? low : high,
                                           second: first.fromLow ? high : low, frame: first.frame, time: first.time)
        let noBytes: [UInt8] = []
        for index in 0..<Int(count) {
            let segment = segments[index]
            var s = segment.summary
            let source = segment.fromLow ? low : high
            _ = conversation.follow(&s, bytes: noBytes.span.bytes, from: source, frame: segment.frame,
                                    time: segment.time, wireLength: Int(segment.wireLength), reusedPorts: index == 0 && reusedPorts,
                                    decodeAs: decodeAs, limits: limits, heldBytes: 0) { _ in }
        }
        return conversation
    }
}

extension TCPRequest.IdleKind {
    /// The idle limit `TCPConversation.idleLimit` would choose for `c`.
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
