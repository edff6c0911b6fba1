import NetsiftDissect
import NetsiftFlows

/// Why transfers and exchanges were slow, not failing: what limited each direction's rate (T-RAT's
/// classes — the receiver's window, congestion, the sending application), window scaling that was
/// lost or refused, Nagle's algorithm meeting a delayed ACK, round trips that grew under load
/// (bufferbloat), and slow server responses in request/response protocols. Each finding carries
/// the numbers that show it (rates, windows, RTTs, delays), its cause and the fix.
struct ThroughputDetector {
    let thresholds: DiagnosisThresholds

    /// One endpoint's conversations of one kind, with the worst conversation's figures.
    struct Group {
        var conversations = EndpointGroup()
        var facts: [String: FactValue] = [:]
        var worst = Int.max
        var cause = ""
        var total = 0
        var totalDelay: Int64 = 0
        var maxDelay: Int64 = 0
        var segments = 0
        var responses = LatencyHistogram()
    }

    var windowLimited: [String: Group] = [:]
    var scaling: [String: Group] = [:]
    var nagle: [String: Group] = [:]
    var application: [String: Group] = [:]
    var congestion: [String: Group] = [:]
    var inflation: [String: Group] = [:]
    var responses: [String: Group] = [:]

    init(thresholds: DiagnosisThresholds) { self.thresholds = thresholds }

    mutating func add(_ c: TCPConversation) {
        for me in 0...1 {
            // Too little data for a rate, an RTT or Nagle (most conversations, every one of a
            // flood): nothing below applies, and the sides are not copied out to find that.
            if c[me].payloadBytes < TransferLimit.minimumBytes && c[me].transfer.nagleStalls < 5 { continue }
            let side = c[me], peer = c[1 - me], t = side.transfer
            let rate = t.rate(side.payloadBytes) ?? 0
            switch TransferLimit.of(side, to: peer) {
            case .receiverWindow?: addWindowLimited(c, sender: me, rate: rate)
            case .congestion?:
                let key = congestion.bounded(c.subject(me))
                congestion[key, default: Group()].add(c, peer: peer.endpoint, value: rate, lowestFirst: true) { g in
                    g.facts = ["throughput_bytes_per_second": .int(rate),
                               "retransmission_percent": .double(percent(side.retransmissions, of: side.dataSegments)),
                               "rtt_min_ms": .double(ms(t.rtt.minimum)), "rtt_p95_ms": .double(ms(t.rtt.percentile(0.95) ?? 0)),
                               "congestion_window_rounds": .int(t.flights.rounds),
                               "congestion_window_reductions": .int(t.flights.reductions)]
                    if let median = t.flights.median {
                        g.facts["congestion_window_median_bytes"] = .int(median)
                        g.facts["congestion_window_max_bytes"] = .int(t.flights.maximum)
                        g.facts["peer_window_max_bytes"] = .int(Int(peer.transfer.announcedWindowMax))
                    }
                }
            case .application?:
                let key = application.bounded(c.subject(me))
                let idle = percent(Int(t.idleTime / 1_000_000), of: Int(t.dataDuration / 1_000_000))
                // A server idle between answers waits for the next request: when the client's think
                // times (last byte of an answer to its next request) make up half its idle time or
                // more, the client's pace explains it.
                let think = c.responseTimes
                let thinking = me == c.serviceSide && think.thinkTimes.count > 0 && Double(think.thinkTotal) * 2 >= Double(t.idleTime)
                application[key, default: Group()].add(c, peer: peer.endpoint, value: rate, lowestFirst: true) { g in
                    g.facts = ["throughput_bytes_per_second": .int(rate), "idle_percent": .double(idle),
                               "idle_seconds": .double(seconds(t.idleTime)), "pauses": .int(t.idlePauses),
                               "transfer_seconds": .double(seconds(t.dataDuration))]
                    g.cause = ""
                    if thinking, let median = think.thinkTimes.percentile(0.5), let p95 = think.thinkTimes.percentile(0.95) {
                        g.cause = c.subject(1 - me)
                        g.facts["think_times"] = .int(think.thinkTimes.count)
                        g.facts["think_time_median_ms"] = .double(ms(median))
                        g.facts["think_time_p95_ms"] = .double(ms(p95))
                        g.facts["think_seconds"] = .double(seconds(think.thinkTotal))
                    }
                }
            case .bandwidth?, nil: break
            }
            // A window-bound sender's RTT samples wait for the receiver's delayed ACKs: no queue there.
            if t.rttInflated && !t.windowBound && side.payloadBytes >= TransferLimit.minimumBytes,
               let p95 = t.rtt.percentile(0.95) {
                let key = inflation.bounded(c.subject(me))
                let growth = Double(p95) / Double(max(1, t.rtt.minimum))
                inflation[key, default: Group()].add(c, peer: peer.endpoint, value: Int(growth * 10)) { g in
                    g.facts = ["rtt_min_ms": .double(ms(t.rtt.minimum)), "rtt_median_ms": .double(ms(t.rtt.percentile(0.5) ?? 0)),
                               "rtt_p95_ms": .double(ms(p95)), "growth": .double((growth * 10).rounded() / 10),
                               "rtt_samples": .int(t.rtt.count)]
                    if let overTime = t.overTime { g.facts.merge(RTTOverTime(overTime).facts) { $1 } }
                }
            }
            if t.nagleStalls >= 5 && t.nagleStalls * 10 >= side.dataSegments {
                let key = nagle.bounded(c.subject(me))
                nagle[key, default: Group()].add(c, peer: peer.endpoint, value: t.nagleStalls) { g in
                    g.cause = c.subject(1 - me)
                }
                nagle[key]!.total += t.nagleStalls
                nagle[key]!.totalDelay &+= t.nagleDelayTotal
                nagle[key]!.maxDelay = max(nagle[key]!.maxDelay, t.nagleDelayMax)
                nagle[key]!.segments += side.dataSegments
            }
        }
        addScaling(c)
        // HTTP (1.x, and cleartext HTTP/2) has its own per-request times in http_slow_responses.
        if c.responseTimes.samples.count > 0 && c.applicationProtocol != .http1 && c.applicationProtocol != .http2 {
            let key = responses.bounded(c.subject(c.serviceSide))
            let p95 = c.responseTimes.samples.percentile(0.95) ?? 0
            responses[key, default: Group()].add(c, peer: c.clientEndpoint, value: Int(p95 / 1_000)) { _ in }
            responses[key]!.responses.merge(c.responseTimes.samples)
        }
    }

    /// A direction held back by its receiver's window: why the window was small.
    mutating func addWindowLimited(_ c: TCPConversation, sender me: Int, rate: Int) {
        let side = c[me], receiver = c[1 - me], t = side.transfer
        let window = Int(receiver.transfer.announcedWindowMax)
        let rtt = c.pathRTT ?? t.rtt.minimum
        let key = windowLimited.bounded(c.subject(1 - me))
        let host = "\(receiver.endpoint.address)"
        let scale: String, cause: String
        if receiver.sentSYN || receiver.sentSYNACK, receiver.windowScaleShift == nil {
            scale = "off"
            cause = "Window scaling is off: \(host)'s \(receiver.sentSYNACK ? "SYN/ACK" : "SYN") carried no window scale option (net.ipv4.tcp_window_scaling=0 there, or a middlebox removed it), so its window can never exceed 65,535 bytes."
        } else if side.sentSYN || side.sentSYNACK, side.windowScaleShift == nil {
            scale = "not negotiated"
            cause = "Window scaling was not negotiated: \(host) offered it but \(side.endpoint.address)'s \(side.sentSYNACK ? "SYN/ACK" : "SYN") did not, so neither side scales and the window stays under 65,535 bytes."
        } else {
            scale = receiver.windowScaleShift.map { "shift \($0)" } ?? "unknown (handshake not captured)"
            cause = "\(host)'s receive buffer is small: it announced at most \(grouped(window)) bytes (window scale \(scale)) — an SO_RCVBUF set by the application, or net.ipv4.tcp_rmem's limits."
        }
        windowLimited[key, default: Group()].add(c, peer: side.endpoint, value: rate, lowestFirst: true) { g in
            g.cause = cause
            g.facts = ["throughput_bytes_per_second": .int(rate), "window_bytes": .int(window),
                       "window_scale": .string(scale), "rtt_ms": .double(ms(rtt)),
                       "window_fill_percent": .double(t.windowFillPercent ?? 0),
                       "window_bound_bytes_per_second": .int(rtt > 0 ? Int(Double(window) * 1e9 / Double(rtt)) : 0)]
        }
    }

    /// Window scaling offered by one SYN and not the other, or windows that only make sense scaled.
    mutating func addScaling(_ c: TCPConversation) {
        let bothSYNs = (c[0].sentSYN || c[0].sentSYNACK) && (c[1].sentSYN || c[1].sentSYNACK)
        // The capture reads the windows unscaled when either SYN (or both: not captured) lacks the option.
        let unscaled = c[0].windowScaleShift == nil || c[1].windowScaleShift == nil
        for me in 0...1 where c[me].transfer.segmentsBeyondWindow >= 3 && unscaled {
            let key = scaling.bounded(c.subject(c.serviceSide))
            let beyond = c[me].transfer.segmentsBeyondWindow
            scaling[key, default: Group()].add(c, peer: c.clientEndpoint, value: beyond) { g in
                g.cause = "stripped"
                g.facts = ["segments_beyond_window": .int(beyond), "sender": .string("\(c[me].endpoint)"),
                           "announced_window_max": .int(Int(c[1 - me].transfer.announcedWindowMax)),
                           "bytes_in_flight_max": .int(c[me].transfer.bytesInFlightMax)]
            }
            return
        }
        guard bothSYNs, (c[0].windowScaleShift == nil) != (c[1].windowScaleShift == nil) else { return }
        let a = c[0], b = c[1]
        let offering = a.windowScaleShift != nil ? a : b, refusing = a.windowScaleShift != nil ? b : a
        let key = scaling.bounded(c.subject(c.serviceSide))
        scaling[key, default: Group()].add(c, peer: c.clientEndpoint) { g in
            if g.cause.isEmpty { g.cause = "one-sided" }
            g.facts = g.facts.isEmpty
                ? ["offered_by": .string("\(offering.endpoint)"), "offered_shift": .int(Int(offering.windowScaleShift ?? 0)),
                   "not_offered_by": .string("\(refusing.endpoint)")]
                : g.facts
        }
    }

    func findings() -> [Finding] {
        var all: [Finding] = []
        for (receiver, g) in windowLimited {
            let rate = g.facts["throughput_bytes_per_second"].flatMap(\.intValue) ?? 0
            let window = g.facts["window_bytes"].flatMap(\.intValue) ?? 0
            let rtt = g.facts["rtt_ms"].flatMap(\.doubleValue) ?? 0
            let bound = g.facts["window_bound_bytes_per_second"].flatMap(\.intValue) ?? 0
            all.append(finding(.receiveWindowLimited, .warning, receiver, g, unit: "conversations",
                summary: "Transfers to \(receiver) were held back by its receive window: \(formatRate(rate)) with a \(grouped(window))-byte window over a \(fixed1(rtt)) ms round trip (window / RTT = \(formatRate(bound))), in \(plural(g.conversations.count, "conversation")).",
                explanation: "The sender kept the receiver's whole window in flight and waited a round trip for it to open again: throughput cannot exceed window / RTT, whatever the link.",
                cause: g.cause,
                next: "On \(host(receiver)): keep net.ipv4.tcp_window_scaling=1, raise net.ipv4.tcp_rmem's maximum to at least bandwidth × RTT, and drop any small SO_RCVBUF the application sets (or size it to bandwidth × RTT)."))
        }
        for (service, g) in scaling {
            let stripped = g.cause == "stripped"
            all.append(finding(.windowScalingMismatch, stripped ? .warning : .info, service, g, unit: "conversations",
                summary: stripped
                    ? "Windows towards \(service) only make sense scaled: the sender kept more in flight than the announced window (\(g.facts["segments_beyond_window"]?.description ?? "?") segments), though the handshake this capture saw has no window scaling."
                    : "Window scaling was offered by \(g.facts["offered_by"]?.description ?? "one side") and not by \(g.facts["not_offered_by"]?.description ?? "the other") in \(plural(g.conversations.count, "conversation")): it is off both ways, windows stay under 64 KiB.",
                explanation: stripped
                    ? "The ends agreed on window scaling in options this capture does not show: a middlebox (firewall, load balancer, WAN optimiser) rewrote the SYNs, or the capture missed them."
                    : "RFC 7323: scaling is used only if both SYNs carry the option; without it no window exceeds 65,535 bytes, which caps a transfer at 64 KiB per round trip.",
                cause: stripped
                    ? "A middlebox between the capture point and one end strips or rewrites the window scale option."
                    : "net.ipv4.tcp_window_scaling=0 (or an old stack, or a middlebox removing the option) on \(g.facts["not_offered_by"]?.description ?? "the side that did not offer it").",
                next: stripped
                    ? "Capture on both sides of the middlebox and compare the SYNs' options; fix or bypass the device that strips them."
                    : "Enable window scaling (sysctl net.ipv4.tcp_window_scaling=1) on the side that did not offer it, or find the device that removes the option."))
        }
        for (sender, g) in nagle {
            let mean = g.total > 0 ? g.totalDelay / Int64(g.total) : 0
            var withTotals = g
            withTotals.facts = ["stalls": .int(g.total), "data_segments": .int(g.segments),
                                "mean_delay_ms": .double(ms(mean)), "max_delay_ms": .double(ms(g.maxDelay)),
                                "total_delay_ms": .double(ms(g.totalDelay)), "delayed_ack_by": .string(g.cause)]
            all.append(finding(.nagleDelayedAck, .warning, sender, withTotals, unit: "stalls", count: g.total,
                summary: "\(sender) held a small segment \(plural(g.total, "time")) until \(g.cause)'s delayed ACK came (\(fixed1(ms(mean))) ms each, \(fixed1(ms(g.totalDelay))) ms in all): Nagle's algorithm meeting a delayed ACK.",
                explanation: "With Nagle's algorithm a small segment waits while an earlier small one is unacknowledged; the peer delays that ACK (40 ms on Linux, up to 200 ms elsewhere) hoping to send it with an answer that needs the held data: each write-write-read exchange waits for the timer.",
                cause: "The application on \(host(sender)) writes each request (or answer) in several small writes with Nagle's algorithm on (no TCP_NODELAY), and \(g.cause) delays its ACKs.",
                next: "Set TCP_NODELAY on \(host(sender))'s sockets, or write each message in one call (writev, a buffered writer flushed once)."))
        }
        for (sender, g) in application {
            let rate = g.facts["throughput_bytes_per_second"].flatMap(\.intValue) ?? 0
            let client = g.cause
            let thinking = client.isEmpty ? "" : " \(client) took \(g.facts["think_time_median_ms"]?.description ?? "?") ms (median; \(g.facts["think_time_p95_ms"]?.description ?? "?") ms p95) from the last byte of each answer to its next request: \(g.facts["think_seconds"]?.description ?? "?") s of the \(g.facts["idle_seconds"]?.description ?? "?") s idle."
            all.append(finding(.applicationLimited, .info, sender, g, unit: "conversations",
                summary: "Transfers from \(sender) were paced by its application: \(formatRate(rate)), idle with the window open \(g.facts["idle_percent"]?.description ?? "?")% of the time (\(g.facts["pauses"]?.description ?? "?") pauses), in \(plural(g.conversations.count, "conversation")).\(thinking)",
                explanation: "The sender had everything acknowledged and an open window, and sent nothing: neither the network nor the receiver limited the rate.",
                cause: client.isEmpty
                    ? "The sending application produces data slowly or in bursts (waiting on a disk, a database, a timer, its own upstream)."
                    : "The client (\(client)) waits between an answer and its next request (its own processing, a user, a timer): the server answers what it is asked, when it is asked.",
                next: client.isEmpty
                    ? "Look at the application on \(host(sender)) (profiling, its own dependencies), not at the network."
                    : "Look at the client on \(client): what it does between requests (pipelining or concurrent requests hide the wait); neither the server nor the network is the cause."))
        }
        for (sender, g) in congestion {
            let rate = g.facts["throughput_bytes_per_second"].flatMap(\.intValue) ?? 0
            let window = g.facts["congestion_window_median_bytes"].flatMap(\.intValue).map { median in
                " The estimated congestion window was \(grouped(median)) bytes (median of \(plural(g.facts["congestion_window_rounds"]?.intValue ?? 0, "round trip")); \(grouped(g.facts["congestion_window_max_bytes"]?.intValue ?? 0)) at most, cut to under half \(plural(g.facts["congestion_window_reductions"]?.intValue ?? 0, "time"))) while the receiver offered up to \(grouped(g.facts["peer_window_max_bytes"]?.intValue ?? 0))."
            } ?? ""
            all.append(finding(.congestionLimited, .warning, sender, g, unit: "conversations",
                summary: "Transfers from \(sender) were limited by the network: \(formatRate(rate)) with \(g.facts["retransmission_percent"]?.description ?? "?")% of data segments retransmitted (RTT \(g.facts["rtt_min_ms"]?.description ?? "?") ms at least, \(g.facts["rtt_p95_ms"]?.description ?? "?") ms p95), in \(plural(g.conversations.count, "conversation")).\(window)",
                explanation: "Congestion control halves the sending rate at each loss and grows it back a segment per round trip: losses, not the receiver or the application, set the pace.",
                cause: "Packet loss or queueing on the path (a congested or lossy link, a policer, a full queue).",
                next: "Find where the loss happens: capture at both ends, check interface errors and drops (`ip -s link`, `ethtool -S`, `tc -s qdisc`) on the path; consider BBR for long lossy paths."))
        }
        for (sender, g) in inflation {
            let overTime = g.facts["rtt_over_time_ms"].map { " Mean RTT in ms per \(g.facts["interval_ms"]?.description ?? "?") ms interval (and the throughput then): \($0)." } ?? ""
            all.append(finding(.rttInflation, .warning, sender, g, unit: "conversations",
                summary: "Round trips of \(sender)'s transfers grew \(g.facts["growth"]?.description ?? "?")× under load: \(g.facts["rtt_min_ms"]?.description ?? "?") ms at least, \(g.facts["rtt_median_ms"]?.description ?? "?") ms median, \(g.facts["rtt_p95_ms"]?.description ?? "?") ms p95.\(overTime)",
                explanation: "The RTT rises while data flows because packets wait in a queue that the transfer itself fills (bufferbloat): every other flow on that link waits too.",
                cause: "An oversized buffer at the bottleneck (a router, modem or shaper) with a tail-drop queue.",
                next: "Enable an AQM at the bottleneck (fq_codel, cake: `tc qdisc replace dev IF root fq_codel`), shape just below the link rate, or pace the sender (BBR, `fq`)."))
        }
        // Any threshold a flag can hold (huge, negative, not a number) becomes a time in range.
        let threshold = thresholds.responseSlowMilliseconds * 1e6
        let slowNs = threshold.isNaN ? Int64.max : Int64(max(0, min(threshold, 9e18)))
        for (service, g) in responses {
            let r = g.responses
            guard let p50 = r.percentile(0.5), let p95 = r.percentile(0.95), let p99 = r.percentile(0.99),
                  p95 >= slowNs else { continue }
            var withFacts = g
            withFacts.facts = ["responses": .int(r.count), "p50_ms": .double(ms(p50)), "p95_ms": .double(ms(p95)),
                               "p99_ms": .double(ms(p99)), "max_ms": .double(ms(r.maximum))]
            all.append(finding(.slowResponses, .warning, service, withFacts, unit: "responses", count: r.count,
                summary: "\(service) answered slowly: p95 \(fixed1(ms(p95))) ms (median \(fixed1(ms(p50))) ms, p99 \(fixed1(ms(p99))) ms, slowest \(fixed1(ms(r.maximum))) ms) over \(plural(r.count, "response")), from a request's first byte to the answer's.",
                explanation: "The time from a request's first byte to the first byte of its answer is the server's response time plus one round trip.",
                cause: "The server (or what it waits on: a database, an upstream) takes long to answer; with a small RTT, the network is not the cause.",
                next: "Compare with the RTT (`netsift flows`): if it is small, look at the server's processing of the slowest conversations listed."))
        }
        return all
    }

    func finding(_ kind: FindingKind, _ severity: Severity, _ endpoint: String, _ g: Group, unit: String,
                 count: Int? = nil, summary: String, explanation: String, cause: String, next: String) -> Finding {
        var facts = g.facts
        facts["conversations"] = .int(g.conversations.count)
        return Finding(kind: kind, severity: severity, endpoint: endpoint, peers: g.conversations.peers,
                       count: count ?? g.conversations.count, countUnit: unit, flows: g.conversations.flows,
                       facts: facts, summary: summary, explanation: explanation, likelyCause: cause, nextStep: next)
    }
}

extension ThroughputDetector.Group {
    /// Adds a conversation; `describe` sets the group's facts when it is the worst so far (the
    /// largest `value`, or the smallest with `lowestFirst`).
    mutating func add(_ c: TCPConversation, peer: Endpoint, value: Int = 0, lowestFirst: Bool = false,
                      describe: (inout Self) -> Void) {
        conversations.add(c, peer: peer, value: lowestFirst ? -value : value)
        let score = lowestFirst ? value : -value
        if score < worst || conversations.count == 1 {
            worst = score
            describe(&self)
        }
    }
}

extension FactValue {
    var intValue: Int? {
        if case .int(let v) = self { return v }
        return nil
    }
    var doubleValue: Double? {
        switch self {
        case .double(let v): v
        case .int(let v): Double(v)
        case .string: nil
        }
    }
}

/// Nanoseconds as milliseconds with one decimal.
func ms(_ nanoseconds: Int64) -> Double { (Double(nanoseconds) / 1e5).rounded() / 10 }
func seconds(_ nanoseconds: Int64) -> Double { (Double(nanoseconds) / 1e6).rounded() / 1000 }
func percent(_ part: Int, of whole: Int) -> Double { whole > 0 ? (Double(part) * 1000 / Double(whole)).rounded() / 10 : 0 }

/// A rate in bytes per second, decimal units: "53.6 kB/s", "2.0 MB/s".
func formatRate(_ bytesPerSecond: Int) -> String {
    let value = Double(bytesPerSecond)
    if value >= 1e9 { return fixed1(value / 1e9) + " GB/s" }
    if value >= 1e6 { return fixed1(value / 1e6) + " MB/s" }
    if value >= 1e3 { return fixed1(value / 1e3) + " kB/s" }
    return "\(bytesPerSecond) B/s"
}


/// A side's round trips and throughput over time, for the RTT inflation finding: the mean RTT in
/// the first interval that has one and in the interval where it peaked, with the throughput there,
/// and the whole series in at most 12 intervals as text ("11 (2.1 MB/s), 48 (5.0 MB/s), …").
struct RTTOverTime {
    var facts: [String: FactValue] = [:]

    init(_ overTime: TimeBuckets<TransferInterval>) {
        // At most 12 intervals: each widening merges neighbours in pairs.
        var width = overTime.width, count = overTime.values.count
        while count > 12 && width < Int64.max / 4 { width *= 2; count = (count + 1) / 2 }
        // Read as `flows --json` reads it (the same rates, rounded the same way).
        let series = FlowSummary.OverTime(overTime.widened(to: width))
        let measured = series.rttSamples.indices.filter { series.rttSamples[$0] > 0 }
        guard let first = measured.first,
              let peak = measured.max(by: { series.rttMeanNanoseconds[$0] < series.rttMeanNanoseconds[$1] }) else { return }
        facts["interval_ms"] = .double(ms(series.intervalNanoseconds))
        facts["rtt_first_interval_ms"] = .double(ms(series.rttMeanNanoseconds[first]))
        facts["throughput_first_interval_bytes_per_second"] = .int(series.throughputBytesPerSecond[first])
        facts["rtt_peak_interval_ms"] = .double(ms(series.rttMeanNanoseconds[peak]))
        facts["throughput_peak_interval_bytes_per_second"] = .int(series.throughputBytesPerSecond[peak])
        facts["rtt_peak_at_seconds"] = .double(seconds(Int64(peak) &* series.intervalNanoseconds))
        facts["rtt_over_time_ms"] = .string(series.rttSamples.indices.map { index in
            let mean = series.rttSamples[index] > 0 ? fixed1(ms(series.rttMeanNanoseconds[index])) : "-"
            return "\(mean) (\(formatRate(series.throughputBytesPerSecond[index])))"
        }.joined(separator: ", "))
    }
}
