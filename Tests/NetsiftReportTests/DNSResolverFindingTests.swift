import Testing
import NetsiftDissect
@testable import NetsiftFlows
@testable import NetsiftReport

/// The resolver patterns on DNS exchanges built in the test (the fixture dns-cluster and the
/// corpus check them on real traffic).
@Suite struct DNSResolverFindingTests {
    static let client = Endpoint(address: IPAddress(ipv4: 0x0A00_0005), port: 40_000)
    static let server = Endpoint(address: IPAddress(ipv4: 0x0A60_000A), port: 53)

    /// An exchange asked at `askedMs` (ms), answered `latencyMs` later with `code` (nil: never).
    static func exchange(_ name: String, _ type: UInt16, askedMs: Int64, latencyMs: Int64?, code: UInt16 = 0,
                         copies: Int = 1, frame: Int) -> DNSTransaction {
        var t = DNSTransaction(client: client, server: server, transport: .udp, id: UInt16(frame),
                               question: DNSQuestion(name: DNSName(text: name), type: type),
                               outcome: latencyMs == nil ? .unanswered : .answered)
        t.queryFrame = frame
        t.queryTime = askedMs * 1_000_000
        t.queryCount = copies
        if let latencyMs {
            t.responseFrame = frame + 1
            t.responseTime = (askedMs + latencyMs) * 1_000_000
            t.responseCode = code
        }
        return t
    }

    static func findings(_ exchanges: [DNSTransaction]) -> (patterns: [Finding], released: [DNSTransaction]) {
        var detector = DNSResolverDetector()
        var released: [DNSTransaction] = []
        for t in exchanges { detector.add(t) { released.append($0) } }
        detector.flush { released.append($0) }
        return (detector.findings(), released)
    }

    @Test func searchSuffixes() {
        #expect(DNSResolverDetector.searchSuffix(of: "api.example.org.default.svc.cluster.local",
                                                 finalName: "api.example.org") == "default.svc.cluster.local")
        // The final name is itself an expansion: the longest common base wins.
        #expect(DNSResolverDetector.searchSuffix(of: "kubernetes.default.default.svc.cluster.local",
                                                 finalName: "kubernetes.default.svc.cluster.local") == "default.svc.cluster.local")
        #expect(DNSResolverDetector.searchSuffix(of: "www.google.com", finalName: "www.example.com") == nil)
        #expect(DNSResolverDetector.searchSuffix(of: "api.example.org", finalName: "api.example.org") == nil)
        #expect(DNSResolverDetector.searchSuffix(of: "mail.example.org", finalName: "api.example.org") == nil)
    }

    @Test func anNXDOMAINNoLaterNameExplainsIsReleased() {
        let (patterns, released) = Self.findings([
            Self.exchange("missing.example.org", DNSType.a, askedMs: 0, latencyMs: 1, code: 3, frame: 1),
            Self.exchange("other.example.org", DNSType.a, askedMs: 10, latencyMs: 1, frame: 3),
        ])
        #expect(patterns.isEmpty)
        #expect(released.count == 2, "both judged on their own: one plain NXDOMAIN, one answer")
    }

    /// glibc reusing the lost query's ID for its retry within DNSTransactions' 5 s: one exchange
    /// sent twice, answered 5 s after it was first asked, while its A twin was answered at once.
    @Test func retryWithTheSameIDIsATimeoutToo() {
        let (patterns, released) = Self.findings([
            Self.exchange("slow.example.org", DNSType.a, askedMs: 0, latencyMs: 1, frame: 1),
            Self.exchange("slow.example.org", DNSType.aaaa, askedMs: 0, latencyMs: 4_800, copies: 2, frame: 2),
        ])
        let timeout = patterns.first { $0.kind == .dnsParallelQueryTimeout }
        #expect(timeout?.endpoint == "10.96.0.10:53")
        #expect(timeout?.facts["median_wait_ms"] == .double(4_800))
        #expect(timeout?.facts["lost_types"] == .string("AAAA ×1"))
        #expect(released.count == 2)
    }

    /// An unanswered query with no answered twin is a plain unanswered query, whatever follows.
    @Test func aLoneLostQueryIsNotATimeoutPattern() {
        let (patterns, released) = Self.findings([
            Self.exchange("gone.example.org", DNSType.a, askedMs: 0, latencyMs: nil, frame: 1),
            Self.exchange("gone.example.org", DNSType.a, askedMs: 5_000, latencyMs: 1, frame: 3),
        ])
        #expect(patterns.isEmpty)
        #expect(released.map(\.outcome) == [.answered, .unanswered] || released.map(\.outcome) == [.unanswered, .answered])
    }
}
