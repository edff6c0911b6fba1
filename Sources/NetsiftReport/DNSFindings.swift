import NetsiftDissect
import NetsiftFlows

/// DNS failures, per server: NXDOMAIN, SERVFAIL, REFUSED answers, queries nobody answered, slow
/// answers, and truncated answers no TCP retry followed — each with its rate among the server's
/// queries and the names concerned. Queries are paired with their responses by `DNSTransactions`.
struct DNSDetector {
    let thresholds: DiagnosisThresholds
    var transactions = DNSTransactions()
    struct Group {
        var count = 0
        var frames: [Int] = []
        var names: [String: Int] = [:]
        var slowest: Int64 = 0

        mutating func add(_ t: DNSTransaction) {
            count += 1
            if let frame = t.responseFrame ?? t.queryFrame, frames.count < Finding.listLimit { frames.append(frame) }
            let name = t.question.map { "\($0.name.text) \(DNSType.name($0.type))" } ?? "?"
            if names.count < 50 || names[name] != nil { names[name, default: 0] += 1 }
            slowest = max(slowest, t.latency ?? 0)
        }

        var nameText: String {
            names.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(5)
                .map { $0.value > 1 ? "\($0.key) ×\(grouped($0.value))" : $0.key }.joined(separator: ", ")
        }
    }
    /// Queries per server (for rates), and the troubled ones by kind.
    var queries: [String: Int] = [:]
    var groups: [FindingKind: [String: Group]] = [:]
    /// Servers an ICMP destination-unreachable spoke for (bounded), with the code and a frame.
    var unreachable: [String: (code: UInt8, frame: Int)] = [:]
    /// Search-list expansions and parallel-query timeouts: the NXDOMAIN answers and lost queries
    /// they explain are not judged again here.
    var resolvers = DNSResolverDetector()
    /// Every transaction's outcome, per server (`Outcomes`).
    var servers: [String: Outcomes.DNSServer] = [:]
    /// Response times (s) of the answers since the caller last took them, when it asked for them
    /// (`Diagnosis.journalDNSResponseTimes`); at most `journalLimit` wait.
    var journal: [Double]?
    static let journalLimit = 1 << 16

    init(thresholds: DiagnosisThresholds) { self.thresholds = thresholds }

    mutating func unreachable(_ server: Endpoint, code: UInt8, frame: Int) {
        let key = "\(server)"
        if unreachable[key] == nil && unreachable.count < 10_000 { unreachable[key] = (code, frame) }
    }

    /// One message; `unsolicited` sees each response that answers no query in the capture.
    mutating func add(_ message: DNSMessage, context: ApplicationContext, unsolicited: (DNSTransaction) -> Void = { _ in }) {
        // Who asks is the query's sender and the response's receiver, whatever the ports.
        let client = message.header.isResponse ? context.destination : context.source
        let server = message.header.isResponse ? context.source : context.destination
        var done: [DNSTransaction] = []
        transactions.add(message, frame: context.frame, time: context.time, client: client, server: server,
                         transport: context.transport) { done.append($0) }
        for t in done {
            if t.outcome == .responseOnly && t.responseFrame == context.frame { unsolicited(t) }
            record(t)
        }
    }

    mutating func record(_ t: DNSTransaction) {
        let server = queries.bounded("\(t.server)")
        queries[server, default: 0] += t.outcome == .responseOnly ? 0 : 1
        servers[server, default: Outcomes.DNSServer(server: server)].add(t)
        if journal != nil, journal!.count < Self.journalLimit, let latency = t.latency { journal!.append(Double(latency) / 1e9) }
        var released: [DNSTransaction] = []
        resolvers.add(t) { released.append($0) }
        for t in released { judge(t) }
    }

    /// An exchange no resolver pattern explains, judged on its own.
    mutating func judge(_ t: DNSTransaction) {
        let server = queries.bounded("\(t.server)")
        func note(_ kind: FindingKind) { groups[kind, default: [:]][server, default: Group()].add(t) }
        switch t.outcome {
        case .unanswered, .evicted:
            note(.dnsUnanswered)
        case .answered, .responseOnly:
            switch t.responseCode {
            case DNSResponseCode.nameError: note(.dnsNXDomain)
            case DNSResponseCode.serverFailure: note(.dnsServFail)
            case DNSResponseCode.refused: note(.dnsRefused)
            default: break
            }
            if let latency = t.latency, Double(latency) / 1e6 > thresholds.dnsSlowMilliseconds { note(.dnsSlow) }
            if t.truncated && t.transport == .udp && t.retriedOverTCP == false { note(.dnsTruncatedNoRetry) }
        }
    }

    /// Records the queries still waiting: those older than the timeout at `now` while the capture
    /// goes on, every one (as unanswered) once it has ended (`now` nil).
    mutating func settle(asOf now: Int64?) {
        var rest: [DNSTransaction] = []
        if let now {
            transactions.expire(now: now) { rest.append($0) }
        } else {
            transactions.finish { rest.append($0) }
        }
        for t in rest { record(t) }
    }

    /// `asOf`: while the capture goes on, queries younger than the timeout then are not yet unanswered.
    func findings(asOf now: Int64? = nil) -> [Finding] {
        var detector = self
        detector.settle(asOf: now)
        var held: [DNSTransaction] = []
        detector.resolvers.flush { held.append($0) }
        for t in held { detector.judge(t) }
        var out: [Finding] = detector.resolvers.findings()
        for (kind, byServer) in detector.groups {
            for (server, g) in byServer {
                let total = max(g.count, detector.queries[server] ?? 0)
                let rate = Double(g.count) / Double(max(1, total))
                var finding = Self.finding(kind, server: server, group: g, rate: rate, total: total,
                                           slowMs: thresholds.dnsSlowMilliseconds,
                                           icmp: kind == .dnsUnanswered ? detector.unreachable[server]?.code : nil)
                if kind == .dnsUnanswered, let icmp = detector.unreachable[server] {
                    finding.frames = Array((finding.frames + [icmp.frame]).sorted().prefix(Finding.listLimit))
                }
                out.append(finding)
            }
        }
        return out
    }

    /// `icmp`: the code of an ICMP destination unreachable about the server, for unanswered queries.
    static func finding(_ kind: FindingKind, server: String, group g: Group, rate: Double, total: Int,
                        slowMs: Double, icmp: UInt8? = nil) -> Finding {
        let names = g.nameText
        let facts: [String: FactValue] = ["queries": .int(total), "rate_percent": .double((rate * 1000).rounded() / 10),
                                          "names": .string(names)]
        let share = "\(plural(g.count, "query")) of \(grouped(total)) (\(fixed1(rate * 100))%)"
        switch kind {
        case .dnsNXDomain:
            return Finding(kind: kind, severity: rate >= 0.5 ? .warning : .info, endpoint: server, count: g.count,
                           countUnit: "queries", frames: g.frames, facts: facts,
                           summary: "\(server) answered NXDOMAIN (no such name) to \(share): \(names).",
                           explanation: "The names do not exist in DNS as asked.",
                           likelyCause: "A typo or stale name in configuration, a missing record, or search-domain expansion trying suffixes first (often harmless).",
                           nextStep: "`dig @\(host(server)) NAME` for the names listed; check the zone and the clients' search domains (/etc/resolv.conf, ndots).")
        case .dnsServFail:
            return Finding(kind: kind, severity: .error, endpoint: server, count: g.count, countUnit: "queries",
                           frames: g.frames, facts: facts,
                           summary: "\(server) answered SERVFAIL to \(share): \(names).",
                           explanation: "The resolver could not get an answer: it failed, not the name.",
                           likelyCause: "The resolver's upstream or the zone's authoritative servers are unreachable or broken, or DNSSEC validation failed.",
                           nextStep: "`dig @\(host(server)) NAME +trace` and `+cd` (checking disabled: if that works, it is DNSSEC); check the resolver's logs and its upstreams.")
        case .dnsRefused:
            return Finding(kind: kind, severity: .error, endpoint: server, count: g.count, countUnit: "queries",
                           frames: g.frames, facts: facts,
                           summary: "\(server) REFUSED \(share): \(names).",
                           explanation: "The server will not answer these clients or these names.",
                           likelyCause: "An ACL on the resolver (allow-query / allow-recursion), a client using an authoritative server as a resolver, or the wrong server in resolv.conf.",
                           nextStep: "Check which resolver the clients are configured with, and the server's allow-query / allow-recursion settings.")
        case .dnsUnanswered:
            if let icmp {
                var icmpFacts = facts
                icmpFacts["icmp_unreachable_code"] = .int(Int(icmp))
                return Finding(kind: kind, severity: .error, endpoint: server, count: g.count, countUnit: "queries",
                               frames: g.frames, facts: icmpFacts,
                               summary: "\(share) to \(server) got ICMP unreachable instead of an answer: \(names).",
                               explanation: "ICMP destination unreachable came back (code \(icmp)\(icmp == 3 ? ", port unreachable" : "")): nothing took the queries.",
                               likelyCause: icmp == 3 ? "No DNS server listens on \(server) (stopped, crashed, or the clients are configured with the wrong address)."
                                   : "The host or network is unreachable from here, or a firewall rejects the queries.",
                               nextStep: "Check that a DNS server runs on \(host(server)) (`ss -lunp 'sport = :53'`) and which resolver the clients use.")
            }
            return Finding(kind: kind, severity: .error, endpoint: server, count: g.count, countUnit: "queries",
                           frames: g.frames, facts: facts,
                           summary: "\(share) to \(server) got no answer: \(names).",
                           explanation: "Queries went out and no response came back within the timeout (or before the capture ended).",
                           likelyCause: "The DNS server is down or overloaded, or a firewall drops DNS (UDP/TCP 53) one way.",
                           nextStep: "`dig @\(host(server)) NAME` from the client; check firewall rules for udp/53 and tcp/53 both ways, and the server's load.")
        case .dnsSlow:
            var slowFacts = facts
            slowFacts["slowest_ms"] = .double(Double(g.slowest / 1000) / 1000)
            return Finding(kind: kind, severity: .warning, endpoint: server, count: g.count, countUnit: "queries",
                           frames: g.frames, facts: slowFacts,
                           summary: "\(server) was slow (over \(grouped(Int(slowMs))) ms) for \(share), the slowest \(fixed1(Double(g.slowest) / 1e6)) ms: \(names).",
                           explanation: "Every connection that needs these names waits this long before it starts.",
                           likelyCause: "Cache misses going to slow or distant upstreams, an overloaded resolver, or retries after packet loss.",
                           nextStep: "Compare `dig @\(host(server)) NAME` timings with another resolver; check the resolver's cache hit rate and upstream latency.")
        default:
            return Finding(kind: .dnsTruncatedNoRetry, severity: .warning, endpoint: server, count: g.count,
                           countUnit: "queries", frames: g.frames, facts: facts,
                           summary: "\(share) to \(server) got a truncated UDP answer (TC) and no retry over TCP followed: \(names).",
                           explanation: "A truncated answer is incomplete; the client must ask again over TCP to get all of it.",
                           likelyCause: "TCP/53 blocked by a firewall, or a client that ignores the TC bit (some embedded resolvers).",
                           nextStep: "Allow tcp/53 to \(host(server)); test with `dig +tcp @\(host(server)) NAME`; consider EDNS buffer sizes.")
        }
    }
}
