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

    /// Memory per half-open conversation: a request is a fraction of a full conversation.
    @Test func aRequestIsAFractionOfAConversation() {
        let request = MemoryLayout<TCPRequest>.stride, full = MemoryLayout<TCPConversation>.stride
        print("TCPRequest \(request) bytes, TCPConversation \(full) bytes, UDPConversation \(MemoryLayout<UDPConversation>.stride) bytes")
        #expect(request * 3 < full)
    }
}
