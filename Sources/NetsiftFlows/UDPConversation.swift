import NetsiftDissect

/// What one side of a UDP conversation sent.
public struct UDPSide: Decodable, Sendable {
    public var endpoint: Endpoint
    public var packets = 0
    /// Bytes on the wire (frame lengths).
    public var bytes = 0
    /// UDP payload bytes.
    public var payloadBytes = 0
    public init(endpoint: Endpoint) { self.endpoint = endpoint }
}

/// One UDP conversation, numbered as tshark numbers `udp.stream`. Zeek's originator is the side
/// that sent the first datagram seen.
public struct UDPConversation: Sendable, FlowEntry {
    public var stream: Int
    public var key: FlowKey
    /// `sides.0` sent the first datagram seen (the originator).
    public var sides: (UDPSide, UDPSide)
    public var firstFrame: Int
    public var lastFrame: Int
    public var start: Int64
    public var last: Int64
    public var application: ApplicationProtocol?
    public var historyRecorder = HistoryRecorder()
    /// The protocol a datagram from either side is parsed as, decided once from the ports (they are
    /// the key's, the same for every datagram) rather than looked up per datagram.
    var parsedAs: (fromFirst: ApplicationProtocol?, fromSecond: ApplicationProtocol?) = (nil, nil)

    /// The tunnel its first packet was found in, if any.
    public var tunnel: FlowTunnel?

    public init(stream: Int, key: FlowKey, first: Endpoint, second: Endpoint, frame: Int, time: Int64) {
        self.stream = stream
        self.key = key
        sides = (UDPSide(endpoint: first), UDPSide(endpoint: second))
        firstFrame = frame
        lastFrame = frame
        start = time
        last = time
    }

    public var duration: Int64 { last &- start }   // wrapping: timestamps are the capture's word
    public var history: String { historyRecorder.history }

    public subscript(side: Int) -> UDPSide {
        get { side == 0 ? sides.0 : sides.1 }
        set { if side == 0 { sides.0 = newValue } else { sides.1 = newValue } }
    }

    /// Zeek's `conn_state` for UDP: both sides sent (SF), only the originator (S0).
    public var connectionState: ConnectionState { sides.1.packets > 0 ? .SF : .S0 }

    public func idleLimit(_ limits: FlowLimits) -> Int64 { limits.udpIdle }

    /// Adds one datagram from `source`; returns whether it came from the originator.
    mutating func add(from source: Endpoint, frame: Int, time: Int64, wireLength: Int, payload: Int) -> Bool {
        let fromOriginator = source == sides.0.endpoint
        var side = self[fromOriginator ? 0 : 1]
        side.packets += 1
        side.bytes += wireLength
        side.payloadBytes += payload
        self[fromOriginator ? 0 : 1] = side
        if payload > 0 { historyRecorder.recordDatagram(fromOriginator: fromOriginator) }
        lastFrame = frame
        last = max(last, time)
        return fromOriginator
    }
}

extension DecodeAs {
    /// What a datagram between these ports is parsed as: a decode-as rule for its source port, else
    /// for its destination port, else DNS on a DNS port.
    func udpProtocol(source: UInt16, destination: UInt16) -> ApplicationProtocol? {
        // Most runs have no UDP decode-as rule: no hashing for each new conversation then.
        if !udpPorts.isEmpty, let rule = udpPorts[source] ?? udpPorts[destination] { return rule }
        return DNSFlavor(sourcePort: source, destinationPort: destination) != nil ? .dns : nil
    }

    /// What datagrams from `first` (the originator) and from `second` are parsed as.
    func udpProtocols(between first: Endpoint, and second: Endpoint)
        -> (fromFirst: ApplicationProtocol?, fromSecond: ApplicationProtocol?) {
        (udpProtocol(source: first.port, destination: second.port), udpProtocol(source: second.port, destination: first.port))
    }
}
