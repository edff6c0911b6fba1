import Netsift
import Prometheus

/// `live --metrics`: the capture so far as Prometheus metrics, refreshed every second from the
/// live analysis (`LiveAnalysis.run`'s observer) into swift-prometheus's registry, which the
/// `MetricsServer` thread writes out in the text exposition format. Counters follow the totals
/// the analysis keeps (each refresh adds what grew); gauges are set to the current value. Labels
/// take bounded values only (states, kinds, codes), never an address.
/// Used on the capture thread only; the server thread reads `registry`, which locks itself.
final class LiveMetrics {
    let registry = PrometheusCollectorRegistry()
    /// What each counter was last set to, by name and labels, so a refresh adds only the growth.
    private var counted: [Labels: Int] = [:]
    /// The gauges set so far, to set to 0 those absent from a refresh.
    private var gauges: Set<Labels> = []

    /// A metric's name and its labels' names and values, flattened: ["name", "label", "value", …].
    typealias Labels = [String]
    static func pairs(_ labels: Labels) -> [(String, String)] {
        stride(from: 1, to: labels.count - 1, by: 2).map { (labels[$0], labels[$0 + 1]) }
    }

    init() {
        // Present from the first scrape, before any packet.
        for (name, help) in Self.totals { _ = registry.makeCounter(descriptor: Self.descriptor(name, help), labels: []) }
    }

    static let totals = [
        ("netsift_packets_total", "Packets read from the interface."),
        ("netsift_bytes_total", "Bytes on the wire of the packets read."),
        ("netsift_kernel_dropped_packets_total", "Packets the kernel dropped (no room in the capture buffer), as libpcap counts them."),
        ("netsift_interface_dropped_packets_total", "Packets the interface or its driver dropped, as libpcap counts them."),
        ("netsift_tcp_retransmissions_total", "TCP segments marked retransmission, fast or spurious retransmission."),
        ("netsift_tcp_resets_total", "TCP segments with RST set."),
    ]

    /// A metric's whole name (Prometheus' rules: `netsift_` prefix, unit and `_total` in it) and help.
    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// Sets a counter to `total` (adding its growth since the last refresh).
    private func count(_ name: String, _ labels: [String] = [], to total: Int, help: String) {
        let key = [name] + labels
        let last = counted[key] ?? 0
        counted[key] = max(total, last)
        let counter = registry.makeCounter(descriptor: Self.descriptor(name, help), labels: Self.pairs(key))
        if total > last { counter.increment(by: Int64(total - last)) }
    }

    /// Sets the gauges of `name` to `values` (by labels); those set before and absent now go to 0.
    private func gauge(_ name: String, _ values: [[String]: Int], help: String) {
        let keys = Set(values.keys.map { [name] + $0 })
        for key in gauges where key[0] == name && !keys.contains(key) {
            registry.makeGauge(descriptor: Self.descriptor(name, help), labels: Self.pairs(key)).set(Int64(0))
        }
        gauges.formUnion(keys)
        for (labels, value) in values {
            registry.makeGauge(descriptor: Self.descriptor(name, help), labels: Self.pairs([name] + labels)).set(Int64(value))
        }
    }

    /// One refresh from the analysis so far and libpcap's counters.
    func update(_ live: inout LiveAnalysis, _ capture: LiveCapture.Statistics?) {
        let help = Dictionary(uniqueKeysWithValues: Self.totals)
        func total(_ name: String, _ value: Int) { count(name, to: value, help: help[name]!) }
        total("netsift_packets_total", live.pipeline.packets)
        total("netsift_bytes_total", live.bytes)
        if let capture {
            total("netsift_kernel_dropped_packets_total", Int(capture.droppedByKernel))
            total("netsift_interface_dropped_packets_total", Int(capture.droppedByInterface))
        }
        let series = live.analysis.recorder?.series
        total("netsift_tcp_retransmissions_total", series?.retransmissions ?? 0)
        total("netsift_tcp_resets_total", series?.resets ?? 0)

        var active: [[String]: Int] = [:]
        // One at a time: a flood holds `maximumFlows` conversations, most of them compact.
        live.pipeline.tracker.forEachActiveTCP { conversation in
            active[["transport", "tcp", "state", conversation.connectionState.rawValue], default: 0] += 1
        }
        live.pipeline.tracker.forEachActiveUDP { conversation in
            active[["transport", "udp", "state", conversation.connectionState.rawValue], default: 0] += 1
        }
        gauge("netsift_conversations_active", active,
              help: "Conversations being followed, by transport and Zeek conn_state so far.")
        let finishedHelp = "Conversations over, by transport and Zeek conn_state (UDP: all counted as finished)."
        for (state, count) in live.analysis.states {
            self.count("netsift_conversations_finished_total", ["transport", "tcp", "state", state], to: count,
                       help: finishedHelp)
        }
        self.count("netsift_conversations_finished_total", ["transport", "udp", "state", "finished"],
                   to: live.analysis.finishedUDP, help: finishedHelp)

        var findings: [[String]: Int] = [:]
        for finding in live.analysis.findingsSoFar(live.pipeline, now: Clock.wall, settle: LiveAnalysis.settleNanoseconds,
                                                   extra: capture.flatMap(LiveMetrics.drops) ?? []) {
            findings[["kind", finding.kind.rawValue, "severity", finding.severity.rawValue], default: 0] += 1
        }
        gauge("netsift_findings", findings,
              help: "Findings so far (one per kind and endpoint), by kind and severity, judged as if the capture ended now.")

        let outcomes = live.analysis.diagnosis.outcomes(ongoing: true)
        var codes: [String: Int] = [:]
        for server in outcomes.dns { for (code, count) in server.responseCodes { codes[code, default: 0] += count } }
        for (code, count) in codes {
            self.count("netsift_dns_responses_total", ["rcode", code], to: count,
                       help: "DNS answers, by response code.")
        }
        let histogram = registry.makeValueHistogram(
            descriptor: Self.descriptor("netsift_dns_response_seconds", "Time from a DNS query to its answer, in seconds."),
            buckets: ResponseTimeBuckets.bounds)
        for seconds in live.takeDNSResponseTimes() { histogram.record(seconds) }

        var alerts: [Outcomes.TLSAlert: Int] = [:]
        for server in outcomes.tls { for (alert, count) in server.alerts { alerts[alert, default: 0] += count } }
        for (alert, count) in alerts {
            self.count("netsift_tls_alerts_total", ["description", TLSNames.alertDescription(alert.description),
                                                    "sender", alert.sender], to: count,
                       help: "TLS alerts sent in the clear during handshakes (counted when the conversation ends), by description and sender.")
        }
        var statuses: [[String]: Int] = [:]
        for server in outcomes.http {
            for (status, count) in server.statuses {
                statuses[["code", String(status), "protocol", server.protocolName], default: 0] += count
            }
        }
        for (labels, count) in statuses {
            self.count("netsift_http_responses_total", labels, to: count,
                       help: "HTTP responses, by status code and protocol (http: HTTP/1.x, http2).")
        }
    }

    static func drops(_ capture: LiveCapture.Statistics) -> [Finding]? {
        Finding.packetsDropped(byKernel: Int(capture.droppedByKernel), byInterface: Int(capture.droppedByInterface),
                               received: Int(capture.received)).map { [$0] }
    }

}
