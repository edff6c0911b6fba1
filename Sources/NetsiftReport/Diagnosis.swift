import NetsiftDissect
import NetsiftFlows

/// The thresholds findings are decided by (each has a flag on `netsift analyze`).
public struct DiagnosisThresholds: Decodable, Sendable, Equatable {
    /// A conversation side retransmitting at least this share of its data segments…
    public var retransmissionRate = 0.01
    /// …and at least this many segments is reported.
    public var minimumRetransmissions = 3
    /// A side that keeps a half-closed connection (the peer's FIN acknowledged, no FIN of its own)
    /// this long, in seconds, is in CLOSE_WAIT; one still half-closed when the capture ends is too.
    public var closeWaitSeconds = 5.0
    /// This many connections one client host closes first make TIME_WAIT pressure.
    public var timeWaitConnections = 100
    /// Retransmissions of segments larger than anything acknowledged that make an MTU black hole.
    public var blackHoleRetransmissions = 3
    /// A DNS answer slower than this, in milliseconds, is slow.
    public var dnsSlowMilliseconds = 500.0
    /// HTTP/1.x and HTTP/2 responses whose time to first byte has a p95 or p99 above this, in
    /// milliseconds, make a server slow.
    public var httpSlowMilliseconds = 1_000.0
    /// A SYN flood: at least this many connection attempts to one service that never completed…
    public var synFloodAttempts = 1_000
    /// …from at least this many source addresses (estimated)…
    public var synFloodSources = 100
    /// …at least this many a second on average; and unless most unanswered attempts were never
    /// retried. A firewall dropping real clients leaves attempts that each retry (1 s, 3 s, 7 s…),
    /// usually from few sources and slowly: that stays `syn_unanswered`.
    public var synFloodRate = 100.0
    /// A port scan: one source's failed attempts reach at least this many ports of one host
    /// (Zeek's `Scan::port_scan_threshold`)…
    public var scanPorts = 15
    /// …a host sweep: at least this many hosts on one port (Zeek's `Scan::addr_scan_threshold`).
    public var scanHosts = 25
    /// A UDP flood: at least this many datagrams to one host that never answered…
    public var udpFloodDatagrams = 1_000
    /// …at least this many a second on average.
    public var udpFloodRate = 1_000.0
    /// DNS reflection: at least this many DNS answers to one host it never asked for…
    public var dnsReflectionResponses = 100
    /// …from at least this many resolvers.
    public var dnsReflectionResolvers = 10
    /// Request/response conversations (other than HTTP/1.x) whose server's response times have a
    /// p95 above this, in milliseconds, make a service slow.
    public var responseSlowMilliseconds = 1_000.0

    public init() {}
}

/// Turns what the pipeline saw — finished conversations, application messages, malformed packets,
/// the reader's end — into findings, ordered bottom-up by layer and worst first within a layer.
/// It keeps aggregates and candidates, never every packet, so it runs in the flows' memory.
public struct Diagnosis {
    public let thresholds: DiagnosisThresholds
    var handshakes = HandshakeDetector()
    var synFloods: SYNFloodDetector
    var scans: ScanDetector
    var udpFloods: UDPFloodDetector
    var reflection: DNSReflectionDetector
    var retransmissions: RetransmissionDetector
    var stalls = StallDetector()
    var captureLoss = CaptureLossDetector()
    var pathMTU: PathMTUDetector
    var closing: CloseDetector
    var windows = WindowDetector()
    var throughput: ThroughputDetector
    var http2 = HTTP2Detector()
    var dns: DNSDetector
    var tls = TLSDetector()
    var certificates = CertificateDetector()
    var http1 = HTTP1Detector()
    var responseTimes: ResponseTimeDetector
    var limits = LimitDetector()
    var malformed = 0
    var malformedFrames: [Int] = []
    var malformedLayers: [Layer: Int] = [:]

    public init(thresholds: DiagnosisThresholds = DiagnosisThresholds()) {
        self.thresholds = thresholds
        retransmissions = RetransmissionDetector(thresholds: thresholds)
        synFloods = SYNFloodDetector(thresholds: thresholds)
        scans = ScanDetector(thresholds: thresholds)
        udpFloods = UDPFloodDetector(thresholds: thresholds)
        reflection = DNSReflectionDetector(thresholds: thresholds)
        pathMTU = PathMTUDetector(thresholds: thresholds)
        closing = CloseDetector(thresholds: thresholds)
        dns = DNSDetector(thresholds: thresholds)
        responseTimes = ResponseTimeDetector(slowMilliseconds: thresholds.httpSlowMilliseconds)
        throughput = ThroughputDetector(thresholds: thresholds)
    }

    /// One packet's dissection: malformed packets are counted (a cut by the snaplen is not malformed).
    @inlinable
    public mutating func add(frame: Int, _ summary: PacketSummary) {
        // Inlined into the caller's loop: most packets are neither malformed nor an ICMP error.
        if summary.isUnusual { addUnusual(frame: frame, summary) }
    }

    @usableFromInline
    mutating func addUnusual(frame: Int, _ summary: PacketSummary) {
        // ICMP destination unreachable (IPv4 type 3, IPv6 type 1) quoting a UDP datagram: the
        // datagram's destination said no, which explains DNS queries that got no answer.
        if let quoted = summary.embedded, quoted.ipProtocol == 17,
           (summary.layers.contains(.icmp) && summary.icmpType == 3) || (summary.layers.contains(.icmpv6) && summary.icmpType == 1) {
            dns.unreachable(Endpoint(address: quoted.destination, port: quoted.destinationPort),
                            code: summary.icmpCode, frame: frame)
        }
        // ICMP fragmentation-needed (IPv6: packet too big) on the underlay quoting a datagram that
        // can carry a tunnel: evidence for the overlay MTU of the tunnel between those hosts.
        if let quoted = summary.embedded, summary.encapsulation == nil, [17, 47, 4, 41].contains(quoted.ipProtocol),
           (summary.layers.contains(.icmp) && summary.icmpType == 3 && summary.icmpCode == 4)
            || (summary.layers.contains(.icmpv6) && summary.icmpType == 2) {
            pathMTU.underlayICMP(source: quoted.source, destination: quoted.destination, mtu: summary.icmpMTU, frame: frame)
        }
        guard let problem = summary.problem, !problem.isCut else { return }
        malformed += 1
        if malformedFrames.count < Finding.listLimit { malformedFrames.append(frame) }
        malformedLayers[problem.layer, default: 0] += 1   // no String per malformed packet
    }

    /// One conversation that is over.
    public mutating func add(_ flow: FinishedFlow) {
        let conversation: TCPConversation
        switch flow {
        case .tcp(let c): conversation = c
        case .udp(let c):
            udpFloods.add(c)
            return
        }
        handshakes.add(conversation)
        synFloods.add(conversation)
        scans.add(conversation)
        retransmissions.add(conversation)
        stalls.add(conversation)
        captureLoss.add(conversation)
        pathMTU.add(conversation)
        closing.add(conversation)
        windows.add(conversation)
        throughput.add(conversation)
        tls.finished(conversation)
        certificates.finished(conversation)
    }

    /// One application message.
    public mutating func add(_ event: ApplicationEvent) {
        limits.add(event.message)
        switch event.message {
        case .http2(let message):
            http2.add(message, context: event.context)
            responseTimes.add(message, context: event.context)
        case .http1(let message):
            http1.add(message, context: event.context)
            responseTimes.add(message, context: event.context)
        case .dns(let message):
            dns.add(message, context: event.context) { reflection.add($0, responseBytes: message.length) }
        case .tls(let message):
            tls.add(message, context: event.context)
            certificates.add(message, context: event.context)
        default: break
        }
    }

    /// The findings, once the capture has been read: `start`/`end` are its first and last packet
    /// times (ns), `counters` the flow tracker's, `fragments` the IP fragment reassembler's (with
    /// the limits it ran under), `damage` what stopped the reader early, if anything. `ongoing`: the
    /// capture goes on after `end` (live summaries), so DNS queries still within their timeout are
    /// not unanswered. `interfaceDrops`: the packets a pcapng file's interface statistics say the
    /// recorder dropped (nil when it has none). `extra`: findings made elsewhere (the kernel's drops
    /// in `live`), ordered with these.
    public func findings(start: Int64?, end: Int64?, counters: FlowCounters,
                         fragments: FragmentStatistics = FragmentStatistics(),
                         fragmentLimits: FragmentLimits = FragmentLimits(), damage: String? = nil,
                         ongoing: Bool = false, interfaceDrops: Int? = nil, extra: [Finding] = []) -> [Finding] {
        var all: [Finding] = []
        if let damage {
            all.append(Finding(kind: .captureDamaged, severity: .warning, count: 1, countUnit: "damage",
                               facts: ["reason": .string(damage)],
                               summary: "The capture is damaged or cut short: \(damage).",
                               explanation: "Everything before the damage was analysed; what came after it was not.",
                               likelyCause: "The capture was copied while still being written, or stopped abruptly (disk full, killed tcpdump).",
                               nextStep: "Capture again and stop the recorder cleanly (Ctrl-C / SIGINT), or check the disk."))
        }
        if malformed > 0 {
            let layers = malformedLayers.sorted { ($0.value, $1.key.rawValue) > ($1.value, $0.key.rawValue) }
            all.append(Finding(kind: .malformedPackets, severity: .info, count: malformed, countUnit: "packets",
                               frames: malformedFrames,
                               facts: Dictionary(uniqueKeysWithValues: layers.map { ("layer \($0.key)", .int($0.value)) }),
                               summary: "\(plural(malformed, "packet")) \(verb(malformed, "is")) malformed (mostly \(layers[0].key)).",
                               explanation: "Their headers say they hold more, or other, than they do.",
                               likelyCause: "Broken or hostile senders, or corruption on the capture path.",
                               nextStep: "Look at the first frames listed with `netsift packets --frames N --json`."))
        }
        if counters.evicted > 0 {
            all.append(Finding(kind: .flowLimit, severity: .warning, count: counters.evicted, countUnit: "conversations",
                               facts: ["peak_active": .int(counters.peakActive)],
                               summary: "\(plural(counters.evicted, "conversation")) \(verb(counters.evicted, "was")) ended early because too many were active at once.",
                               explanation: "Their statistics are split or incomplete.",
                               likelyCause: "A capture with very many concurrent flows (a scan or SYN flood, or a busy link).",
                               nextStep: "Raise --max-flows, or filter the capture (-f) to the traffic of interest."))
        }
        if counters.reassemblyOverflows > 0 {
            all.append(Finding(kind: .reassemblyLimit, severity: .info, count: counters.reassemblyOverflows,
                               countUnit: "conversations",
                               summary: "\(plural(counters.reassemblyOverflows, "conversation")) held more out-of-order data than the reassembly limit.",
                               explanation: "Some application messages in them were skipped.",
                               likelyCause: "Long holes in the capture (drops by the capturing host) or very large windows.",
                               nextStep: "Raise --reassembly-direction-mib / --reassembly-total-mib, or check the capture's drop counts with `netsift info`."))
        }
        all += limits.findings(fragments: fragments, fragmentLimits: fragmentLimits,
                               dnsQueriesEvicted: dns.transactions.evicted)
        // Floods and scans explain the failed handshakes they are made of: those findings are left
        // out for the services flooded, and for those only scanners touched.
        let floods = synFloods.findings()
        let flooded = Set(floods.compactMap(\.endpoint))
        let scanFindings = scans.findings()
        let scanners = Set(scanFindings.compactMap(\.endpoint))
        all += floods + scanFindings + udpFloods.findings()
        all += handshakes.findings().filter { finding in
            !flooded.contains(finding.endpoint ?? "")
                && !(!finding.peers.isEmpty && finding.peers.count < Finding.listLimit && finding.peers.allSatisfy(scanners.contains))
        }
        if let loss = captureLoss.finding(interfaceDrops: interfaceDrops) { all.append(loss) }
        // Loss the capture itself shows casts doubt on the loss it seems to show in the network.
        let lossyCapture = captureLoss.significant(interfaceDrops: interfaceDrops)
        all += retransmissions.findings().map { lossyCapture ? $0.doubtedByCaptureLoss() : $0 }
        all += stalls.findings(captureEnd: end)
        all += pathMTU.findings()
        all += closing.findings(captureEnd: end)
        all += windows.findings()
        all += throughput.findings()
        all += dns.findings(asOf: ongoing ? end : nil)
        all += reflection.findings()
        all += tls.findings()
        all += certificates.findings()
        all += http2.findings()
        all += http1.findings()
        all += responseTimes.findings()
        all += extra
        return all.sorted { a, b in a.layer != b.layer ? a.layer < b.layer : Finding.worstFirst(a, b) }
    }

    /// The most likely problem: the finding that most harms the users — by severity, then by its
    /// kind's harm (`FindingKind.harm`: work stopped before work slowed) grown with the number of
    /// conversations it touches (a zero window in 40 conversations outweighs three retransmissions
    /// in one), then the lowest layer (a cause below explains symptoms above), then how often.
    public static func verdict(_ findings: [Finding]) -> Finding? {
        findings.filter { $0.severity > .info }.min { a, b in
            if a.severity != b.severity { return a.severity > b.severity }
            if a.userHarm != b.userHarm { return a.userHarm > b.userHarm }
            if a.layer != b.layer { return a.layer < b.layer }
            return a.count > b.count
        }
    }
}

extension Finding {
    /// The finding, saying that the capture's own holes may explain part of it.
    func doubtedByCaptureLoss() -> Finding {
        var finding = self
        finding.explanation += " The capture itself misses packets (see capture_loss): some of this loss may be the recorder's, not the network's."
        finding.likelyCause = "The capture itself misses packets (capture_loss): part of this may be the recorder's loss, not the network's. Otherwise: " + finding.likelyCause
        finding.facts["capture_loss"] = .string("significant")
        return finding
    }
}

extension DissectError {
    var isCut: Bool {
        if case .cut = kind { return true }
        return false
    }
}

/// Conversations grouped by the endpoint a finding is about, with the flows and peers involved.
struct EndpointGroup {
    var count = 0
    /// The worst conversations so far (largest `value`), at most `Finding.listLimit`.
    var ranked: [(flow: FlowReference, value: Int)] = []
    var frames: [Int] = []
    var peers: [String] = []
    /// A number summed over the group, and its largest single value.
    var total = 0
    var largest = 0

    mutating func add(_ conversation: TCPConversation, peer: Endpoint, frames more: [Int] = [], value: Int = 0) {
        add(conversation.reference, peer: peer, frames: more, value: value)
    }

    /// One conversation with one frame that shows it (no array made for it: a flood adds millions).
    mutating func add(_ flow: FlowReference, peer: Endpoint, frame: Int, value: Int = 0) {
        if frames.count < Finding.listLimit { frames.append(frame) }
        add(flow, peer: peer, value: value)
    }

    mutating func add(_ flow: FlowReference, peer: Endpoint, frames more: [Int] = [], value: Int = 0) {
        count += 1
        if ranked.count < Finding.listLimit {
            ranked.append((flow, value))
        } else if let least = ranked.indices.min(by: { ranked[$0].value < ranked[$1].value }),
                  ranked[least].value < value {
            ranked[least] = (flow, value)
        }
        for frame in more where frames.count < Finding.listLimit { frames.append(frame) }
        peers.addPeer(peer)
        total += value
        largest = max(largest, value)
    }

    /// The conversations kept, worst first (the earlier first among equals).
    var flows: [FlowReference] {
        ranked.sorted { $0.value != $1.value ? $0.value > $1.value : $0.flow.stream < $1.flow.stream }.map(\.flow)
    }
}

extension [String] {
    /// A peer's address added to a finding's list, unless the list is full or has it; formatted
    /// only when the list has room.
    mutating func addPeer(_ peer: Endpoint) {
        guard count < Finding.listLimit else { return }
        let address = "\(peer.address)"
        if !contains(address) { append(address) }
    }
}
