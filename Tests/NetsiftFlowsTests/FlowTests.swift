import Testing
import NetsiftDissect
import NetsiftFlows

/// Builds TCP and UDP packet summaries by hand and runs them through a tracker.
struct FlowDriver {
    var tracker: FlowTracker
    var finished: [FinishedFlow] = []
    var frame = 0
    static let client = Endpoint(address: IPAddress(ipv4: 0x0A00_0001), port: 40000)
    static let server = Endpoint(address: IPAddress(ipv4: 0x0A00_0002), port: 80)

    init(limits: FlowLimits = FlowLimits()) { tracker = FlowTracker(flowLimits: limits) }

    /// One TCP segment; `time` in seconds.
    @discardableResult
    mutating func tcp(_ from: Endpoint, _ to: Endpoint, _ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0,
                      length: Int = 0, window: UInt16 = 1000, timestamps: (value: UInt32, echo: UInt32)? = nil,
                      time: Double) -> TrackedPacket? {
        var s = Self.summary(from, to, flags, seq: seq, ack: ack, length: length, window: window, timestamps: timestamps)
        frame += 1
        let bytes = [UInt8](repeating: 0, count: 20)
        let result = tracker.track(&s, bytes: bytes.span.bytes, frame: frame, time: Int64(time * 1e9),
                                   wireLength: 54 + length) { _ in }
        tracker.drain { finished.append($0) }
        return result
    }

    /// The summary of one TCP segment as the dissector writes it.
    static func summary(_ from: Endpoint, _ to: Endpoint, _ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0,
                        length: Int = 0, window: UInt16 = 1000, timestamps: (value: UInt32, echo: UInt32)? = nil) -> PacketSummary {
        var s = PacketSummary()
        s.layers = [.ipv4, .tcp]
        s.source = from.address
        s.destination = to.address
        s.sourcePort = from.port
        s.destinationPort = to.port
        s.tcpFlags = flags
        s.sequenceNumber = seq
        s.acknowledgmentNumber = ack
        s.windowSize = window
        s.transportHeader = 0..<20
        s.payload = 20..<20
        s.payloadWireLength = length
        s.tcpOptions.timestampValue = timestamps?.value
        s.tcpOptions.timestampEcho = timestamps?.echo
        return s
    }

    mutating func udp(_ from: Endpoint, _ to: Endpoint, time: Double) {
        var s = PacketSummary()
        s.layers = [.ipv4, .udp]
        s.source = from.address
        s.destination = to.address
        s.sourcePort = from.port
        s.destinationPort = to.port
        s.transportHeader = 0..<8
        s.payload = 8..<8
        s.payloadWireLength = 10
        frame += 1
        let bytes = [UInt8](repeating: 0, count: 8)
        _ = tracker.track(&s, bytes: bytes.span.bytes, frame: frame, time: Int64(time * 1e9), wireLength: 52) { _ in }
        tracker.drain { finished.append($0) }
    }

    mutating func end() -> [TCPConversation] {
        tracker.finish { finished.append($0) }
        return finished.compactMap { if case .tcp(let c) = $0 { c } else { nil } }.sorted { $0.stream < $1.stream }
    }

    /// A full handshake from `client`; returns nothing, times from `at`.
    mutating func handshake(at t: Double, client: Endpoint = Self.client, isn: UInt32 = 100) {
        tcp(client, Self.server, .syn, seq: isn, time: t)
        tcp(Self.server, client, [.syn, .ack], seq: 900, ack: isn + 1, time: t + 0.001)
        tcp(client, Self.server, .ack, seq: isn + 1, ack: 901, time: t + 0.002)
    }
}

@Suite struct ConnectionStateTests {
    @Test func normalOpenAndCloseIsSF() {
        var d = FlowDriver()
        d.handshake(at: 0)
        d.tcp(FlowDriver.client, FlowDriver.server, [.psh, .ack], seq: 101, ack: 901, length: 10, time: 0.01)
        d.tcp(FlowDriver.server, FlowDriver.client, [.fin, .ack], seq: 901, ack: 111, time: 0.02)
        d.tcp(FlowDriver.client, FlowDriver.server, [.fin, .ack], seq: 111, ack: 902, time: 0.03)
        d.tcp(FlowDriver.server, FlowDriver.client, .ack, seq: 902, ack: 112, time: 0.04)
        let flows = d.end()
        #expect(flows.count == 1)
        #expect(flows[0].connectionState == .SF)
        // Zeek: S h A D, then the responder's F, the originator's F; 'a' only once per side.
        #expect(flows[0].history == "ShADfFa")
        #expect(flows[0].handshakeCompleted)
        #expect(flows[0].handshakeRTT == 2_000_000)
    }

    @Test func unansweredSYNsAreS0() {
        var d = FlowDriver()
        d.tcp(FlowDriver.client, FlowDriver.server, .syn, seq: 100, time: 0)
        d.tcp(FlowDriver.client, FlowDriver.server, .syn, seq: 100, time: 1)   // same seq: no second 'S'
        let flows = d.end()
        #expect(flows.map(\.connectionState) == [.S0])
        #expect(flows[0].history == "S")
    }

    @Test func resetAnswerToSYNIsREJ() {
        var d = FlowDriver()
        d.tcp(FlowDriver.client, FlowDriver.server, .syn, seq: 100, time: 0)
        d.tcp(FlowDriver.server, FlowDriver.client, [.rst, .ack], seq: 0, ack: 101, time: 0.001)
        #expect(d.end().map(\.connectionState) == [.REJ])
    }

    @Test func synThenOwnResetIsRSTOS0() {
        var d = FlowDriver()
        d.tcp(FlowDriver.client, FlowDriver.server, .syn, seq: 100, time: 0)
        d.tcp(FlowDriver.client, FlowDriver.server, .rst, seq: 101, time: 0.5)
        let flows = d.end()
        #expect(flows.map(\.connectionState) == [.RSTOS0])
        #expect(flows[0].history == "SR")
    }

    @Test func establishedThenResetBySideNamesTheSide() {
        var d = FlowDriver()
        d.handshake(at: 0)
        d.tcp(FlowDriver.server, FlowDriver.client, [.rst, .ack], seq: 901, ack: 101, time: 0.1)
        #expect(d.end().map(\.connectionState) == [.RSTR])
        var o = FlowDriver()
        o.handshake(at: 0)
        o.tcp(FlowDriver.client, FlowDriver.server, .rst, seq: 101, time: 0.1)
        #expect(o.end().map(\.connectionState) == [.RSTO])
    }

    @Test func halfClosedByOneSide() {
        var d = FlowDriver()
        d.handshake(at: 0)
        d.tcp(FlowDriver.client, FlowDriver.server, [.fin, .ack], seq: 101, ack: 901, time: 0.1)
        d.tcp(FlowDriver.server, FlowDriver.client, .ack, seq: 901, ack: 102, time: 0.2)
        #expect(d.end().map(\.connectionState) == [.S2])
        var r = FlowDriver()
        r.handshake(at: 0)
        r.tcp(FlowDriver.server, FlowDriver.client, [.fin, .ack], seq: 901, ack: 101, time: 0.1)
        #expect(r.end().map(\.connectionState) == [.S3])
    }

    @Test func establishedAndOpenIsS1_midstreamIsOTH() {
        var d = FlowDriver()
        d.handshake(at: 0)
        #expect(d.end().map(\.connectionState) == [.S1])
        var m = FlowDriver()
        m.tcp(FlowDriver.client, FlowDriver.server, [.psh, .ack], seq: 5000, ack: 7000, length: 100, time: 0)
        m.tcp(FlowDriver.server, FlowDriver.client, .ack, seq: 7000, ack: 5100, time: 0.01)
        let flows = m.end()
        #expect(flows.map(\.connectionState) == [.OTH])
        #expect(flows[0].history == "Da")
    }

    @Test func synAckSeenFirstFlipsTheOriginator() {
        var d = FlowDriver()
        d.tcp(FlowDriver.server, FlowDriver.client, [.syn, .ack], seq: 900, ack: 101, time: 0)
        d.tcp(FlowDriver.client, FlowDriver.server, .ack, seq: 101, ack: 901, time: 0.001)
        let flows = d.end()
        #expect(flows[0].history.hasPrefix("^h"))
        #expect(flows[0][flows[0].originator].endpoint == FlowDriver.client)
    }

    @Test func zeekHistoryCountersAreLogarithmic() {
        var d = FlowDriver()
        d.handshake(at: 0)
        for i in 0..<12 {   // twelve zero-window ACKs from the server: 'w' at the 1st and 10th
            d.tcp(FlowDriver.server, FlowDriver.client, .ack, seq: 901, ack: 101, window: 0, time: 0.01 + Double(i) * 0.001)
        }
        #expect(d.end()[0].history == "ShAaww")
    }
}

@Suite struct FlowTableTests {
    @Test func idleConversationsEndAndAPortPairStartsANewStream() {
        var d = FlowDriver()
        d.handshake(at: 0)
        // 400 s later (> 300 s idle) the same ports make a new conversation with a new number.
        d.handshake(at: 400, isn: 5000)
        #expect(d.finished.count == 1)
        let flows = d.end()
        #expect(flows.map(\.stream) == [0, 1])
    }

    @Test func reusedPortsWithANewSYNStartANewStream() {
        var d = FlowDriver()
        d.handshake(at: 0)
        d.tcp(FlowDriver.client, FlowDriver.server, [.fin, .ack], seq: 101, ack: 901, time: 0.1)
        d.tcp(FlowDriver.server, FlowDriver.client, [.fin, .ack], seq: 901, ack: 102, time: 0.1)
        let analysis = d.tcp(FlowDriver.client, FlowDriver.server, .syn, seq: 77777, time: 1)
        #expect(analysis?.stream == 1)
        #expect(analysis?.flags.contains(.reusedPorts) == true)
        #expect(d.end().map(\.connectionState) == [.SF, .S0])
    }

    @Test func theFlowLimitEvictsTheIdlestAndCountsIt() {
        var d = FlowDriver(limits: FlowLimits(maximumFlows: 4))
        for i in 0..<10 {
            let client = Endpoint(address: IPAddress(ipv4: 0x0A00_0001), port: UInt16(50000 + i))
            d.tcp(client, FlowDriver.server, .syn, seq: 1, time: Double(i))
            // The first conversation stays busy, so it is never the one evicted.
            d.tcp(FlowDriver.client, FlowDriver.server, .syn, seq: 1, time: Double(i) + 0.5)
        }
        #expect(d.tracker.activeTCP.count <= 4)
        #expect(d.tracker.counters.evicted == 7)   // 11 conversations, room for 4
        #expect(d.tracker.activeTCP.contains { $0[0].endpoint == FlowDriver.client })
        let flows = d.end()
        #expect(flows.count == 11)
        #expect(Set(flows.map(\.stream)) == Set(0..<11))
    }

    @Test func udpConversationsPairBothDirections() {
        var d = FlowDriver()
        let dns = Endpoint(address: IPAddress(ipv4: 0x0A00_0002), port: 53)
        d.udp(FlowDriver.client, dns, time: 0)
        d.udp(dns, FlowDriver.client, time: 0.01)
        d.udp(FlowDriver.client, Endpoint(address: IPAddress(ipv4: 0x0A00_0003), port: 53), time: 0.02)
        d.tracker.finish { d.finished.append($0) }
        let udp = d.finished.compactMap { if case .udp(let c) = $0 { c } else { nil } }.sorted { $0.stream < $1.stream }
        #expect(udp.map(\.connectionState) == [.SF, .S0])
        #expect(udp[0].sides.0.packets == 1 && udp[0].sides.1.packets == 1)
        #expect(udp[0].history == "Dd")
    }
}
