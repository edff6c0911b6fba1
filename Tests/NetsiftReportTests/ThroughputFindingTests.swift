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
}
