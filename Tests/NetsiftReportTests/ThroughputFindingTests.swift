import Foundation
import Testing
import NetsiftReport
import NetsiftTestSupport

/// The slowness findings on the fixtures made for them, against the tools' own figures
/// (facts.json) and the scripts' parameters; the clean transfer raises none of them.
@Suite struct ThroughputFindingTests {
    static let throughputKinds: Set<FindingKind> = [.receiveWindowLimited, .windowScalingMismatch, .nagleDelayedAck,
                                                    .applicationLimited, .congestionLimited, .rttInflation, .slowResponses]

    func run(_ name: String, thresholds: DiagnosisThresholds = DiagnosisThresholds()) throws -> (findings: [Finding], facts: [String: Any]) {
        let folder = Corpus.fixturesDirectory.appendingPathComponent(name)
        let facts = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: folder.appendingPathComponent("facts.json"))) as? [String: Any])
        return (try diagnose(folder.appendingPathComponent(facts["capture"] as! String).path, thresholds: thresholds), facts)
    }

    func slowness(_ findings: [Finding]) -> Set<FindingKind> {
        Set(findings.map(\.kind)).intersection(Self.throughputKinds)
    }

    @Test func eachFixtureRaisesItsOwnFindingOnly() throws {
        let expected: [String: Set<FindingKind>] = [
            "nagle-delayed-ack": [.nagleDelayedAck], "receive-window-small-buffer": [.receiveWindowLimited],
            "receive-window-no-scaling": [.receiveWindowLimited], "application-limited": [.applicationLimited],
            "congestion-loss": [.congestionLimited], "clean-transfer": [],
            "rtt-inflation": [.rttInflation, .congestionLimited],
            // Fixtures made for other problems: a client that reads nothing is receive-window limited
            // (40 conversations), the lossy iperf3 upload congestion-limited; clean traffic nothing.
            "zero-window-clients": [.receiveWindowLimited], "tcp-loss-retransmissions": [.congestionLimited],
            "clean-traffic": [], "http-tcp": [],
            // Slow answers on one service, the client's think time pacing another; window scaling
            // refused by the server (and the unscaled window then limits); stripped by a middlebox.
            "slow-responses": [.slowResponses, .applicationLimited],
            "window-scaling-mismatch": [.windowScalingMismatch, .receiveWindowLimited],
            "window-scaling-stripped": [.windowScalingMismatch],
        ]
        for (name, kinds) in expected {
            #expect(slowness(try run(name).findings) == kinds, "\(name)")
        }
    }

    /// The window finding says why: scaling off on the receiver in one, a small buffer in the other,
    /// with the window the receiver's buffer allows and the rate the receiver measured.
    @Test func receiveWindowCauses() throws {
        let (small, smallFacts) = try run("receive-window-small-buffer")
        let finding = try #require(small.first { $0.kind == .receiveWindowLimited })
        let buffer = try #require((smallFacts["client"] as? [String: Any])?["so_rcvbuf"] as? Int)
        #expect(finding.endpoint == "10.77.0.1")
        #expect(finding.facts["window_scale"] == .string("shift 0"))
        if case .int(let window)? = finding.facts["window_bytes"] { #expect(window <= buffer) } else { Issue.record("window_bytes") }
        #expect(finding.likelyCause.contains("receive buffer is small"))
        let (off, _) = try run("receive-window-no-scaling")
        let scaling = try #require(off.first { $0.kind == .receiveWindowLimited })
        #expect(scaling.facts["window_scale"] == .string("off"))
        #expect(scaling.likelyCause.contains("10.77.0.1's SYN carried no window scale option"))
        #expect(scaling.nextStep.contains("net.ipv4.tcp_rmem") && scaling.nextStep.contains("tcp_window_scaling"))
    }

    /// Nagle: the client host, against the server that delays its ACKs; with TCP_NODELAY as the fix.
    @Test func nagleNamesTheSideAndTheFix() throws {
        let (findings, facts) = try run("nagle-delayed-ack")
        let nagle = try #require(findings.first { $0.kind == .nagleDelayedAck })
        let slow = try #require((facts["client_exchanges"] as? [String: [String: Any]])?["40081"]?["exchanges_over_30_ms"] as? Int)
        #expect(nagle.endpoint == "10.77.0.1")
        #expect(nagle.count <= slow && nagle.count >= slow - 3)
        #expect(nagle.facts["delayed_ack_by"] == .string("10.77.0.2:7200"))
        #expect(nagle.nextStep.contains("TCP_NODELAY"))
        #expect(nagle.flows.map(\.stream) == [0])   // the connection without TCP_NODELAY
    }

    /// Bufferbloat: round trips grow several-fold over the bridge's idle round trip (facts.json path),
    /// with no retransmission.
    @Test func rttInflationOverTheIdleRoundTrip() throws {
        let (findings, facts) = try run("rtt-inflation")
        let idle = try #require((facts["path"] as? [String: Any])?["round_trip_ms"] as? Int)
        let inflation = try #require(findings.first { $0.kind == .rttInflation })
        guard case .double(let minimum)? = inflation.facts["rtt_min_ms"], case .double(let p95)? = inflation.facts["rtt_p95_ms"]
        else { Issue.record("rtt facts"); return }
        #expect(minimum >= Double(idle) && minimum < Double(idle) * 2)
        #expect(p95 >= 3 * minimum)
        #expect(!findings.contains { $0.kind == .retransmissions })
        // Over time: the RTT starts near the idle round trip and peaks at several times it while the
        // data flows; the text lists every interval.
        let first = try #require(double(inflation.facts["rtt_first_interval_ms"]))
        let peak = try #require(double(inflation.facts["rtt_peak_interval_ms"]))
        #expect(first < 3 * Double(idle) && peak >= 3 * Double(idle))
        #expect(try #require(double(inflation.facts["throughput_peak_interval_bytes_per_second"])) > 0)
        guard case .string(let series)? = inflation.facts["rtt_over_time_ms"] else { Issue.record("rtt_over_time_ms"); return }
        #expect(series.split(separator: ",").count <= 12 && series.contains(String(peak)))
    }

    /// Slow responses per service with percentiles: with a 30 ms threshold the Nagle fixture's
    /// exchanges (the client timed a 48 ms median) are slow, its TCP_NODELAY ones are not; at the
    /// default (1 s) nothing is.
    @Test func slowResponsesWithPercentiles() throws {
        var thresholds = DiagnosisThresholds()
        thresholds.responseSlowMilliseconds = 30
        let (findings, facts) = try run("nagle-delayed-ack", thresholds: thresholds)
        let slow = try #require(findings.first { $0.kind == .slowResponses })
        let median = try #require((facts["client_exchanges"] as? [String: [String: Any]])?["40081"]?["exchange_ms_median"] as? Double)
        #expect(slow.endpoint == "10.77.0.2:7200")
        #expect(slow.count == 60)   // both connections' exchanges, one service
        if case .double(let p95)? = slow.facts["p95_ms"] { #expect(p95 >= 30 && p95 <= 1.15 * 72.04) } else { Issue.record("p95_ms") }
        if case .double(let p50)? = slow.facts["p50_ms"] {
            // Half the exchanges are the fast TCP_NODELAY ones: the service's median lies between.
            #expect(p50 <= median * 1.15)
        } else { Issue.record("p50_ms") }
        #expect(try run("nagle-delayed-ack").findings.allSatisfy { $0.kind != .slowResponses })
    }

    /// The nearest-rank percentile of `values`, as the histogram reads it.
    func percentile(_ values: [Double], _ fraction: Double) -> Double {
        let sorted = values.sorted()
        return sorted[max(1, Int((fraction * Double(sorted.count)).rounded(.up))) - 1]
    }

    func double(_ value: FactValue?) -> Double? {
        switch value {
        case .double(let v)?: v
        case .int(let v)?: Double(v)
        default: nil
        }
    }

    /// A server sleeping a known time per request (80-130 ms, four of 1.1-1.25 s) at the default
    /// threshold: the service's percentiles against the client's own timing (request sent to the
    /// answer's first byte), within the histogram's 12% and a millisecond; HTTP's slow answers are
    /// http_slow_responses' (not counted twice).
    @Test func slowResponsesAgainstTheClientsTimings() throws {
        let (findings, facts) = try run("slow-responses")
        let exchanges = try #require((facts["waits"] as? [String: Any])?["exchanges"] as? [[String: Any]])
        let times = exchanges.map { ($0["first_byte_ms"] as! Double) - ($0["sent_ms"] as! Double) }
        let slow = try #require(findings.first { $0.kind == .slowResponses })
        #expect(slow.endpoint == "10.77.0.2:7400")
        #expect(slow.count == exchanges.count)
        for (fact, fraction) in [("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99)] {
            let ours = try #require(double(slow.facts[fact])), theirs = percentile(times, fraction)
            #expect(abs(ours - theirs) <= 0.13 * theirs + 1, "\(fact): \(ours) against \(theirs)")
        }
        // The capture sees the request leave after the client noted it and the answer come before the
        // client read it (on a busy machine, some milliseconds): never longer than the client's.
        let slowest = try #require(double(slow.facts["max_ms"]))
        #expect(slowest <= times.max()! + 0.5 && slowest >= times.max()! - 10)
        #expect(findings.contains { $0.kind == .httpSlowResponses && $0.endpoint == "10.77.0.2:8080" })
        // A threshold above the slowest answer: none.
        var thresholds = DiagnosisThresholds()
        thresholds.responseSlowMilliseconds = times.max()! * 1.2
        #expect(!(try run("slow-responses", thresholds: thresholds).findings.contains { $0.kind == .slowResponses }))
    }

    /// The server idle between 16 KiB answers because the client thinks 200 ms after each: the
    /// finding says so, with the think times the client's own record gives.
    @Test func applicationLimitedExplainedByThinkTime() throws {
        let (findings, facts) = try run("slow-responses")
        let exchanges = try #require((facts["sends"] as? [String: Any])?["exchanges"] as? [[String: Any]])
        let think = zip(exchanges, exchanges.dropFirst()).map { ($1["sent_ms"] as! Double) - ($0["last_byte_ms"] as! Double) }
        let paced = try #require(findings.first { $0.kind == .applicationLimited })
        #expect(paced.endpoint == "10.77.0.2:7401")
        #expect(paced.facts["think_times"] == .int(think.count))
        let median = try #require(double(paced.facts["think_time_median_ms"]))
        #expect(abs(median - percentile(think, 0.5)) <= 0.13 * percentile(think, 0.5) + 1)
        // The client noted each answer's end when its read returned, after the capture saw it come.
        let thought = try #require(double(paced.facts["think_seconds"])) * 1000
        #expect(thought >= think.reduce(0, +) - 1 && thought <= think.reduce(0, +) * 1.05)
        #expect(paced.likelyCause.contains("10.77.0.1") && paced.likelyCause.contains("next request"))
        // Bursts of a server that sleeps by itself (no requests between) are not explained by a client.
        let bursts = try #require(try run("application-limited").findings.first { $0.kind == .applicationLimited })
        #expect(bursts.facts["think_times"] == nil)
    }

    /// Window scaling refused by the server (its namespace's sysctl): the SYN that offered it and the
    /// shift, from tshark's tcp.options.wscale; the window limit names the cause.
    @Test func windowScalingOneSided() throws {
        let (findings, facts) = try run("window-scaling-mismatch")
        let syns = try #require((facts["window_scaling"] as? [String: Any])?["syns"] as? [[String: Any]])
        let offering = try #require(syns.first { $0["wscale_shift"] is Int }), refusing = try #require(syns.first { !($0["wscale_shift"] is Int) })
        let mismatch = try #require(findings.first { $0.kind == .windowScalingMismatch })
        #expect(mismatch.severity == .info)
        #expect(mismatch.facts["offered_by"] == .string(offering["sender"] as! String))
        #expect(mismatch.facts["offered_shift"] == .int(offering["wscale_shift"] as! Int))
        #expect(mismatch.facts["not_offered_by"] == .string(refusing["sender"] as! String))
        #expect(mismatch.endpoint == refusing["sender"] as? String)
        let limited = try #require(findings.first { $0.kind == .receiveWindowLimited })
        #expect(limited.facts["window_scale"] == .string("not negotiated"))
        let largest = try #require(((facts["window_scaling"] as? [String: Any])?["largest_window"] as? [String: Int])?[offering["sender"] as! String])
        #expect(limited.facts["window_bytes"] == .int(largest))
    }

    /// The option stripped from the SYN/ACK by the router (TCPOPTSTRIP): the capture at the client
    /// sees one-sided scaling, but the server sends far past the windows the client announced; no
    /// receive-window class (the capture cannot read the window the server used).
    @Test func windowScalingStripped() throws {
        let (findings, facts) = try run("window-scaling-stripped")
        let scaling = try #require(facts["window_scaling"] as? [String: Any])
        let past = try #require(scaling["server_segments_past_client_window"] as? Int)
        #expect((facts["router_rule"] as? [String: Any])?["matched_syn_acks"] as? Int == 1)
        let stripped = try #require(findings.first { $0.kind == .windowScalingMismatch })
        #expect(stripped.severity == .warning)
        #expect(stripped.facts["sender"] == .string("10.77.2.2:7300"))
        // Ours counts segments past the window by more than a segment; tshark's fields, past the edge.
        guard case .int(let beyond)? = stripped.facts["segments_beyond_window"] else { Issue.record("segments_beyond_window"); return }
        #expect(beyond >= 3 && beyond <= past)
        #expect(!findings.contains { $0.kind == .receiveWindowLimited })
    }
}
