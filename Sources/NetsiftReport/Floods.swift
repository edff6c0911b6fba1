import NetsiftDissect
import NetsiftFlows

/// What a flood against one target looked like, whatever carried it: how many, from how many
/// sources (and how spread over the address space), which sources sent most, and over what time.
/// Fixed memory per target, however many sources.
struct FloodSources: Sendable {
    var count = 0
    var first: Int64 = .max
    var last: Int64 = .min
    var sources = DistinctCounter()
    /// Distinct /16 networks (IPv4) or /48s (IPv6): spoofed sources cover the address space,
    /// a botnet or a few real clients much less of it.
    var networks = DistinctCounter()
    var top = TopAddresses()
    var flows: [FlowReference] = []
    var frames: [Int] = []

    /// One attempt, conversation or answer from `source`, which sent `weight` (attempts, datagrams).
    mutating func add(source: IPAddress, time: Int64, flow: FlowReference?, frame: Int, weight: Int = 1) {
        count += 1
        first = min(first, time)
        last = max(last, time)
        sources.add(source)
        networks.add(source.isIPv4 ? IPAddress(high: 0, low: source.low & ~0xFFFF)
                                   : IPAddress(high: source.high & ~0xFFFF, low: 0))
        top.add(source, weight: weight)
        if let flow, flows.count < Finding.listLimit { flows.append(flow) }
        if frames.count < Finding.listLimit { frames.append(frame) }
    }

    /// Seconds from the first to the last, at least one (a burst inside one second is a rate per second).
    var seconds: Double { max(1, Double(last &- first) / 1e9) }
    var perSecond: Double { Double(count) / seconds }

    /// "198.51.100.7 ×412, …", or what it means that no source stands out.
    var topText: String {
        let top = top.top(5)
        guard !top.isEmpty else { return "none: no source sent more than one" }
        return top.map { "\($0.address) ×\(grouped($0.count))" }.joined(separator: ", ")
    }

    var facts: [String: FactValue] {
        ["sources": .int(sources.estimate), "source_networks": .int(networks.estimate),
         "per_second": .double((perSecond * 10).rounded() / 10), "duration_seconds": .double((seconds * 1000).rounded() / 1000),
         "top_sources": .string(topText)]
    }
}

/// "42%" of a whole.
func share(_ part: Int, of whole: Int) -> String {
    whole == 0 ? "0%" : "\(Int((Double(part) * 100 / Double(whole)).rounded()))%"
}

/// SYN floods, per service: many connection attempts that never completed a handshake, from many
/// sources at a high rate. Told apart from a firewall dropping real clients (few sources, each
/// retrying its SYN at 1 s, 3 s, 7 s…: `syn_unanswered`) by the number of sources and the rate;
/// spoofed sources show as attempts of one SYN never retried.
struct SYNFloodDetector {
    let thresholds: DiagnosisThresholds
    struct Attempts: Sendable {
        var sources = FloodSources()
        var syns = 0
        var neverRetried = 0
        var synAck = 0
        var reset = 0
        /// Attempts nobody answered, and those of them whose client never sent its SYN again.
        var silent = 0
        var silentNeverRetried = 0
    }
    var services: [Endpoint: Attempts] = [:]

    mutating func add(_ c: TCPConversation) {
        guard let clientSide = c.client, !c.handshakeCompleted, c[clientSide].dataSegments == 0 else { return }
        let server = c[1 - clientSide].endpoint
        // One lookup for a known service (a flood's every attempt), changed in place.
        if let known = services.index(forKey: server) {
            services.values[known].add(c, client: c[clientSide], server: c[1 - clientSide])
        } else if services.count < Finding.endpointLimit {
            services[server] = Attempts()
            services[server]!.add(c, client: c[clientSide], server: c[1 - clientSide])
        }
    }

    /// The services under a flood, by their endpoint as findings write it.
    func findings() -> [Finding] {
        var out: [Finding] = []
        for (server, a) in services {
            let s = a.sources
            let sources = s.sources.estimate
            // Real clients whose SYNs a firewall drops send them again (1 s, 3 s, 7 s…), however many
            // they are: when most of the unanswered attempts were retried, that is what it is.
            guard s.count >= thresholds.synFloodAttempts, sources >= thresholds.synFloodSources,
                  s.perSecond >= thresholds.synFloodRate, a.silentNeverRetried * 2 >= a.silent else { continue }
            let silent = a.silent
            var facts = s.facts
            facts["syns"] = .int(a.syns)
            facts["never_retried"] = .int(a.neverRetried)
            facts["answered_synack"] = .int(a.synAck)
            facts["answered_rst"] = .int(a.reset)
            facts["unanswered"] = .int(silent)
            let spoofed = a.neverRetried * 10 >= s.count * 9
            out.append(Finding(
                kind: .synFlood, severity: .error, endpoint: "\(server)", peers: s.top.top(Finding.listLimit).map { "\($0.address)" },
                count: s.count, countUnit: "connection attempts", flows: s.flows, frames: s.frames, facts: facts,
                summary: "SYN flood against \(server): \(plural(s.count, "connection attempt")) that never completed, \(grouped(Int(s.perSecond.rounded()))) a second for \(fixed1(s.seconds)) s, from about \(plural(sources, "source address")) in \(plural(s.networks.estimate, "network")); \(share(a.neverRetried, of: s.count)) sent one SYN and never retried. Answered: \(grouped(a.synAck)) with a SYN/ACK (\(share(a.synAck, of: s.count))), \(grouped(a.reset)) with a reset (\(share(a.reset, of: s.count))), \(grouped(silent)) not at all (\(share(silent, of: s.count))).",
                explanation: spoofed
                    ? "Almost every source sent a single SYN and never retried, which real clients always do: the sources are spoofed, and the SYN/ACKs went to addresses that never asked."
                    : "Many sources opened connections they never completed, faster than real clients do; they retried, so they may be real hosts (a botnet) rather than spoofed addresses.",
                likelyCause: silent * 2 > s.count
                    ? "A SYN flood filling the server's SYN backlog: once it is full, the server (or a firewall in front of it) stops answering, and real clients are dropped with the attackers' SYNs."
                    : "A SYN flood: the server still answers, at the cost of a half-open connection for each attacking SYN.",
                nextStep: "Turn on SYN cookies (sysctl net.ipv4.tcp_syncookies=1) and raise net.ipv4.tcp_max_syn_backlog on \(host("\(server)")); rate-limit SYNs to tcp/\(server.port) at the edge; if the flood fills the link, ask the upstream provider for scrubbing. Top sources: \(s.topText)."))
        }
        return out
    }
}

extension SYNFloodDetector.Attempts {
    mutating func add(_ c: TCPConversation, client: TCPSide, server: TCPSide) {
        sources.add(source: client.endpoint.address, time: c.start, flow: c.reference, frame: c.firstFrame)
        syns += client.synCount
        if client.synCount <= 1 { neverRetried += 1 }
        if server.sentSYNACK {
            synAck += 1
        } else if server.sentRST {
            reset += 1
        } else {
            silent += 1
            if client.synCount <= 1 { silentNeverRetried += 1 }
        }
    }
}

/// UDP floods, per target host: many datagrams nobody answered, from many sources or at a high
/// rate. DNS is left to the reflection detector (answers a host never asked for are a flood of
/// their own kind).
struct UDPFloodDetector {
    let thresholds: DiagnosisThresholds
    struct Target: Sendable {
        var sources = FloodSources()
        var datagrams = 0
        var bytes = 0
        var ports: [UInt16: Int] = [:]
    }
    var targets: [IPAddress: Target] = [:]

    mutating func add(_ c: UDPConversation) {
        guard c.sides.1.packets == 0, c.application != .dns else { return }
        let target = c.sides.1.endpoint
        guard targets[target.address] != nil || targets.count < Finding.endpointLimit else { return }
        targets[target.address, default: Target()].add(c)
    }

    func findings() -> [Finding] {
        var out: [Finding] = []
        for (host, t) in targets {
            let s = t.sources
            let rate = Double(t.datagrams) / s.seconds
            guard t.datagrams >= thresholds.udpFloodDatagrams, rate >= thresholds.udpFloodRate else { continue }
            let ports = t.ports.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            let portText = ports.prefix(5).map { "\($0.key) ×\(grouped($0.value))" }.joined(separator: ", ")
            var facts = s.facts
            facts["datagrams"] = .int(t.datagrams)
            facts["bytes"] = .int(t.bytes)
            facts["per_second"] = .double((rate * 10).rounded() / 10)
            facts["ports"] = .string(portText)
            out.append(Finding(
                kind: .udpFlood, severity: .error, endpoint: "\(host)", peers: s.top.top(Finding.listLimit).map { "\($0.address)" },
                count: t.datagrams, countUnit: "datagrams", flows: s.flows, frames: s.frames, facts: facts,
                summary: "UDP flood against \(host): \(plural(t.datagrams, "datagram")) (\(plural(t.bytes, "byte"))) nobody answered, \(grouped(Int(rate.rounded()))) a second for \(fixed1(s.seconds)) s, from about \(plural(s.sources.estimate, "source address")) in \(plural(s.networks.estimate, "network")), to \(ports.count == 1 ? "port \(ports[0].key)" : "\(plural(ports.count, "port")) (\(portText))").",
                explanation: "Datagrams kept arriving from many places and the host sent nothing back: traffic meant to use up its link or its CPU, not to talk to it.",
                likelyCause: "A volumetric UDP flood (spoofed or from a botnet) against \(host).",
                nextStep: "Drop or rate-limit UDP to the ports listed at the edge (ACLs, firewall rules) and ask the upstream provider to scrub if the link is full. Top sources: \(s.topText)."))
        }
        return out
    }
}

extension UDPFloodDetector.Target {
    mutating func add(_ c: UDPConversation) {
        let sender = c.sides.0
        datagrams += sender.packets
        bytes += sender.bytes
        sources.add(source: sender.endpoint.address, time: c.start, flow: FlowReference(transport: "udp", stream: c.stream),
                    frame: c.firstFrame, weight: sender.packets)
        sources.last = max(sources.last, c.last)
        let port = c.sides.1.endpoint.port
        if ports[port] != nil || ports.count < 1_000 { ports[port, default: 0] += sender.packets }
    }
}

/// DNS reflection and amplification, per victim host: DNS answers it never asked for (responses
/// with no query in the capture), large ones, from many resolvers. Its address was spoofed into
/// small queries (ANY, TXT) to open resolvers, whose answers, many times larger, converge on it.
struct DNSReflectionDetector {
    let thresholds: DiagnosisThresholds
    struct Victim: Sendable {
        var sources = FloodSources()
        var bytes = 0
        /// The queries the answers imply: header, question and an EDNS OPT record, as an
        /// amplification query carries to get the largest answers.
        var queryBytes = 0
        var types: [String: Int] = [:]
        var names: [String: Int] = [:]
    }
    var victims: [IPAddress: Victim] = [:]

    mutating func add(_ t: DNSTransaction, responseBytes: Int) {
        guard t.outcome == .responseOnly, t.transport == .udp, let frame = t.responseFrame else { return }
        let victim = t.client.address
        guard victims[victim] != nil || victims.count < Finding.endpointLimit else { return }
        victims[victim, default: Victim()].add(t, frame: frame, responseBytes: responseBytes)
    }

    func findings() -> [Finding] {
        var out: [Finding] = []
        for (host, v) in victims {
            let s = v.sources
            guard s.count >= thresholds.dnsReflectionResponses, s.sources.estimate >= thresholds.dnsReflectionResolvers
            else { continue }
            let ratio = Double(v.bytes) / Double(max(1, v.queryBytes))
            let types = v.types.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .prefix(5).map { "\($0.key) ×\(grouped($0.value))" }.joined(separator: ", ")
            let names = v.names.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .prefix(5).map { "\($0.key) ×\(grouped($0.value))" }.joined(separator: ", ")
            var facts = s.facts
            facts["resolvers"] = facts["sources"]
            facts["sources"] = nil
            facts["bytes"] = .int(v.bytes)
            facts["average_answer_bytes"] = .int(v.bytes / max(1, s.count))
            facts["amplification"] = .double((ratio * 10).rounded() / 10)
            facts["query_types"] = .string(types)
            facts["names"] = .string(names)
            out.append(Finding(
                kind: .dnsReflection, severity: .error, endpoint: "\(host)", peers: s.top.top(Finding.listLimit).map { "\($0.address)" },
                count: s.count, countUnit: "responses", flows: s.flows, frames: s.frames, facts: facts,
                summary: "DNS reflection against \(host): \(plural(s.count, "DNS answer")) it never asked for (\(plural(v.bytes, "byte")), \(grouped(v.bytes / max(1, s.count))) bytes on average), \(grouped(Int(s.perSecond.rounded()))) a second from about \(plural(s.sources.estimate, "resolver")); \(types); each answer about \(fixed1(ratio)) times the size of the query that asked for it.",
                explanation: "Someone sent small DNS queries with \(host)'s address as their source to many resolvers, which answered \(host) with much larger responses: an amplified flood.",
                likelyCause: "A DNS reflection/amplification attack against \(host), through open resolvers (names asked: \(names)).",
                nextStep: "Drop DNS answers (UDP from port 53) that \(host) did not ask for at the edge, or ask the upstream provider to scrub them; report the resolvers as open (top: \(s.topText))."))
        }
        return out
    }
}

extension DNSReflectionDetector.Victim {
    mutating func add(_ t: DNSTransaction, frame: Int, responseBytes: Int) {
        // The transaction carries no conversation number: its frames show it.
        sources.add(source: t.server.address, time: t.responseTime ?? 0, flow: nil, frame: frame)
        bytes += responseBytes
        let nameLength = t.question.map { $0.name.text.utf8.count + 2 } ?? 1
        queryBytes += 12 + nameLength + 4 + 11
        if let question = t.question {
            let type = DNSType.name(question.type)
            if types[type] != nil || types.count < 50 { types[type, default: 0] += 1 }
            let name = question.name.text
            if names[name] != nil || names.count < 50 { names[name, default: 0] += 1 }
        }
    }
}
