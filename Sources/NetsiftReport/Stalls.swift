import NetsiftDissect
import NetsiftFlows

/// Transfers that stopped: one side retransmitting the same segment by timeout, the timer backing
/// off, and its data never acknowledged up to the end of the conversation's record. Whatever the
/// retransmission rate, nothing moved any more: grouped by the service (the transfers to or from
/// it), with the bytes left outstanding, how long nothing was acknowledged, and which side waited.
struct StallDetector {
    /// Timeout retransmissions of one segment that make a stall (the original send, then these).
    static let retransmissions = 2

    struct Group {
        var conversations = EndpointGroup()
        var bytesOutstanding = 0
        var mostRetransmissions = 0
        var largestSegment = 0
        /// The earliest moment from which nothing was acknowledged, over the group.
        var since: Int64 = .max
        var fromClient = 0
        var fromServer = 0
        /// The sender that stalled in the worst conversation, as written.
        var worstSender = ""
    }
    var groups: [String: Group] = [:]

    mutating func add(_ c: TCPConversation) {
        for me in 0...1 where c[me].stall.retransmissions >= Self.retransmissions && c[me].stall.backingOff {
            let side = c[me], peer = c[1 - me], stall = side.stall
            // Acknowledged after all: the transfer went on.
            if peer.analysis.hasLastAck && seqLess(stall.seq, peer.analysis.lastAck) { continue }
            let acknowledged = peer.analysis.hasLastAck ? peer.analysis.lastAck : stall.seq
            let outstanding = side.analysis.hasNextSeq ? Int(side.analysis.nextSeq &- acknowledged) : stall.length
            // Nothing acknowledged since the peer's acknowledgment last moved, unless that was
            // before the segment's first timeout (an idle connection that sent again).
            let since = peer.lastAckAdvanceTime.map { $0 <= stall.firstTime ? $0 : stall.firstTime } ?? stall.firstTime
            let key = groups.bounded(c.subject(c.serviceSide))
            var g = groups.removeValue(forKey: key) ?? Group()
            g.conversations.add(c, peer: c.clientEndpoint, frames: [stall.firstFrame], value: stall.retransmissions)
            g.bytesOutstanding += outstanding < 1 << 31 ? outstanding : stall.length
            if stall.retransmissions > g.mostRetransmissions {
                g.mostRetransmissions = stall.retransmissions
                g.worstSender = c.subject(me)
            }
            g.largestSegment = max(g.largestSegment, stall.length)
            g.since = min(g.since, since)
            if me == c.serviceSide { g.fromServer += 1 } else { g.fromClient += 1 }
            groups[key] = g
        }
    }

    /// `captureEnd`: the last packet's time; stalls are measured up to it.
    func findings(captureEnd: Int64?) -> [Finding] {
        groups.map { service, g in
            let c = g.conversations
            let seconds = Double(max(0, (captureEnd ?? g.since) &- g.since)) / 1e9
            let direction = g.fromServer == 0 ? "to" : g.fromClient == 0 ? "from" : "to and from"
            let sender = g.fromServer == 0 ? (g.fromClient == 1 ? "the client" : "the clients")
                : g.fromClient == 0 ? service : "both sides"
            return Finding(
                kind: .stalledTransfer, severity: .error, endpoint: service, peers: c.peers, count: c.count,
                countUnit: "conversations", flows: c.flows, frames: c.frames,
                facts: ["bytes_outstanding": .int(g.bytesOutstanding), "seconds_without_acknowledgment": .double((seconds * 1000).rounded() / 1000),
                        "most_retransmissions_of_one_segment": .int(g.mostRetransmissions),
                        "largest_stalled_segment": .int(g.largestSegment), "stalled_sender": .string(g.worstSender),
                        "client_to_server": .int(g.fromClient), "server_to_client": .int(g.fromServer)],
                summary: "\(plural(c.count, "transfer")) \(direction) \(service) stopped: \(sender) kept retransmitting the same segment by timeout (\(plural(g.mostRetransmissions, "time")) at most, segments of up to \(plural(g.largestSegment, "byte"))) and it was never acknowledged; \(plural(g.bytesOutstanding, "byte")) outstanding, nothing acknowledged for the last \(fixed1(seconds)) s of the capture.",
                explanation: "The receiver never acknowledged that data: each retransmission waits twice as long as the one before, and the application sees a hung request or upload until the connection times out.",
                likelyCause: "Segments of that size cannot cross the path (an MTU black hole: a smaller MTU on the way and its ICMP filtered), a firewall or load balancer that lost the connection's state, or a receiver that stopped.",
                nextStep: "Test the path with large packets (`ping -M do -s 1472 \(host(service))` from the clients, `tracepath`); capture at the receiver to see whether the segments arrive; check stateful firewalls for dropped state.")
        }
    }
}
