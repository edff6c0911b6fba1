import Testing
import NetsiftDissect
@testable import NetsiftFlows

/// Half-open conversations are kept compact (`TCPRequest`) until they prove real, and replaying
/// them gives what following them in full gave.
@Suite struct RequestTests {
    static let client = FlowDriver.client, server = FlowDriver.server

    @Test func bareSYNsStayCompactUntilTheHandshakeCompletes() {
        var d = FlowDriver()
        for port in UInt16(1)...100 {
            let source = Endpoint(address: Self.client.address, port: 20_000 + port)
            let result = d.tcp(source, Self.server, [.syn], seq: 1000, time: 0.001 * Double(port))
            #expect(result?.stream == Int(port) - 1)
            #expect(result?.flags == [])
        }
        #expect(d.tracker.requests.count == 100)
        #expect(d.tracker.tcp.count == 0)
        // Answered by a SYN/ACK: still a request (the kernel's SYN queue holds it too)…
        let answer = Endpoint(address: Self.client.address, port: 20_001)
        d.tcp(Self.server, answer, [.syn, .ack], seq: 5000, ack: 1001, time: 0.2)
        #expect(d.tracker.requests.count == 100)
        // …until the handshake completes: then it is a full conversation, with the same number.
        let completed = d.tcp(answer, Self.server, [.ack], seq: 1001, ack: 5001, time: 0.3)
        #expect(completed?.stream == 0)
        #expect(d.tracker.requests.count == 99)
        #expect(d.tracker.tcp.count == 1)
        #expect(d.tracker.tcp.entries[0].handshakeCompleted)
        #expect(d.tracker.counters.peakActive == 100)
    }

    @Test func aRetransmittedSYNIsFlaggedAndPromoted() {
        var d = FlowDriver()
        d.tcp(Self.client, Self.server, [.syn], seq: 7000, time: 0)
        // Wireshark marks a SYN sent again with the same sequence number as a retransmission.
        let again = d.tcp(Self.client, Self.server, [.syn], seq: 7000, time: 1)
        #expect(again?.flags.contains(.retransmission) == true)
        #expect(d.tracker.requests.count == 0)
        d.tracker.finish { d.finished.append($0) }
        guard case .tcp(let c)? = d.finished.first else { Issue.record("no conversation"); return }
        #expect(c[0].synCount == 2)
        #expect(c.history == "S")
        #expect(c.connectionState == .S0)
    }

    /// A request ended by the capture is replayed: its summary is a full conversation's.
    @Test func aRejectedRequestEndsAsREJ() {
        var d = FlowDriver()
        d.tcp(Self.client, Self.server, [.syn], seq: 7000, time: 0)
        d.tcp(Self.server, Self.client, [.rst, .ack], seq: 0, ack: 7001, time: 0.001)
        #expect(d.tracker.requests.count == 1)
        d.tracker.finish { d.finished.append($0) }
        guard case .tcp(let c)? = d.finished.first else { Issue.record("no conversation"); return }
        #expect(c.connectionState == .REJ)
        #expect(c.history == "Sr")
        #expect(c[0].packets == 1 && c[1].packets == 1)
        #expect(c[0].bytes == 54 && c[1].bytes == 54)
        #expect(c.firstFrame == 1 && c.lastFrame == 2)
    }

    /// A request keeps what its SYN/ACK's timestamp echo did to the transfer figures: the echo of
    /// the SYN's TSval counts once, so the server's ACK echoing it again (the client's first data
    /// went out in the same timestamp tick) is no round-trip sample, as in a conversation followed
    /// in full from the first segment (built here without the tracker, so without a request).
    @Test func aRequestKeepsItsTimestampEchoes() {
        typealias Segment = (from: Endpoint, to: Endpoint, flags: TCPFlags, seq: UInt32, ack: UInt32, length: Int,
                             timestamps: (value: UInt32, echo: UInt32))
        let segments: [Segment] = [
            (Self.client, Self.server, [.syn], 1000, 0, 0, (7, 0)),
            (Self.server, Self.client, [.syn, .ack], 5000, 1001, 0, (50, 7)),
            (Self.client, Self.server, [.ack], 1001, 5001, 0, (7, 50)),
            (Self.client, Self.server, [.psh, .ack], 1001, 5001, 100, (7, 50)),
            (Self.server, Self.client, [.ack], 5001, 1101, 0, (51, 7)),
        ]
        var d = FlowDriver()
        var direct = TCPConversation(stream: 0, key: FlowKey.make(source: Self.client, destination: Self.server,
                                                                    ipProtocol: 6, tunnel: .none).0,
                                     first: Self.client, second: Self.server, frame: 1, time: 0)
        for (index, segment) in segments.enumerated() {
            let time = 0.001 * Double(index + 1)
            d.tcp(segment.from, segment.to, segment.flags, seq: segment.seq, ack: segment.ack, length: segment.length,
                  window: 65535, timestamps: segment.timestamps, time: time)
            var s = FlowDriver.summary(segment.from, segment.to, segment.flags, seq: segment.seq, ack: segment.ack,
                                       length: segment.length, window: 65535, timestamps: segment.timestamps)
            let bytes = [UInt8](repeating: 0, count: 20)
            _ = direct.follow(&s, bytes: bytes.span.bytes, from: segment.from, frame: index + 1, time: Int64(time * 1e9),
                              wireLength: 54 + segment.length, reusedPorts: false, decodeAs: d.tracker.decodeAs,
                              limits: d.tracker.reassemblyLimits, heldBytes: 0) { _ in }
        }
        let tracked = d.end()[0]
        #expect(direct[0].transfer.timestampRTTSamples == 0)
        for side in 0...1 {
            #expect(tracked[side].transfer.timestampRTTSamples == direct[side].transfer.timestampRTTSamples)
            #expect(tracked[side].transfer.lastEchoSampled == direct[side].transfer.lastEchoSampled)
        }
        #expect(tracked[1].transfer.lastEchoSampled == 7)
    }

    /// Memory per half-open conversation: a request is a fraction of a full conversation, and so is
    /// a lone datagram of a UDP conversation.
    @Test func aRequestIsAFractionOfAConversation() {
        let request = MemoryLayout<TCPRequest>.stride, full = MemoryLayout<TCPConversation>.stride
        let lone = MemoryLayout<LoneDatagram>.stride, udp = MemoryLayout<UDPConversation>.stride
        print("TCPRequest \(request) bytes, TCPConversation \(full) bytes, LoneDatagram \(lone) bytes, UDPConversation \(udp) bytes")
        #expect(request * 3 < full)
        #expect(lone * 2 < udp)
    }

    /// A UDP conversation of one datagram is kept as that datagram until a second comes (either
    /// way); the numbers and the summary are those of the datagrams sent here.
    @Test func oneDatagramConversationsStayCompactUntilASecondComes() {
        var d = FlowDriver()
        for port in UInt16(1)...50 {
            d.udp(Endpoint(address: Self.client.address, port: 30_000 + port), Self.server, time: 0.001 * Double(port))
        }
        #expect(d.tracker.datagrams.count == 50)
        #expect(d.tracker.udp.count == 0)
        #expect(d.tracker.activeCount == 50)
        // The server answers the third: that conversation takes its full form, with its number.
        d.udp(Self.server, Endpoint(address: Self.client.address, port: 30_003), time: 0.1)
        #expect(d.tracker.datagrams.count == 49)
        #expect(d.tracker.udp.count == 1)
        #expect(d.tracker.counters.udpConversations == 50)
        #expect(d.tracker.counters.peakActive == 50)
        d.tracker.finish { d.finished.append($0) }
        let all = d.finished.compactMap { if case .udp(let c) = $0 { c } else { nil } }
        #expect(all.map(\.stream) == Array(0..<50))
        let answered = all[2], lone = all[0]
        #expect(answered.sides.0.endpoint == Endpoint(address: Self.client.address, port: 30_003))
        #expect(answered.sides.0.packets == 1 && answered.sides.1.packets == 1)
        #expect(answered.sides.0.bytes == 52 && answered.sides.1.bytes == 52)
        #expect(answered.connectionState == .SF)
        #expect(answered.history == "Dd")
        #expect(answered.firstFrame == 3 && answered.lastFrame == 51)
        #expect(lone.sides.0.endpoint == Endpoint(address: Self.client.address, port: 30_001))
        #expect(lone.sides.1.endpoint == Self.server)
        #expect(lone.sides.0.packets == 1 && lone.sides.0.payloadBytes == 10 && lone.sides.1.packets == 0)
        #expect(lone.connectionState == .S0)
        #expect(lone.history == "D")
        #expect(lone.start == 1_000_000 && lone.last == 1_000_000)
    }

    /// A lone datagram to a DNS port is named DNS, as the full conversation would be.
    @Test func aLoneDatagramKeepsItsProtocol() {
        var d = FlowDriver()
        d.udp(Self.client, Endpoint(address: Self.server.address, port: 53), time: 0)
        #expect(d.tracker.datagrams.count == 1)
        d.tracker.finish { d.finished.append($0) }
        guard case .udp(let c)? = d.finished.first else { Issue.record("no conversation"); return }
        #expect(c.application == .dns)
    }

    /// When UDP conversations fill `maximumFlows`, one-datagram ones are ended first: the answered
    /// one survives a flood of lone datagrams.
    @Test func loneDatagramsAreEvictedFirst() {
        var d = FlowDriver(limits: FlowLimits(maximumFlows: 10))
        d.udp(Self.client, Self.server, time: 0)
        d.udp(Self.server, Self.client, time: 0.001)
        for port in UInt16(1)...40 {
            d.udp(Endpoint(address: Self.client.address, port: 30_000 + port), Self.server, time: 0.01 * Double(port))
        }
        #expect(d.tracker.udp.count == 1)
        #expect(d.tracker.datagrams.count == 9)
        #expect(d.tracker.counters.evicted == 31)
        #expect(d.finished.count == 31)
    }
}
