import NetsiftDissect

/// A UDP conversation that has so far carried one datagram, outside any tunnel: kept as that
/// datagram's facts (some 130 bytes) instead of a full `UDPConversation` (some 400), as `TCPRequest`
/// keeps a lone SYN. A UDP flood from spoofed sources makes a conversation of every datagram and
/// almost none ever carries a second. The tracker turns it into the full conversation (`replayed`)
/// at its second datagram, when it ends, or when it is asked for; the full one is exactly what
/// following that datagram in full gave, so what is reported does not depend on the form it was
/// kept in.
struct LoneDatagram: Sendable, FlowEntry {
    /// The key's endpoints: the rest of the key is known (UDP, no tunnel) and not stored.
    var low: Endpoint, high: Endpoint
    var key: FlowKey { FlowKey(low: low, high: high, ipProtocol: 17) }
    var stream: Int
    var frame: Int
    /// When it came (its conversation's start and last activity).
    var last: Int64
    var wireLength: UInt32
    var payloadLength: UInt32
    /// Sent by the key's low endpoint (else by its high one): the conversation's originator.
    var fromLow: Bool

    /// The datagram in `s`, when it can be kept this way: outside any tunnel, lengths that fit.
    init?(_ s: inout PacketSummary, key: FlowKey, stream: Int, frame: Int, time: Int64, wireLength: Int,
          fromLow: Bool) {
        guard s.encapsulation?.depth == nil, key.tunnel.isNone, let wire = UInt32(exactly: wireLength),
              let payload = UInt32(exactly: s.payloadWireLength) else { return nil }
        low = key.low
        high = key.high
        self.stream = stream
        self.frame = frame
        last = time
        self.wireLength = wire
        payloadLength = payload
        self.fromLow = fromLow
    }

    func idleLimit(_ limits: FlowLimits) -> Int64 { limits.udpIdle }

    /// The full conversation, the datagram added as the tracker adds every one, its protocols
    /// decided from the ports as the tracker decides them.
    func replayed(decodeAs: DecodeAs) -> UDPConversation {
        UDPConversation(stream: stream, key: key, from: fromLow ? low : high, to: fromLow ? high : low, frame: frame,
                        time: last, wireLength: Int(wireLength), payload: Int(payloadLength), decodeAs: decodeAs)
    }
}

extension UDPConversation {
    /// A conversation begun by one datagram: its protocols decided from the ports, the datagram
    /// added, and named for the protocol its first datagram was parsed as.
    init(stream: Int, key: FlowKey, from source: Endpoint, to destination: Endpoint, frame: Int, time: Int64,
         wireLength: Int, payload: Int, decodeAs: DecodeAs) {
        self.init(stream: stream, key: key, first: source, second: destination, frame: frame, time: time)
        parsedAs = decodeAs.udpProtocols(between: source, and: destination)
        _ = add(from: source, frame: frame, time: time, wireLength: wireLength, payload: payload)
        if let first = parsedAs.fromFirst { application = first }
    }
}
