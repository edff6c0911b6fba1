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
        /// TCP: how this side's data went (rates, RTT, bytes in flight, what limited it) and the
        /// window it announced.
        public var transfer: Transfer?

        /// "10.0.0.1:443", "[2001:db8::1]:443".
        public var endpoint: String { address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)" }
    }

    /// What one side's data went through (TCP).
    public struct Transfer: Sendable, Codable, Equatable {
        /// Payload bytes per second from its first data segment to its last, retransmissions
        /// included (throughput) and left out (goodput); absent for less than a millisecond of data.
        public var throughputBytesPerSecond: Int?
        public var goodputBytesPerSecond: Int?
        /// Round trips of its data (ACKs under Karn's rule, and TCP timestamps): how many, and
        /// their minimum, median and 95th percentile (ns; the percentiles within about 12%).
        public var rttSamples: Int
        public var rttMinNanoseconds: Int64?
        public var rttMedianNanoseconds: Int64?
        public var rttP95Nanoseconds: Int64?
        /// `tcp.analysis.bytes_in_flight` over its data segments: the largest and the mean.
        public var bytesInFlightMax: Int?
        public var bytesInFlightMean: Int?
        /// Share of its data segments (of those with bytes in flight) that left no room in the
        /// peer's window for another full segment, and the mean share of the peer's window its
        /// bytes in flight filled, in percent.
        public var windowLimitedPercent: Double?
        public var windowFillPercent: Double?
        /// The receive window this side announced after the handshake (bytes, scaled): smallest and largest.
        public var windowMin: Int64?
        public var windowMax: Int64?
        /// Time it had everything acknowledged and sent nothing more (its application was quiet), ns.
        public var idleNanoseconds: Int64
        /// Small segments held until the peer's delayed ACK came (Nagle's algorithm).
        public var nagleStalls: Int
        /// Its congestion window estimated per round trip (`FlightRounds`: the most bytes in
        /// flight in a round limited by neither the receiver's window nor the application): how
        /// many rounds, the smallest, median and largest estimate (bytes), and how many rounds
        /// carried less than half the one before.
        public var congestionWindowRounds: Int
        public var congestionWindowMin: Int?
        public var congestionWindowMedian: Int?
        public var congestionWindowMax: Int?
        public var congestionWindowReductions: Int
        /// What limited its rate (T-RAT's classes), for a direction carrying at least 64 KiB in 32
        /// data segments.
        public var limitedBy: TransferLimit?
        /// Throughput, goodput and round trips over time; absent when it sent no data.
        public var overTime: OverTime?

        enum CodingKeys: String, CodingKey {
            case throughputBytesPerSecond, goodputBytesPerSecond, rttSamples, rttMinNanoseconds, rttMedianNanoseconds
            case rttP95Nanoseconds = "rtt_p95_nanoseconds"
            case bytesInFlightMax, bytesInFlightMean, windowLimitedPercent, windowFillPercent, windowMin, windowMax
            case idleNanoseconds, nagleStalls, limitedBy
            case congestionWindowRounds, congestionWindowMin, congestionWindowMedian, congestionWindowMax
            case congestionWindowReductions, overTime
        }

        init(_ side: TCPSide, peer: TCPSide) {
            let t = side.transfer
            throughputBytesPerSecond = t.rate(side.payloadBytes)
            goodputBytesPerSecond = t.rate(side.payloadBytes - side.retransmittedBytes)
            rttSamples = t.rtt.count
            rttMinNanoseconds = t.rtt.count > 0 ? t.rtt.minimum : nil
            rttMedianNanoseconds = t.rtt.percentile(0.5)
            rttP95Nanoseconds = t.rtt.percentile(0.95)
            bytesInFlightMax = t.bytesInFlightSamples > 0 ? t.bytesInFlightMax : nil
            bytesInFlightMean = t.bytesInFlightMean
            windowLimitedPercent = t.bytesInFlightSamples > 0
                ? (Double(t.windowLimitedSegments) * 1000 / Double(t.bytesInFlightSamples)).rounded() / 10 : nil
            windowFillPercent = t.windowFillPercent
            windowMin = t.announcedWindowMin
            windowMax = t.announcedWindowMin == nil ? nil : t.announcedWindowMax
            idleNanoseconds = t.idleTime
            nagleStalls = t.nagleStalls
            congestionWindowRounds = t.flights.rounds
            congestionWindowMin = t.flights.rounds > 0 ? t.flights.minimum : nil
            congestionWindowMedian = t.flights.median
            congestionWindowMax = t.flights.rounds > 0 ? t.flights.maximum : nil
            congestionWindowReductions = t.flights.reductions
            limitedBy = TransferLimit.of(side, to: peer)
            // Both sides' intervals began at the conversation's start: widened to the wider of the
            // two, index i covers the same time in both.
            overTime = t.overTime.map { OverTime($0.widened(to: peer.transfer.overTime?.width ?? 0)) }
        }
    }

    /// A side's transfer over time: equal intervals from `start` (the conversation's first packet,
    /// ns since the epoch), `intervalNanoseconds` wide (at least 10 ms, doubled as the conversation
    /// grows so that there are at most 32; both sides' intervals are the same), up to the last one
    /// holding its data or a round trip of it (those from its first data segment on). Per interval: payload bytes per second with
    /// retransmissions (throughput) and without (goodput), over the whole interval (the last one
    /// and any the data only partly filled read lower); round trips measured in it (by the ACK's
    /// time): how many, their mean and largest (ns; 0 where none was).
    public struct OverTime: Sendable, Codable, Equatable {
        public var start: Int64
        public var intervalNanoseconds: Int64
        public var throughputBytesPerSecond: [Int]
        public var goodputBytesPerSecond: [Int]
        public var rttSamples: [Int]
        public var rttMeanNanoseconds: [Int64]
        public var rttMaxNanoseconds: [Int64]

        public init(_ buckets: TimeBuckets<TransferInterval>) {
            start = buckets.start
            intervalNanoseconds = buckets.width
            let perSecond = 1e9 / Double(buckets.width)
            let values = buckets.values
            throughputBytesPerSecond = values.map { Int((Double($0.payload) * perSecond).rounded()) }
            goodputBytesPerSecond = values.map { Int((Double($0.payload - $0.retransmitted) * perSecond).rounded()) }
            rttSamples = values.map(\.rtt.count)
            rttMeanNanoseconds = values.map { $0.rtt.mean ?? 0 }
            rttMaxNanoseconds = values.map { $0.rtt.count > 0 ? $0.rtt.most : 0 }
        }
    }

    /// Request/response response times over a conversation (first byte of a request to the first
    /// byte of its answer): how many, median, 95th percentile (within about 12%) and largest, ns.
    public struct ResponseTimes: Sendable, Codable, Equatable {
        public var count: Int
        public var minNanoseconds: Int64
        public var medianNanoseconds: Int64
        public var p95Nanoseconds: Int64
        public var maxNanoseconds: Int64

        enum CodingKeys: String, CodingKey {
            case count, minNanoseconds, medianNanoseconds, maxNanoseconds
            case p95Nanoseconds = "p95_nanoseconds"
        }

        /// The samples' figures; nil without a sample.
        init?(_ samples: LatencyHistogram) {
            guard samples.count > 0, let median = samples.percentile(0.5), let p95 = samples.percentile(0.95) else {
                return nil
            }
            count = samples.count
            minNanoseconds = samples.minimum
            medianNanoseconds = median
            p95Nanoseconds = p95
            maxNanoseconds = samples.maximum
        }
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
    /// TCP: the server's response times, when the client asked and the server answered.
    public var responseTimes: ResponseTimes?
    /// TCP: the client's think times (the last byte of an answer to the first byte of its next
    /// request on the connection), in the same figures; absent before a second request.
    public var thinkTimes: ResponseTimes?

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
        func side(_ s: TCPSide, peer: TCPSide) -> Side {
            Side(address: "\(s.endpoint.address)", port: s.endpoint.port, packets: s.packets, bytes: s.bytes,
                 payloadBytes: s.payloadBytes, retransmittedBytes: s.retransmittedBytes, mss: s.synMSS,
                 windowScale: s.windowScaleShift, sackPermitted: s.sackPermitted, timestamps: s.timestamps,
                 transfer: Transfer(s, peer: peer))
        }
        transport = "tcp"
        stream = c.stream
        originator = side(c[c.originator], peer: c[1 - c.originator])
        responder = side(c[1 - c.originator], peer: c[c.originator])
        responseTimes = ResponseTimes(c.responseTimes.samples)
        thinkTimes = ResponseTimes(c.responseTimes.thinkTimes)
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
