import NetsiftDissect
import NetsiftFlows

/// What Netsift could not analyse because one of its bounds was reached below the flows: IP
/// fragments it could not reassemble, and data the application parsers skipped at their fixed
/// buffer limits. Each becomes a capture-layer finding with a count per limit, so no bound is
/// ever reached silently (flows and TCP reassembly have their own findings in `Diagnosis`).
struct LimitDetector {
    var http2FramesNotBuffered = 0
    var http2HeaderBlocksOverLimit = 0
    var http2ConnectionsOverStreamLimit = 0
    var http2UpgradeHeadsOverLimit = 0
    var tlsHandshakesOverLimit = 0
    var http1HeadsOverLimit = 0
    var http1RequestsOverPendingLimit = 0

    /// Notes a parser's report that it reached one of its limits.
    mutating func add(_ message: ApplicationMessage) {
        switch message {
        case .http2(let message):
            guard case .problem(let problem) = message.event else { return }
            switch problem {
            case .frameNotBuffered: http2FramesNotBuffered += 1
            case .tooManyStreams: http2ConnectionsOverStreamLimit += 1
            case .upgradeHeadTooLong: http2UpgradeHeadsOverLimit += 1
            case .headerBlockLost(_, let reason) where reason == HTTP2Connection.headerBlockOverLimitReason:
                http2HeaderBlocksOverLimit += 1
            default: break
            }
        case .tls(.problem(.handshakeTooLong)):
            tlsHandshakesOverLimit += 1
        case .http1(.problem(.headTooLong)):
            http1HeadsOverLimit += 1
        case .http1(.problem(.tooManyPending)):
            http1RequestsOverPendingLimit += 1
        default:
            break
        }
    }

    func findings(fragments: FragmentStatistics, fragmentLimits: FragmentLimits, dnsQueriesEvicted: Int) -> [Finding] {
        var all: [Finding] = []
        let fragmentFacts: [(String, Int)] = [
            ("datagrams_expired", fragments.datagramsExpired),
            ("datagrams_evicted", fragments.datagramsEvicted),
            ("fragments_refused", fragments.fragmentsRefused),
        ].filter { $0.1 > 0 }
        if !fragmentFacts.isEmpty {
            let total = fragmentFacts.reduce(0) { $0 + $1.1 }
            var parts: [String] = []
            if fragments.datagramsExpired > 0 {
                parts.append("\(plural(fragments.datagramsExpired, "datagram")) still incomplete "
                             + "\(fragmentLimits.timeout / 1_000_000_000) s after their last fragment")
            }
            if fragments.datagramsEvicted > 0 {
                parts.append("\(plural(fragments.datagramsEvicted, "datagram")) dropped for room "
                             + "(more than \(grouped(fragmentLimits.maximumDatagrams)) in flight)")
            }
            if fragments.fragmentsRefused > 0 {
                parts.append("\(plural(fragments.fragmentsRefused, "fragment")) refused (more than "
                             + "\(grouped(fragmentLimits.maximumFragments)) per datagram, or past \(grouped(fragmentLimits.maximumDatagramLength)) bytes)")
            }
            all.append(Finding(kind: .fragmentLimit, severity: .info, count: total, countUnit: "times",
                               facts: Dictionary(uniqueKeysWithValues: fragmentFacts.map { ($0.0, .int($0.1)) }),
                               summary: "IP fragments could not all be reassembled: \(parts.joined(separator: "; ")).",
                               explanation: "What those datagrams carried (a DNS answer, a TCP segment) was not analysed.",
                               likelyCause: "Fragments lost before the capture point, a capture that starts or ends mid-datagram, or a fragment flood.",
                               nextStep: "Raise --max-fragmented-datagrams, --max-fragments or --fragment-timeout; look for the fragments with `netsift packets -f 'ip[6:2] & 0x3fff != 0 or ip6[6] == 44'`."))
        }
        let parserFacts: [(String, Int)] = [
            ("http2_frames_not_buffered", http2FramesNotBuffered),
            ("http2_header_blocks_over_limit", http2HeaderBlocksOverLimit),
            ("http2_connections_over_stream_limit", http2ConnectionsOverStreamLimit),
            ("http2_upgrade_heads_over_limit", http2UpgradeHeadsOverLimit),
            ("tls_handshake_messages_over_limit", tlsHandshakesOverLimit),
            ("http1_heads_over_limit", http1HeadsOverLimit),
            ("http1_requests_over_pending_limit", http1RequestsOverPendingLimit),
            ("dns_queries_evicted", dnsQueriesEvicted),
        ].filter { $0.1 > 0 }
        if !parserFacts.isEmpty {
            let total = parserFacts.reduce(0) { $0 + $1.1 }
            all.append(Finding(kind: .parserLimit, severity: .info, count: total, countUnit: "times",
                               facts: Dictionary(uniqueKeysWithValues: parserFacts.map { ($0.0, .int($0.1)) }),
                               summary: "Application parsers skipped data at their buffer limits \(plural(total, "time")).",
                               explanation: "Netsift buffers at most 256 KiB per HTTP/2 frame or header block, 1,024 streams per HTTP/2 connection, 64 KiB per h2c upgrade head, HTTP/1.x head or TLS handshake message, 1,024 HTTP/1.x requests awaiting their responses per connection, and 65,536 DNS queries awaiting an answer; what is beyond was counted, not parsed.",
                               likelyCause: "Very large frames or certificate chains, very busy connections, or hostile traffic.",
                               nextStep: "Look at the conversations concerned with `netsift packets --json`; the facts say which limit was reached."))
        }
        return all
    }
}
