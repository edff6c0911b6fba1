import NetsiftDissect
import NetsiftFlows

/// MSS and MTU trouble: SYN and SYN/ACK announcing different MSS values (informational),
/// segments larger than the MSS the receiver announced, ICMP "fragmentation needed" / "packet too
/// big" about a conversation, and the MTU black hole — segments above some size retransmitted
/// again and again (or twice by timeout, the transfer stopping) while smaller ones get through,
/// with no ICMP seen.
struct PathMTUDetector {
    let thresholds: DiagnosisThresholds
    var mssMismatch: [String: EndpointGroup] = [:]
    var mssPairs: [String: Set<String>] = [:]
    var aboveMSS: [String: EndpointGroup] = [:]
    var icmp: [String: EndpointGroup] = [:]
    var icmpMTU: [String: UInt32] = [:]
    struct BlackHole {
        var group = EndpointGroup()
        var passed = 0
        var failed = 0
        var timeouts = 0

        /// Conversation `c`, whose side `me` retransmitted its large segments in vain.
        mutating func add(_ c: TCPConversation, _ me: Int) {
            let side = c[me]
            group.add(c, peer: c[1 - me].endpoint,
                      frames: Array(side.retransmissionFrames.prefix(4)), value: side.oversizeRetransmissions)
            timeouts += side.oversizeTimeoutRetransmissions
            // What did get through on this conversation, either way: the sizes that pass.
            passed = max(passed, c.sides.0.analysis.largestAcked, c.sides.1.analysis.largestAcked)
            failed = failed == 0 ? side.largestUnacknowledgedRetransmission
                                 : min(failed, side.largestUnacknowledgedRetransmission)
        }
    }
    var blackHoles: [String: BlackHole] = [:]
    /// Conversations in a tunnel whose packets, with what the tunnels add, do not fit the underlay:
    /// large segments retransmitted and never acknowledged while small ones pass, or tunnel
    /// packets crossing the underlay in fragments. Per tunnel (kind and outer endpoints).
    struct Overlay {
        var group = EndpointGroup()
        var kind = ""
        var overhead = 0
        var largestInner = 0
        var stalledRetransmissions = 0
        var fragmented = 0
        var smallestICMPMTU: UInt32?
        /// The tunnel's outer endpoints, either way round (`outerPair`).
        var outerPair = ""
        /// ICMP fragmentation-needed about the tunnel's own (outer) packets, sent on the underlay.
        var underlayICMPErrors = 0
    }
    var overlays: [String: Overlay] = [:]
    /// Tunneled conversations without the pattern, per tunnel (bounded): an ICMP error about their
    /// tunnel's outer packets makes them an overlay MTU finding after all.
    var quietTunnels: [String: Overlay] = [:]
    /// ICMP fragmentation-needed / packet-too-big quoting a datagram that could carry a tunnel
    /// (UDP, GRE, IP in IP), per pair of outer addresses (bounded).
    struct UnderlayICMP {
        var count = 0
        var mtu: UInt32?
        var frames: [Int] = []
    }
    var underlayICMP: [String: UnderlayICMP] = [:]
    static let underlayPairLimit = 10_000

    /// The key of a pair of outer addresses, the same either way round.
    static func outerPair(_ a: IPAddress, _ b: IPAddress) -> String {
        let (x, y) = ("\(a)", "\(b)")
        return x < y ? "\(x) \(y)" : "\(y) \(x)"
    }

    /// An ICMP fragmentation-needed (packet too big) on the underlay about a datagram from `source`
    /// to `destination` that may be a tunnel's: the underlay's MTU, said by a router.
    mutating func underlayICMP(source: IPAddress, destination: IPAddress, mtu: UInt32?, frame: Int) {
        let pair = Self.outerPair(source, destination)
        guard underlayICMP[pair] != nil || underlayICMP.count < Self.underlayPairLimit else { return }
        underlayICMP[pair, default: UnderlayICMP()].count += 1
        if let mtu, mtu > 0 { underlayICMP[pair]!.mtu = min(mtu, underlayICMP[pair]!.mtu ?? mtu) }
        if underlayICMP[pair]!.frames.count < 4 { underlayICMP[pair]!.frames.append(frame) }
    }

    /// Timeout retransmissions of oversize segments that make a black hole whatever the threshold:
    /// a sender whose large segments timed out twice, with nothing that large ever acknowledged,
    /// has stopped sending them through.
    static let blackHoleTimeouts = 2

    init(thresholds: DiagnosisThresholds) { self.thresholds = thresholds }

    mutating func add(_ c: TCPConversation) {
        // Formatted only for a conversation that makes a finding.
        var server: String { "\(c.serverEndpoint)" }
        let client = c[c.clientSide], serverSide = c[1 - c.clientSide]
        if let clientMSS = client.synMSS, let serverMSS = serverSide.synMSS, clientMSS != serverMSS {
            let server = mssMismatch.bounded(server)
            mssMismatch[server, default: EndpointGroup()].add(c, peer: client.endpoint, frames: [c.firstFrame])
            if mssPairs[server, default: []].count < 8 {
                mssPairs[server, default: []].insert("client \(grouped(Int(clientMSS))) / server \(grouped(Int(serverMSS)))")
            }
        }
        for me in 0...1 where c[me].segmentsAbovePeerMSS > 0 {
            let side = c[me]
            aboveMSS[aboveMSS.bounded(c.subject(me)), default: EndpointGroup()].add(
                c, peer: c[1 - me].endpoint,
                frames: side.firstSegmentAbovePeerMSS.map { [$0] } ?? [], value: side.segmentsAbovePeerMSS)
        }
        if c.icmpErrors > 0, let mtu = c.icmpMTU {
            let server = icmp.bounded(server)
            icmp[server, default: EndpointGroup()].add(c, peer: c.clientEndpoint, frames: c.firstICMPFrame.map { [$0] } ?? [],
                                                       value: c.icmpErrors)
            icmpMTU[server] = min(mtu, icmpMTU[server] ?? mtu)
        }
        if let tunnel = c.tunnel, addOverlay(c, tunnel) { return }
        guard c.icmpErrors == 0 else { return }
        for me in 0...1
        where (c[me].oversizeRetransmissions >= thresholds.blackHoleRetransmissions
               || c[me].oversizeTimeoutRetransmissions >= Self.blackHoleTimeouts)
            && c[me].largestUnacknowledgedRetransmission > c[me].analysis.largestAcked {
            // Changed in place: taken out and put back, the group's arrays would be copied.
            blackHoles[blackHoles.bounded(c.subject(me)), default: BlackHole()].add(c, me)
        }
    }

    /// A tunneled conversation with the overlay MTU pattern, added to its tunnel's group; false
    /// when it has none (its other MTU findings are then judged as for any conversation).
    mutating func addOverlay(_ c: TCPConversation, _ tunnel: FlowTunnel) -> Bool {
        guard c.tunnelOverhead > 0 else { return false }
        let stalled = (0...1).filter {
            c[$0].oversizeRetransmissions >= thresholds.blackHoleRetransmissions
                && c[$0].largestUnacknowledgedRetransmission > c[$0].analysis.largestAcked
        }
        let pattern = !stalled.isEmpty || c.underlayFragmentedPackets > 0
        let name = "\(tunnel.kind.label) \(tunnel.outerSource) <-> \(tunnel.outerDestination)"
        if pattern {
            Self.add(c, tunnel, stalled: stalled, to: &overlays[overlays.bounded(name), default: Overlay()])
        } else if quietTunnels[name] != nil || quietTunnels.count < Finding.endpointLimit {
            Self.add(c, tunnel, stalled: stalled, to: &quietTunnels[name, default: Overlay()])
        }
        return pattern
    }

    /// Conversation `c` of `tunnel` added to its tunnel's overlay (changed in place: taken out and
    /// put back, the group's arrays would be copied).
    static func add(_ c: TCPConversation, _ tunnel: FlowTunnel, stalled: [Int], to o: inout Overlay) {
        let me = stalled.first ?? c.clientSide
        o.group.add(c, peer: c[1 - me].endpoint, frames: Array(c[me].retransmissionFrames.prefix(4)))
        o.kind = tunnel.kind.label
        o.outerPair = outerPair(tunnel.outerSource, tunnel.outerDestination)
        o.overhead = max(o.overhead, c.tunnelOverhead)
        o.largestInner = max(o.largestInner, c.largestInnerPacket)
        o.stalledRetransmissions += stalled.reduce(0) { $0 + c[$1].oversizeRetransmissions }
        o.fragmented += c.underlayFragmentedPackets
        if c.icmpErrors > 0, let mtu = c.icmpMTU { o.smallestICMPMTU = min(mtu, o.smallestICMPMTU ?? mtu) }
    }

    /// The overlays, with the ICMP errors about their outer packets: a quiet tunnel that got one
    /// becomes an overlay too.
    func overlaysWithUnderlayICMP() -> [String: Overlay] {
        var all = overlays
        for (name, quiet) in quietTunnels where underlayICMP[quiet.outerPair] != nil && all[name] == nil {
            all[name] = quiet
        }
        for name in all.keys {
            guard let icmp = underlayICMP[all[name]!.outerPair] else { continue }
            all[name]!.underlayICMPErrors += icmp.count
            if let mtu = icmp.mtu { all[name]!.smallestICMPMTU = min(mtu, all[name]!.smallestICMPMTU ?? mtu) }
            all[name]!.group.frames = Array((all[name]!.group.frames + icmp.frames).sorted().prefix(Finding.listLimit))
        }
        return all
    }

    func findings() -> [Finding] {
        var out: [Finding] = []
        for (tunnel, o) in overlaysWithUnderlayICMP() {
            let g = o.group
            // The underlay's MTU: what an ICMP error said, else Ethernet's 1500 (said as assumed).
            let underlay = o.smallestICMPMTU.map(Int.init) ?? 1500
            let podMTU = underlay - o.overhead
            var symptoms: [String] = []
            if o.stalledRetransmissions > 0 {
                symptoms.append("large segments were retransmitted \(grouped(o.stalledRetransmissions)) times and never acknowledged while small ones passed")
            }
            if o.fragmented > 0 { symptoms.append("\(plural(o.fragmented, "packet")) crossed the underlay in fragments") }
            if o.underlayICMPErrors > 0 {
                symptoms.append("routers sent \(plural(o.underlayICMPErrors, "ICMP fragmentation-needed error")) about the tunnel's own packets (MTU \(grouped(underlay)))")
            }
            let symptom = symptoms.joined(separator: "; ")
            let underlayText = o.smallestICMPMTU == nil ? "a \(grouped(underlay))-byte underlay (assumed: Ethernet)"
                                                        : "the \(grouped(underlay))-byte underlay ICMP reported"
            out.append(Finding(
                kind: .overlayMTU, severity: o.stalledRetransmissions > 0 ? .error : .warning, endpoint: tunnel,
                peers: g.peers, count: g.count, countUnit: "conversations", flows: g.flows, frames: g.frames,
                facts: ["tunnel": .string(o.kind), "overhead": .int(o.overhead), "largest_inner_packet": .int(o.largestInner),
                        "underlay_mtu": .int(underlay), "recommended_inner_mtu": .int(podMTU),
                        "oversize_retransmissions": .int(o.stalledRetransmissions),
                        "fragmented_underlay_packets": .int(o.fragmented), "underlay_icmp_errors": .int(o.underlayICMPErrors)],
                summary: "Packets inside \(tunnel) do not fit the underlay: \(symptom). Inner packets of up to \(grouped(o.largestInner)) bytes plus \(grouped(o.overhead)) bytes of \(o.kind) encapsulation need \(grouped(o.largestInner + o.overhead)); on \(underlayText) the inner MTU must be \(grouped(podMTU)).",
                explanation: "Every inner packet grows by the tunnel's headers on the underlay; when the endpoints (pods, VMs) use the underlay's own MTU, their largest packets no longer fit: they are fragmented, or dropped where fragmenting is not allowed and the ICMP that would say so is lost.",
                likelyCause: "The overlay's MTU (CNI, VXLAN/Geneve device, VPC mirror target) set to the underlay's instead of the underlay's less \(grouped(o.overhead)) bytes.",
                nextStep: "Set the inner MTU to \(grouped(podMTU)) (the CNI's MTU setting, e.g. Flannel's or Calico's `mtu`; `ip link set DEV mtu \(podMTU)` on the tunnel device), or raise the underlay's MTU (jumbo frames) by \(o.overhead); meanwhile clamp the MSS (`iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu`)."))
        }
        for (sender, hole) in blackHoles {
            let g = hole.group
            out.append(Finding(
                kind: .mtuBlackHole, severity: .error, endpoint: sender, peers: g.peers, count: g.count,
                countUnit: "conversations", flows: g.flows, frames: g.frames,
                facts: ["largest_segment_acknowledged": .int(hole.passed), "smallest_segment_never_acknowledged": .int(hole.failed),
                        "oversize_retransmissions": .int(g.total), "oversize_timeout_retransmissions": .int(hole.timeouts)],
                summary: "Packets above a certain size fail from \(sender): segments of \(grouped(hole.failed)) bytes were retransmitted \(plural(g.total, "time")) (\(grouped(hole.timeouts)) by timeout) and never acknowledged, while the largest segment that got through was \(grouped(hole.passed)) bytes; no ICMP \"fragmentation needed\" was seen.",
                explanation: "This is the MTU black hole pattern: a link on the path has a smaller MTU and the ICMP message that would tell the sender is lost or filtered.",
                likelyCause: "A tunnel, VPN or overlay (GRE, IPsec, VXLAN, PPPoE) lowering the path MTU, with ICMP type 3 code 4 (IPv6: packet too big) blocked by a firewall.",
                nextStep: "Find the path MTU (`ping -M do -s 1472 \(host(g.peers.first ?? "HOST"))`, lowering the size until it passes, or `tracepath`); allow ICMP fragmentation-needed / packet-too-big, or clamp the MSS on the tunnel (`iptables ... -j TCPMSS --clamp-mss-to-pmtu`)."))
        }
        for (server, g) in icmp {
            let mtu = icmpMTU[server] ?? 0
            out.append(Finding(
                kind: .icmpFragmentationNeeded, severity: .warning, endpoint: server, peers: g.peers, count: g.total,
                countUnit: "ICMP errors", flows: g.flows, frames: g.frames, facts: ["mtu": .int(Int(mtu))],
                summary: "ICMP said a link towards \(server)'s conversations has an MTU of \(grouped(Int(mtu))): \(plural(g.total, "error")) about \(plural(g.count, "conversation")).",
                explanation: "Packets larger than \(grouped(Int(mtu))) bytes with Don't Fragment set were dropped by a router, which said so; senders that listen lower their segment size.",
                likelyCause: "A link with a smaller MTU on the path (tunnel, VPN, overlay network).",
                nextStep: "Clamp the MSS to the path MTU on the router or tunnel, or lower the interface MTU; make sure these ICMP messages keep getting through."))
        }
        for (server, g) in mssMismatch {
            let pairs = (mssPairs[server] ?? []).sorted().joined(separator: ", ")
            out.append(Finding(
                kind: .mssMismatch, severity: .info, endpoint: server, peers: g.peers, count: g.count,
                countUnit: "conversations", flows: g.flows, frames: g.frames, facts: ["mss": .string(pairs)],
                summary: "SYN and SYN/ACK announced different MSS values towards \(server) (\(pairs)).",
                explanation: "Each side sends segments no larger than the MSS the other announced, so the smaller one rules each direction.",
                likelyCause: "Different interface MTUs, or a middlebox clamping the MSS on one side (VPN, tunnel, load balancer).",
                nextStep: "Nothing to do unless large transfers stall; then compare interface MTUs on both hosts (`ip link`)."))
        }
        for (sender, g) in aboveMSS {
            out.append(Finding(
                kind: .segmentsAboveMSS, severity: .info, endpoint: sender, peers: g.peers, count: g.total,
                countUnit: "segments", flows: g.flows, frames: g.frames,
                summary: "\(sender) sent \(plural(g.total, "segment")) larger than the MSS its peer announced.",
                explanation: "A receiver cannot be sent segments above its MSS over the wire; seeing them in a capture usually means the capture was taken on the sending host before the NIC split them.",
                likelyCause: "TCP segmentation / generic receive offload (TSO, GSO, GRO) on the capturing host; otherwise a broken stack or middlebox.",
                nextStep: "If captured on that host, turn offloads off for the capture (`ethtool -K IFACE tso off gso off gro off`) or capture on the wire."))
        }
        return out
    }
}
