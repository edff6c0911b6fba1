import NetsiftDissect
import NetsiftFlows

/// How connections end. CLOSE_WAIT: one side's FIN was acknowledged but the other never sent its
/// own (before the capture ended, or for longer than the threshold) — grouped by the endpoint that
/// fails to close, counted over time to see whether it grows. TIME_WAIT pressure: many short
/// connections one client host closes first, and port numbers reused.
struct CloseDetector {
    let thresholds: DiagnosisThresholds
    struct HalfClosed {
        var group = EndpointGroup()
        /// When each one started (the peer's FIN acknowledged; the first `startsLimit`, which tell
        /// whether the count grows), and whether it was still open at the end.
        var starts: [Int64] = []
        var stillOpen = 0
        var longest: Int64 = 0

        mutating func add(peer: Endpoint, _ flow: FlowReference, frame: Int, since: Int64, duration: Int64,
                          stillOpen open: Bool) {
            group.add(flow, peer: peer, frames: [frame], value: Int(clamping: duration / 1_000_000))
            if starts.count < CloseDetector.startsLimit { starts.append(since) }
            if open { stillOpen += 1 }
            longest = max(longest, duration)
        }
    }
    var halfClosed: [String: HalfClosed] = [:]
    /// Candidates still open when the conversation's record ended: decided against the capture's end.
    var pending: [(subject: String, peer: Endpoint, conversation: FlowReference, frame: Int, since: Int64)] = []
    struct Closer {
        var connections = 0
        var reused = 0
        var flows: [FlowReference] = []
        var servers: [String] = []
        var first: Int64 = .max
        var last: Int64 = .min

        mutating func add(_ c: TCPConversation) {
            connections += 1
            if c.count(.reusedPorts) > 0 { reused += 1 }
            if flows.count < Finding.listLimit { flows.append(c.reference) }
            let server = "\(c.serverEndpoint)"
            if servers.count < Finding.listLimit && !servers.contains(server) { servers.append(server) }
            first = min(first, c.start)
            last = max(last, c.last)
        }
    }
    var activeClosers: [String: Closer] = [:]
    static let startsLimit = 10_000

    init(thresholds: DiagnosisThresholds) { self.thresholds = thresholds }

    mutating func add(_ c: TCPConversation) {
        let limit = Int64(thresholds.closeWaitSeconds * 1e9)
        for me in 0...1 {
            let closer = c[me], holder = c[1 - me]
            guard let acked = closer.finAckedTime, !holder.sentRST else { continue }
            // Data the holder sent is still unacknowledged: its FIN may be queued behind it (the
            // socket closed, the bytes stuck), which the wire cannot tell from CLOSE_WAIT.
            if holder.analysis.hasNextSeq && closer.analysis.hasLastAck
                && seqLess(closer.analysis.lastAck, holder.analysis.nextSeq) { continue }
            if let closed = holder.firstFINTime {
                // Wrapping differences: timestamps are the capture's word, and may be anything.
                if closed &- acked >= limit {
                    record(c.subject(1 - me), peer: closer.endpoint, c.reference, frame: c.firstFrame, since: acked,
                           duration: closed &- acked, stillOpen: false)
                }
            } else if pending.count < 1_000_000 {
                pending.append((c.subject(1 - me), closer.endpoint, c.reference, c.firstFrame, acked))
            }
        }
        // The side that sends the first FIN closes actively and keeps TIME_WAIT afterwards.
        if let clientSide = c.client, let clientFIN = c[clientSide].firstFINTime,
           c[1 - clientSide].firstFINTime.map({ clientFIN <= $0 }) ?? true {
            let key = activeClosers.bounded("\(c[clientSide].endpoint.address)")
            // Changed in place: a copy taken out and put back would share its flows array, and
            // the append would copy it.
            activeClosers[key, default: Closer()].add(c)
        }
    }

    mutating func record(_ subject: String, peer: Endpoint, _ flow: FlowReference, frame: Int, since: Int64,
                         duration: Int64, stillOpen: Bool) {
        // In place (see above): `starts` holds up to 10,000 times, copied on every append otherwise.
        halfClosed[halfClosed.bounded(subject), default: HalfClosed()]
            .add(peer: peer, flow, frame: frame, since: since, duration: duration, stillOpen: stillOpen)
    }

    func findings(captureEnd: Int64?) -> [Finding] {
        var detector = self
        // Still half-closed when the capture ended: CLOSE_WAIT by the end of the capture.
        for candidate in pending {
            detector.record(candidate.subject, peer: candidate.peer, candidate.conversation, frame: candidate.frame,
                            since: candidate.since, duration: (captureEnd ?? candidate.since) &- candidate.since,
                            stillOpen: true)
        }
        var out: [Finding] = []
        for (endpoint, h) in detector.halfClosed {
            let starts = h.starts.sorted()
            // Growing: more connections were left half-closed in the second half of the span than the first.
            let middle = starts.first! / 2 + starts.last! / 2
            let early = starts.filter { $0 <= middle }.count, late = starts.count - early
            let growing = starts.count >= 4 && late > early
            out.append(Finding(
                kind: .closeWait, severity: h.group.count >= 3 ? .warning : .info, endpoint: endpoint,
                peers: h.group.peers, count: h.group.count, countUnit: "connections", flows: h.group.flows,
                frames: h.group.frames,
                facts: ["still_half_closed_at_end": .int(h.stillOpen), "longest_seconds": .double(Double(h.longest / 1_000_000) / 1000),
                        "growing": .string(growing ? "yes" : "no"), "first_half": .int(early), "second_half": .int(late)],
                summary: "\(endpoint) left \(plural(h.group.count, "connection")) half-closed (CLOSE_WAIT): the peer's FIN was acknowledged, its own never came\(growing ? "; the count is growing" : "").",
                explanation: "After acknowledging the other side's FIN, the application on \(endpoint) never closed its socket; each such socket stays in CLOSE_WAIT and holds a file descriptor.",
                likelyCause: "The application on \(host(endpoint)) does not close sockets when the peer hangs up (a leak on an error path, a pool that never evicts dead connections, a thread stuck before close()).",
                nextStep: "On \(host(endpoint)): `ss -tanp state close-wait\(EndpointKind(of: endpoint) == .service ? " '( sport = :\(port(endpoint)) )'" : "")` and `ls /proc/PID/fd | wc -l` over time; review where the code closes connections after reading EOF."))
        }
        for (client, closer) in activeClosers where closer.connections >= thresholds.timeWaitConnections {
            let seconds = Double(max(1, closer.last &- closer.first)) / 1e9
            out.append(Finding(
                kind: .timeWaitPressure, severity: closer.reused > 0 ? .warning : .info, endpoint: client,
                peers: closer.servers, count: closer.connections,
                countUnit: "connections", flows: closer.flows,
                facts: ["connections_per_second": .double((Double(closer.connections) / seconds * 10).rounded() / 10),
                        "ports_reused": .int(closer.reused)],
                summary: "\(client) opened \(plural(closer.connections, "short connection")) to \(closer.servers.joined(separator: ", ")) and closed each first, which keeps every one in TIME_WAIT\(closer.reused > 0 ? "; \(plural(closer.reused, "port")) \(verb(closer.reused, "was")) reused" : "").",
                explanation: "Each actively closed connection holds its port pair for TIME_WAIT (60 s on Linux); at high rates the client runs out of ephemeral ports and connects fail or reuse ports.",
                likelyCause: "A client opening a new connection per request instead of keeping connections alive or pooling them.",
                nextStep: "Use keep-alive / connection pooling; check `ss -tan state time-wait | wc -l` and `net.ipv4.ip_local_port_range` on the client."))
        }
        return out
    }
}
