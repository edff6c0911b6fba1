import NetsiftDissect
import NetsiftFlows

/// Port scans and host sweeps, as Zeek's scan detection (policy/misc/scan.zeek) decides them: one
/// source whose failed connection attempts (no completed handshake) reach at least `scanPorts`
/// distinct ports of one host (a vertical scan, Zeek's Port_Scan, threshold 15) or `scanHosts`
/// distinct hosts on one port (a horizontal sweep, Zeek's Address_Scan, threshold 25). Zeek counts
/// within 5-minute windows; this counts over the whole capture and reports the span. With each,
/// how the targets answered: open (SYN/ACK), closed (reset), filtered (nothing).
struct ScanDetector {
    let thresholds: DiagnosisThresholds

    /// How a candidate's targets answered. A flood makes a candidate of every spoofed source, and
    /// nearly all stay at one attempt: the first is kept inline, the lists start with the second.
    struct Answers: Sendable {
        var open = 0, closed = 0, filtered = 0
        var first: Int64 = .max, last: Int64 = .min
        var firstFlow: FlowReference?
        var firstFrame = 0
        var moreFlows: [FlowReference] = []
        var moreFrames: [Int] = []
        /// Open ports (vertical) or hosts answering (horizontal), the first few, for the report.
        var openTargets: [String] = []

        var attempts: Int { open + closed + filtered }
        var flows: [FlowReference] { (firstFlow.map { [$0] } ?? []) + moreFlows }
        var frames: [Int] { (firstFlow == nil ? [] : [firstFrame]) + moreFrames }

        mutating func add(_ c: TCPConversation, server: TCPSide, target: @autoclosure () -> String) {
            if server.sentSYNACK {
                open += 1
                if openTargets.count < Finding.listLimit { openTargets.append(target()) }
            } else if server.sentRST {
                closed += 1
            } else {
                filtered += 1
            }
            first = min(first, c.start)
            last = max(last, c.last)
            if firstFlow == nil {
                firstFlow = c.reference
                firstFrame = c.firstFrame
            } else if moreFlows.count < Finding.listLimit - 1 {
                moreFlows.append(c.reference)
                moreFrames.append(c.firstFrame)
            }
        }
    }

    struct Pair: Hashable, Sendable { var scanner: IPAddress, host: IPAddress }
    struct Sweep: Hashable, Sendable { var scanner: IPAddress, port: UInt16 }
    /// Distinct targets, the first inline (no set made for a source that tries one).
    struct Targets<T: Hashable & Sendable>: Sendable {
        var first: T?
        var more = Set<T>()
        var count: Int { first == nil ? 0 : 1 + more.count }
        mutating func insert(_ target: T) {
            if first == nil { first = target } else if target != first { more.insert(target) }
        }
    }
    struct PortScan: Sendable {
        var ports = Targets<UInt16>(), answers = Answers()
        mutating func add(_ c: TCPConversation, port: UInt16, server: TCPSide) {
            ports.insert(port)
            answers.add(c, server: server, target: "\(port)")
        }
    }
    struct HostSweep: Sendable {
        var hosts = Targets<IPAddress>(), answers = Answers()
        mutating func add(_ c: TCPConversation, host: IPAddress, server: TCPSide) {
            if hosts.count < ScanDetector.hostsPerSweep { hosts.insert(host) }
            answers.add(c, server: server, target: "\(host)")
        }
    }

    var portScans: [Pair: PortScan] = [:]
    var hostSweeps: [Sweep: HostSweep] = [:]
    /// Set once the candidates are all ones that reached more than one target (see `note`).
    var portScansFull = false, hostSweepsFull = false
    /// Candidates kept at once (each direction): past it, those that reached only one target are
    /// forgotten, so a flood's million one-off sources keep the detector's memory fixed.
    static let candidates = 4_096
    /// Hosts kept per sweep: past it, attempts are still counted, new hosts no longer (a /16).
    static let hostsPerSweep = 65_536

    mutating func add(_ c: TCPConversation) {
        guard let clientSide = c.client, !c.handshakeCompleted, c[clientSide].dataSegments == 0 else { return }
        let scanner = c[clientSide].endpoint.address, target = c[1 - clientSide].endpoint, server = c[1 - clientSide]
        // Each candidate is looked up once and changed in place: a flood makes a new one of
        // nearly every attempt, and hashing was most of what the detector cost.
        Self.note(Pair(scanner: scanner, host: target.address), in: &portScans, full: &portScansFull, empty: PortScan(),
                  reachedMore: { $0.ports.count > 1 }) { $0.add(c, port: target.port, server: server) }
        Self.note(Sweep(scanner: scanner, port: target.port), in: &hostSweeps, full: &hostSweepsFull, empty: HostSweep(),
                  reachedMore: { $0.hosts.count > 1 }) { $0.add(c, host: target.address, server: server) }
    }

    /// Changes the candidate for `key` in place (`change`), or adds it (`change` applied to
    /// `empty`) while there is room; when there is none, first forgets the candidates that did
    /// not reach more than one target. Once that forgets none (`full`), it never will again (a
    /// candidate's targets only grow), so it is not tried again: a new key is then turned away at once.
    static func note<Key: Hashable, Candidate>(_ key: Key, in candidates: inout [Key: Candidate], full: inout Bool,
                                               empty: Candidate, reachedMore: (Candidate) -> Bool,
                                               _ change: (inout Candidate) -> Void) {
        if let known = candidates.index(forKey: key) {
            change(&candidates.values[known])
            return
        }
        if candidates.count >= Self.candidates {
            guard !full else { return }
            candidates = candidates.filter { reachedMore($0.value) }
            full = candidates.count >= Self.candidates
            if full { return }
        }
        var new = empty
        change(&new)
        candidates[key] = new
    }

    func findings() -> [Finding] {
        var out: [Finding] = []
        for (pair, scan) in portScans where scan.ports.count >= thresholds.scanPorts {
            let a = scan.answers
            out.append(Finding(
                kind: .portScan, severity: .warning, endpoint: "\(pair.scanner)", peers: ["\(pair.host)"],
                count: scan.ports.count, countUnit: "ports", flows: a.flows, frames: a.frames,
                facts: Self.facts(a, targets: scan.ports.count, target: "host", name: "\(pair.host)"),
                summary: "Port scan: \(pair.scanner) tried \(plural(scan.ports.count, "port")) of \(pair.host) in \(fixed1(Self.seconds(a))) s (\(plural(a.attempts, "attempt"))): \(grouped(a.open)) open, \(grouped(a.closed)) closed (reset), \(grouped(a.filtered)) filtered (no answer)\(a.openTargets.isEmpty ? "" : "; open: " + a.openTargets.prefix(10).joined(separator: ", ")).",
                explanation: "One source's connection attempts went to many ports of one host and were never completed: it was mapping which services answer, not using one.",
                likelyCause: "A port scanner (nmap, masscan or a worm) at \(pair.scanner) — an attacker's reconnaissance, or an authorised vulnerability scan.",
                nextStep: "Check whether \(pair.scanner) is an authorised scanner; if not, block it at the firewall and review the open ports it found on \(pair.host)."))
        }
        for (sweep, scan) in hostSweeps where scan.hosts.count >= thresholds.scanHosts {
            let a = scan.answers
            let hosts = scan.hosts.count >= Self.hostsPerSweep ? "at least \(plural(scan.hosts.count, "host"))" : plural(scan.hosts.count, "host")
            out.append(Finding(
                kind: .hostSweep, severity: .warning, endpoint: "\(sweep.scanner)", count: scan.hosts.count, countUnit: "hosts",
                flows: a.flows, frames: a.frames,
                facts: Self.facts(a, targets: scan.hosts.count, target: "port", name: "\(sweep.port)"),
                summary: "Host sweep: \(sweep.scanner) tried port \(sweep.port) on \(hosts) in \(fixed1(Self.seconds(a))) s (\(plural(a.attempts, "attempt"))): \(grouped(a.open)) open, \(grouped(a.closed)) closed (reset), \(grouped(a.filtered)) filtered (no answer)\(a.openTargets.isEmpty ? "" : "; open on " + a.openTargets.prefix(10).joined(separator: ", ")).",
                explanation: "One source tried the same port on many hosts and completed no connection: it was looking for hosts that run that service.",
                likelyCause: "A scanner or a worm at \(sweep.scanner) looking for tcp/\(sweep.port) across the network.",
                nextStep: "Check whether \(sweep.scanner) is an authorised scanner; if not, block it, and check the hosts that answered on tcp/\(sweep.port)."))
        }
        return out
    }

    static func seconds(_ a: Answers) -> Double { a.last >= a.first ? Double(a.last &- a.first) / 1e9 : 0 }

    static func facts(_ a: Answers, targets: Int, target: String, name: String) -> [String: FactValue] {
        ["attempts": .int(a.attempts), "open": .int(a.open), "closed": .int(a.closed), "filtered": .int(a.filtered),
         target: .string(name), "duration_seconds": .double((seconds(a) * 1000).rounded() / 1000)]
    }
}
