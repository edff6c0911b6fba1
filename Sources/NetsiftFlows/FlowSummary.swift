import NetsiftDissect

/// One conversation as the flow table shows it (like a line of Zeek's conn.log, with what tshark's
/// `-z conv,tcp` and expert info add): plain values, ready to print or encode.
public struct FlowSummary: Sendable, Codable, Equatable {
    public struct Side: Sendable, Codable, Equatable {
        public var address: String
        public var port: UInt16
        public var packets: Int
        /// Bytes on the wire.
        public var bytes: Int
        public var payloadBytes: Int
        /// TCP: payload bytes in retransmitted segments.
        public var retransmittedBytes: Int?
        /// TCP: from this side's SYN.
        public var mss: UInt16?
        public var windowScale: UInt8?
        public var sackPermitted: Bool?
        public var timestamps: Bool?

        /// "10.0.0.1:443", "[2001:db8::1]:443".
        public var endpoint: String { address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)" }
    }

    /// The tunnel a conversation was found in: its kind as tshark names the protocol ("vxlan",
    /// "geneve", "gre", "erspan", "mpls", "gtp", "ip_in_ip"), its identifier (VNI, GRE key, ERSPAN
    /// span id, bottom MPLS label, TEID) as its first packet carried it, the endpoints of the IP
    /// datagram that carried it (absent for MPLS straight over Ethernet), how many tunnels deep.
    public struct Tunnel: Sendable, Codable, Equatable {
        public var kind: String
        public var identifier: UInt32?
        public var outerSource: String?
        public var outerDestination: String?
        public var depth: Int

        public init(_ t: FlowTunnel) {
            kind = t.kind.name
            identifier = t.identifier
            let carried = t.outerSource != .zero || t.outerDestination != .zero
            outerSource = carried ? "\(t.outerSource)" : nil
            outerDestination = carried ? "\(t.outerDestination)" : nil
            depth = t.depth
        }
    }

    /// "tcp" or "udp".
    public var transport: String
    /// `tcp.stream` / `udp.stream`.
    public var stream: Int
    /// Zeek's originator (the SYN's sender) and responder.
    public var originator: Side
    public var responder: Side
    /// Capture time of the first packet (ns since the epoch), and the span to the last.
    public var start: Int64
    public var durationNanoseconds: Int64
    public var firstFrame: Int
    public var lastFrame: Int
    public var state: ConnectionState
    public var history: String
    /// The application protocol parsed ("dns", "tls", "http2"), if any.
    public var service: String?
    /// TLS: the server name (SNI) the client asked for.
    public var serverName: String?
    /// TCP: SYN to the ACK that completed the handshake (ns).
    public var handshakeRTTNanoseconds: Int64?
    /// TCP: frames flagged by the sequence analysis, per Wireshark flag name.
    public var analysis: [String: Int]
    /// TCP: reassembly dropped bytes at its limit.
    public var reassemblyOverflow: Bool
    /// The tunnel it was found in; absent for a conversation that was not encapsulated.
    public var tunnel: Tunnel?

    public var packets: Int { originator.packets + responder.packets }
    public var bytes: Int { originator.bytes + responder.bytes }
    public var retransmittedBytes: Int { (originator.retransmittedBytes ?? 0) + (responder.retransmittedBytes ?? 0) }

    public init(_ flow: FinishedFlow) {
        switch flow {
        case .tcp(let c): self.init(tcp: c)
        case .udp(let c): self.init(udp: c)
        }
    }

    public init(tcp c: TCPConversation) {
        func side(_ s: TCPSide) -> Side {
            Side(address: "\(s.endpoint.address)", port: s.endpoint.port, packets: s.packets, bytes: s.bytes,
                 payloadBytes: s.payloadBytes, retransmittedBytes: s.retransmittedBytes, mss: s.synMSS,
                 windowScale: s.windowScaleShift, sackPermitted: s.sackPermitted, timestamps: s.timestamps)
        }
        transport = "tcp"
        stream = c.stream
        originator = side(c[c.originator])
        responder = side(c[1 - c.originator])
        start = c.start
        durationNanoseconds = c.duration
        firstFrame = c.firstFrame
        lastFrame = c.lastFrame
        state = c.connectionState
        history = c.history
        service = c.applicationProtocol?.rawValue
        serverName = c.serverName
        handshakeRTTNanoseconds = c.handshakeCompleted ? c.handshakeRTT : nil
        var analysis: [String: Int] = [:]
        for (flag, name) in TCPAnalysisFlags.names where c.count(flag) > 0 { analysis[name] = c.count(flag) }
        self.analysis = analysis
        reassemblyOverflow = c.reassemblyOverflowed
        tunnel = c.tunnel.map(Tunnel.init)
    }

    public init(udp c: UDPConversation) {
        func side(_ s: UDPSide) -> Side {
            Side(address: "\(s.endpoint.address)", port: s.endpoint.port, packets: s.packets, bytes: s.bytes,
                 payloadBytes: s.payloadBytes)
        }
        transport = "udp"
        stream = c.stream
        originator = side(c.sides.0)
        responder = side(c.sides.1)
        start = c.start
        durationNanoseconds = c.duration
        firstFrame = c.firstFrame
        lastFrame = c.lastFrame
        state = c.connectionState
        history = c.history
        service = c.application?.rawValue
        handshakeRTTNanoseconds = nil
        analysis = [:]
        reassemblyOverflow = false
        tunnel = c.tunnel.map(Tunnel.init)
    }
}
