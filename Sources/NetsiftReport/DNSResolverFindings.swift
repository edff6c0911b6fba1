import NetsiftDissect
import NetsiftFlows

/// What a client's stub resolver does wrong, seen across its DNS exchanges rather than in one:
///
/// - **Search-path amplification** (`ndots`): a name with fewer dots than `ndots` is first tried
///   with every search domain appended (`api.example.org.default.svc.cluster.local`, …), each try
///   answered NXDOMAIN, before the name that resolves is asked. Recognised from the exchanges
///   alone: NXDOMAIN answers for `BASE.SUFFIX` followed, from the same client, by a query for
///   `BASE` itself or for `BASE.SUFFIX2` where `SUFFIX2` is a shorter tail of `SUFFIX` (how
///   Kubernetes' `default.svc.cluster.local svc.cluster.local cluster.local` nest), answered with
///   something other than NXDOMAIN (or not answered: the expansions were spent all the same).
/// - **The 5-second timeout**: A and AAAA asked together from one socket (glibc's default), one
///   answered at once, the other never, and the client asking again seconds later — the conntrack
///   insertion race behind Kubernetes' 5 s lookups, or any path dropping one of two parallel
///   datagrams.
///
/// The detector holds back the exchanges that may turn out to be part of a pattern (an NXDOMAIN
/// that may be an expansion, a lost query whose retry may come) for `window` of capture time;
/// those that are hand them to the pattern, the others go to `release` to be judged as plain
/// NXDOMAIN or unanswered queries. Memory: `historyLimit` exchanges per client, clients bounded.
struct DNSResolverDetector {
    /// How far back (capture time) an exchange can belong to a pattern with a later one: the
    /// expansions before the name that resolves, the lost query before its retry.
    static let window: Int64 = 15_000_000_000
    /// Queries sent this close together from one socket were sent in parallel.
    static let parallel: Int64 = 100_000_000
    /// The shortest wait that makes a retry a timeout's (glibc's `timeout` is at least 1 s).
    static let shortestTimeout: Int64 = 900_000_000
    static let historyLimit = 64

    struct Entry {
        var transaction: DNSTransaction
        var name: String
        /// Held back: an NXDOMAIN that may be an expansion, or a lost query whose retry may come.
        var held: Bool
    }
    var history: [String: [Entry]] = [:]

    /// One client's lookups of one final name that went through the search list first.
    struct Search {
        var finalName = ""
        var lookups = 0
        var expansionQueries = 0
        var suffixes: [String] = []
        var lostNanoseconds: Int64 = 0
        var longestNanoseconds: Int64 = 0
        var frames: [Int] = []
        var servers: [String] = []
        /// When the last final query was asked: its A and AAAA twins, asked together, lose the
        /// same time once.
        var lastFinalTime: Int64 = .min
    }
    /// Per client host, per final name.
    var searches: [String: [String: Search]] = [:]
    static let namesPerClient = 50

    /// Lookups that waited for a lost query's retry, per server.
    struct Timeout {
        var count = 0
        var clients: [String] = []
        var names: [String: Int] = [:]
        var lostTypes: [String: Int] = [:]
        var waits: [Int64] = []
        var frames: [Int] = []
    }
    var timeouts: [String: Timeout] = [:]

    /// One finished exchange; `release` gets those no pattern explains (now or, for held ones, later).
    mutating func add(_ t: DNSTransaction, release: (DNSTransaction) -> Void) {
        guard let time = t.queryTime, let question = t.question, question.name.fault == nil else { return release(t) }
        let client = history.bounded("\(t.client.address)")
        let name = Self.normalized(question.name.text)
        var entries = history[client] ?? []
        history[client] = nil   // changed in place below, then put back: no copy of the list
        // Too old to be part of a pattern with this one: judged on their own.
        entries.removeAll { entry in
            guard (entry.transaction.queryTime ?? time) < time &- Self.window else { return false }
            if entry.held { release(entry.transaction) }
            return true
        }
        // The name after the expansions: answered with anything but NXDOMAIN, or not answered at all.
        if t.outcome != .responseOnly, t.responseCode != DNSResponseCode.nameError {
            matchExpansions(of: t, name: name, client: client, entries: &entries)
        }
        matchRetry(t, name: name, time: time, entries: &entries)
        // The retry reused the lost query's ID within DNSTransactions' timeout: one exchange, its
        // copies sent seconds apart, answered only after the client's timeout.
        if t.outcome == .answered, t.queryCount > 1, let latency = t.latency, latency >= Self.shortestTimeout,
           let type = t.question?.type, type == DNSType.a || type == DNSType.aaaa,
           sibling(of: t, name: name, time: time, entries: entries)?.transaction.latency ?? .max < Self.shortestTimeout {
            addTimeout(lost: t, name: name, type: type, wait: latency, retryFrame: nil)
        }
        let held = isPossibleExpansion(t) || isLostParallelQuery(t, name: name, time: time, entries: entries)
        if !held { release(t) }
        entries.append(Entry(transaction: t, name: name, held: held))
        if entries.count > Self.historyLimit {
            let oldest = entries.removeFirst()
            if oldest.held { release(oldest.transaction) }
        }
        history[client] = entries
    }

    /// The end of the capture (or of what has been read of it): what is still held is released.
    mutating func flush(release: (DNSTransaction) -> Void) {
        for entries in history.values { for entry in entries where entry.held { release(entry.transaction) } }
        history = [:]
    }

    static func normalized(_ name: String) -> String {
        let lower = name.lowercased()
        return lower.hasSuffix(".") && lower.count > 1 ? String(lower.dropLast()) : lower
    }

    func isPossibleExpansion(_ t: DNSTransaction) -> Bool {
        t.outcome == .answered && t.responseCode == DNSResponseCode.nameError
    }

    /// A query nobody answered whose A/AAAA sibling, sent with it from the same socket to the same
    /// server, was answered.
    func isLostParallelQuery(_ t: DNSTransaction, name: String, time: Int64, entries: [Entry]) -> Bool {
        guard t.outcome == .unanswered || t.outcome == .evicted, let type = t.question?.type,
              type == DNSType.a || type == DNSType.aaaa else { return false }
        return sibling(of: t, name: name, time: time, entries: entries) != nil
    }

    func sibling(of t: DNSTransaction, name: String, time: Int64, entries: [Entry]) -> Entry? {
        entries.last { e in
            let other = e.transaction
            guard other.outcome == .answered, other.client == t.client, other.server == t.server, e.name == name,
                  let otherType = other.question?.type, otherType != t.question?.type,
                  otherType == DNSType.a || otherType == DNSType.aaaa, let otherTime = other.queryTime else { return false }
            return abs(otherTime &- time) <= Self.parallel
        }
    }

    /// Whether `expansion` is `base` with a search suffix, for a final name `name` that is `base`
    /// or `base` with a shorter tail of that suffix; the suffix when it is.
    static func searchSuffix(of expansion: String, finalName name: String) -> String? {
        guard expansion != name else { return nil }
        if expansion.hasPrefix(name + ".") { return String(expansion.dropFirst(name.count + 1)) }
        // name = base.tail, expansion = base.suffix with suffix ending in ".tail"; the longest
        // base wins (kubernetes.default + default.svc.cluster.local, not kubernetes + …).
        var found: String?
        var index = name.startIndex
        while let dot = name[index...].firstIndex(of: ".") {
            let base = name[..<dot], tail = name[name.index(after: dot)...]
            if expansion.hasPrefix(base + "."), expansion.hasSuffix("." + tail) {
                let suffix = expansion.dropFirst(base.count + 1)
                if suffix.count > tail.count { found = String(suffix) }
            }
            index = name.index(after: dot)
        }
        return found
    }

    /// `t` asked for a name after its search: the held NXDOMAIN answers for its search-list expansions (same type,
    /// answered before `t` was asked) are its cost.
    mutating func matchExpansions(of t: DNSTransaction, name: String, client: String, entries: inout [Entry]) {
        guard let time = t.queryTime, let type = t.question?.type else { return }
        var earliest = time, count = 0, frames: [Int] = [], suffixes: [String] = []
        for index in entries.indices where entries[index].held {
            let e = entries[index].transaction
            guard isPossibleExpansion(e), e.question?.type == type, let asked = e.queryTime,
                  (e.responseTime ?? .max) <= time,
                  let suffix = Self.searchSuffix(of: entries[index].name, finalName: name) else { continue }
            entries[index].held = false   // explained: not a plain NXDOMAIN
            earliest = min(earliest, asked)
            count += 1
            if let frame = e.queryFrame, frames.count < 4 { frames.append(frame) }
            if !suffixes.contains(suffix) { suffixes.append(suffix) }
        }
        guard count > 0 else { return }
        var perName = searches[client] ?? [:]
        let key = perName[name] != nil || perName.count < Self.namesPerClient ? name : "(other names)"
        var s = perName[key] ?? Search(finalName: key)
        s.lookups += 1
        s.expansionQueries += count
        for suffix in suffixes where !s.suffixes.contains(suffix) && s.suffixes.count < 8 { s.suffixes.append(suffix) }
        let lost = time &- earliest
        if abs(time &- s.lastFinalTime) > Self.parallel { s.lostNanoseconds &+= lost }
        s.lastFinalTime = time
        s.longestNanoseconds = max(s.longestNanoseconds, lost)
        for frame in frames + [t.responseFrame ?? t.queryFrame].compactMap({ $0 }) where s.frames.count < Finding.listLimit {
            s.frames.append(frame)
        }
        s.servers.addPeer(t.server)
        perName[key] = s
        searches[client] = perName
    }

    /// `t` asks again what a held lost query asked: the client's resolver timed out and retried.
    mutating func matchRetry(_ t: DNSTransaction, name: String, time: Int64, entries: inout [Entry]) {
        guard let type = t.question?.type else { return }
        for index in entries.indices where entries[index].held {
            let lost = entries[index].transaction
            guard lost.outcome == .unanswered || lost.outcome == .evicted, entries[index].name == name,
                  lost.question?.type == type, lost.server.address == t.server.address,
                  let lostTime = lost.queryTime, time &- lostTime >= Self.shortestTimeout else { continue }
            entries[index].held = false   // explained by the timeout and its retry
            addTimeout(lost: lost, name: name, type: type, wait: time &- lostTime, retryFrame: t.queryFrame)
            return
        }
    }

    mutating func addTimeout(lost: DNSTransaction, name: String, type: UInt16, wait: Int64, retryFrame: Int?) {
        let server = timeouts.bounded("\(lost.server)")
        var g = timeouts[server] ?? Timeout()
        g.count += 1
        g.clients.addPeer(lost.client)
        if g.names.count < 50 || g.names[name] != nil { g.names[name, default: 0] += 1 }
        g.lostTypes[DNSType.name(type), default: 0] += 1
        if g.waits.count < 10_000 { g.waits.append(wait) }
        for frame in [lost.queryFrame, retryFrame].compactMap({ $0 }) where g.frames.count < Finding.listLimit {
            g.frames.append(frame)
        }
        timeouts[server] = g
    }

    func findings() -> [Finding] {
        var out: [Finding] = []
        for (client, perName) in searches {
            let all = perName.values.sorted { $0.expansionQueries != $1.expansionQueries ? $0.expansionQueries > $1.expansionQueries : $0.finalName < $1.finalName }
            let lookups = all.reduce(0) { $0 + $1.lookups }
            let wasted = all.reduce(0) { $0 + $1.expansionQueries }
            let lost = all.reduce(Int64(0)) { $0 &+ $1.lostNanoseconds }
            let longest = all.map(\.longestNanoseconds).max() ?? 0
            var suffixes: [String] = []
            for s in all { for suffix in s.suffixes where !suffixes.contains(suffix) { suffixes.append(suffix) } }
            let names = all.prefix(5).map { s in
                "\(s.finalName) (\(plural(s.expansionQueries, "NXDOMAIN")) for \(plural(s.lookups, "lookup")), longest \(fixed1(Double(s.longestNanoseconds) / 1e6)) ms)"
            }.joined(separator: ", ")
            var servers: [String] = []
            for s in all { for server in s.servers where !servers.contains(server) { servers.append(server) } }
            let perLookup = Double(wasted) / Double(max(1, lookups))
            out.append(Finding(
                kind: .dnsSearchExpansion, severity: perLookup >= 2 ? .warning : .info, endpoint: client,
                peers: servers, count: wasted, countUnit: "queries",
                frames: Array(all.flatMap(\.frames).sorted().prefix(Finding.listLimit)),
                facts: ["lookups": .int(lookups), "expansion_queries": .int(wasted),
                        "queries_per_lookup": .double(((perLookup + 1) * 10).rounded() / 10),
                        "search_suffixes": .string(suffixes.joined(separator: " ")),
                        "time_lost_ms": .double(Double(lost / 1000) / 1000),
                        "longest_lookup_ms": .double(Double(longest / 1000) / 1000), "names": .string(names)],
                summary: "\(client) asked for \(plural(all.count, "name")) only after \(plural(wasted, "NXDOMAIN answer")) for search-list expansions (\(suffixes.prefix(4).joined(separator: ", "))): \(fixed1(perLookup + 1)) queries per lookup, \(fixed1(Double(lost) / 1e6)) ms spent on them; \(names).",
                explanation: "A name with fewer dots than the resolver's `ndots` is tried with every search domain appended first; each try costs a query and a round trip (two with A and AAAA) before the name that exists is asked.",
                likelyCause: "`options ndots:5` (Kubernetes' default in pods) with names of fewer than five dots, such as external hosts (api.example.org) and short service names.",
                nextStep: "Write external names fully qualified (a trailing dot: `api.example.org.`), or lower ndots for the pod (`dnsConfig: options: [{name: ndots, value: \"2\"}]`); NodeLocal DNSCache or autopath (CoreDNS) make the expansions cheaper."))
        }
        for (server, g) in timeouts {
            let waits = g.waits.sorted()
            let median = waits.isEmpty ? 0 : waits[waits.count / 2]
            let longest = waits.last ?? 0
            let names = g.names.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(5)
                .map { $0.value > 1 ? "\($0.key) ×\($0.value)" : $0.key }.joined(separator: ", ")
            let lostTypes = g.lostTypes.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            let seconds = fixed1(Double(median) / 1e9)
            out.append(Finding(
                kind: .dnsParallelQueryTimeout, severity: .warning, endpoint: server, peers: g.clients, count: g.count,
                countUnit: "lookups", frames: g.frames,
                facts: ["median_wait_ms": .double(Double(median / 1000) / 1000), "longest_wait_ms": .double(Double(longest / 1000) / 1000),
                        "lost_types": .string(lostTypes), "names": .string(names), "clients": .int(g.clients.count)],
                summary: "\(plural(g.count, "lookup")) towards \(server) waited \(seconds) s: the client sent A and AAAA together from one socket, one answer never came (lost: \(lostTypes)), and it asked again after its timeout: \(names).",
                explanation: "Stub resolvers (glibc, musl) send the A and AAAA queries of a lookup in parallel from one socket and wait their whole timeout (5 s by default) when one of the two answers is lost, so every such lookup takes seconds.",
                likelyCause: "The conntrack insertion race: two UDP packets of one socket translated at once (kube-proxy's DNAT to the DNS service) collide and the kernel drops the second; otherwise a path or firewall dropping one of two back-to-back datagrams.",
                nextStep: "Check the node's `conntrack -S` for insert_failed; work around with `options single-request-reopen` (glibc) or `use-vc` in the pods' resolv.conf, NodeLocal DNSCache, or a kernel with the race fixed (5.0+)."))
        }
        return out
    }
}
