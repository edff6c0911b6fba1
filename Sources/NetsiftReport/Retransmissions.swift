import NetsiftDissect
import NetsiftFlows

/// Retransmissions, per server endpoint: the share of each conversation side's data segments sent
/// again, split into Wireshark's kinds — timeout (RTO) retransmissions, fast retransmissions after
/// duplicate ACKs, and spurious ones (data already acknowledged) — worst conversations first.
struct RetransmissionDetector {
    let thresholds: DiagnosisThresholds
    struct Group {
        /// Conversations with a side over the thresholds (each once), and the worst of them with
        /// their rates.
        var conversations = 0
        var flows: [(FlowReference, Double)] = []
        var peers: [String] = []
        var frames: [Int] = []
        var retransmissions = 0, dataSegments = 0, fast = 0, spurious = 0, bytes = 0, outOfOrder = 0
        var worstRate = 0.0
        /// The busiest second (most retransmissions in one conversation side) and when it began.
        var peakPerSecond = 0
        var peakSecond: Int64 = 0

        mutating func add(_ side: TCPSide, rate: Double) {
            retransmissions += side.retransmissions
            dataSegments += side.dataSegments
            fast += side.fastRetransmissions
            spurious += side.spuriousRetransmissions
            bytes += side.retransmittedBytes
            outOfOrder += side.outOfOrderSegments
            worstRate = max(worstRate, rate)
            for frame in side.retransmissionFrames.prefix(3) where frames.count < Finding.listLimit { frames.append(frame) }
            if side.peakRetransmissionsPerSecond > peakPerSecond {
                peakPerSecond = side.peakRetransmissionsPerSecond
                peakSecond = side.peakRetransmissionSecond
            }
        }
    }
    var groups: [String: Group] = [:]

    init(thresholds: DiagnosisThresholds) { self.thresholds = thresholds }

    mutating func add(_ c: TCPConversation) {
        var server: String?   // formatted for a conversation that makes a finding, once
        var worst = 0.0
        for me in 0...1 where c[me].retransmissions >= thresholds.minimumRetransmissions {
            let rate = Double(c[me].retransmissions) / Double(max(1, c[me].dataSegments))
            guard rate >= thresholds.retransmissionRate else { continue }
            let key = server ?? groups.bounded(c.subject(c.serviceSide))
            server = key
            // Changed in place: a group taken out and put back shares its arrays, and each
            // append would copy them.
            groups[key, default: Group()].add(c[me], rate: rate)
            worst = max(worst, rate)
        }
        guard let server else { return }
        groups[server]!.conversations += 1
        // The worst `listLimit` conversations by rate.
        if groups[server]!.flows.count < Finding.listLimit {
            groups[server]!.flows.append((c.reference, worst))
        } else if let least = groups[server]!.flows.indices.min(by: { groups[server]!.flows[$0].1 < groups[server]!.flows[$1].1 }),
                  groups[server]!.flows[least].1 < worst {
            groups[server]!.flows[least] = (c.reference, worst)
        }
        groups[server]!.peers.addPeer(c.clientEndpoint)
    }

    func findings() -> [Finding] {
        groups.map { server, g in
            let rate = Double(g.retransmissions) / Double(max(1, g.dataSegments))
            let timeouts = g.retransmissions - g.fast - g.spurious
            let flows = g.flows.sorted { $0.1 > $1.1 }.map(\.0)
            let cause: String
            if g.spurious * 2 > g.retransmissions {
                cause = "Mostly spurious: the data had arrived; the sender's retransmission timer is too short for the path's delay (RTT spikes, delayed ACKs)."
            } else if g.fast * 2 > g.retransmissions {
                cause = "Mostly fast retransmissions after duplicate ACKs: packet loss on the path (congestion, a lossy link, a policer), the receiver saw the gaps."
            } else {
                cause = "Mostly timeouts: whole windows or their ACKs lost (congestion, a flapping link, a firewall dropping state), or a peer that stalls."
            }
            return Finding(
                kind: .retransmissions, severity: rate >= 0.1 ? .error : .warning, endpoint: server, peers: g.peers,
                count: g.retransmissions, countUnit: "retransmitted segments", flows: flows, frames: g.frames,
                facts: ["data_segments": .int(g.dataSegments), "rate_percent": .double((rate * 1000).rounded() / 10),
                        "worst_flow_rate_percent": .double((g.worstRate * 1000).rounded() / 10),
                        "timeout": .int(timeouts), "fast": .int(g.fast), "spurious": .int(g.spurious),
                        "retransmitted_bytes": .int(g.bytes), "conversations": .int(g.conversations),
                        "out_of_order": .int(g.outOfOrder), "peak_per_second": .int(g.peakPerSecond),
                        "peak_second_ns": .int(Int(g.peakSecond))],
                summary: "\(plural(g.retransmissions, "segment")) \(verb(g.retransmissions, "was")) retransmitted in conversations with \(server) (\(fixed1(rate * 100))% of data segments; \(grouped(timeouts)) timeout, \(grouped(g.fast)) fast, \(grouped(g.spurious)) spurious).",
                explanation: "Data had to be sent again: each retransmission costs at least a round trip, a timeout one 200 ms or more.",
                likelyCause: cause,
                nextStep: "Find where the loss happens: capture at both ends and compare; check interface errors and drops (`ip -s link`, `ethtool -S`) and queue drops (`tc -s qdisc`) on the path.")
        }
    }
}

/// One decimal, the whole part grouped as every number in text output: 1285.94 -> "1,285.9".
func fixed1(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return (tenths < 0 ? "-" : "") + "\(grouped(abs(tenths) / 10)).\(abs(tenths) % 10)"
}
