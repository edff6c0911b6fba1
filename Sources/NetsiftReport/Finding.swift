import NetsiftFlows

/// What a finding is about: a closed, documented set (docs/analyze-json.md), stable for scripts.
public enum FindingKind: String, Sendable, Codable, CaseIterable {
    // Capture
    case captureDamaged = "capture_damaged"
    case malformedPackets = "malformed_packets"
    /// Live capture: packets the kernel or the interface dropped before netsift saw them.
    case packetsDropped = "packets_dropped"
    /// An offline capture that misses packets: holes in the streams it holds, and the recorder's drops.
    case captureLoss = "capture_loss"
    // Network
    case icmpFragmentationNeeded = "icmp_fragmentation_needed"
    case mtuBlackHole = "mtu_black_hole"
    case overlayMTU = "overlay_mtu"
    // Transport
    case synUnanswered = "syn_unanswered"
    case connectionRefused = "connection_refused"
    case synAckUnacknowledged = "synack_unacknowledged"
    /// Many half-open connection attempts to one service from many sources, at a high rate.
    case synFlood = "syn_flood"
    /// One source trying many ports of one host (Zeek's Port_Scan).
    case portScan = "port_scan"
    /// One source trying one port on many hosts (Zeek's Address_Scan).
    case hostSweep = "host_sweep"
    /// Many unanswered datagrams to one host from many sources, at a high rate.
    case udpFlood = "udp_flood"
    case retransmissions
    /// A transfer that stopped: the same segment retransmitted by timeout, never acknowledged.
    case stalledTransfer = "stalled_transfer"
    case mssMismatch = "mss_mismatch"
    case segmentsAboveMSS = "segments_above_mss"
    case closeWait = "close_wait"
    case timeWaitPressure = "time_wait_pressure"
    case zeroWindow = "zero_window"
    case windowFull = "window_full"
    /// What slowed transfers and exchanges (ThroughputDetector).
    case receiveWindowLimited = "receive_window_limited"
    case windowScalingMismatch = "window_scaling_mismatch"
    case nagleDelayedAck = "nagle_delayed_ack"
    case applicationLimited = "application_limited"
    case congestionLimited = "congestion_limited"
    case rttInflation = "rtt_inflation"
    case slowResponses = "slow_responses"
    case reassemblyLimit = "reassembly_limit"
    case flowLimit = "flow_limit"
    case fragmentLimit = "fragment_limit"
    case parserLimit = "parser_limit"
    // DNS
    case dnsNXDomain = "dns_nxdomain"
    case dnsServFail = "dns_servfail"
    case dnsRefused = "dns_refused"
    case dnsUnanswered = "dns_unanswered"
    case dnsSlow = "dns_slow"
    case dnsTruncatedNoRetry = "dns_truncated_no_retry"
    /// Names resolved only after NXDOMAIN answers for their search-list expansions (ndots).
    case dnsSearchExpansion = "dns_search_expansion"
    /// A and AAAA sent together, one answer lost, the lookup waiting for the resolver's timeout.
    case dnsParallelQueryTimeout = "dns_parallel_query_timeout"
    /// DNS answers a host never asked for, from many resolvers: reflection and amplification.
    case dnsReflection = "dns_reflection"
    // TLS
    case tlsAlert = "tls_alert"
    case tlsHandshakeAborted = "tls_handshake_aborted"
    case tlsCertificateExpired = "tls_certificate_expired"
    case tlsCertificateNotYetValid = "tls_certificate_not_yet_valid"
    case tlsCertificateExpiring = "tls_certificate_expiring"
    case tlsCertificateNameMismatch = "tls_certificate_name_mismatch"
    case tlsCertificateSelfSigned = "tls_certificate_self_signed"
    case tlsCertificateChainIncomplete = "tls_certificate_chain_incomplete"
    case tlsCertificateWeak = "tls_certificate_weak"
    /// The stapled OCSP response says the certificate is revoked.
    case tlsCertificateRevoked = "tls_certificate_revoked"
    /// The stapled OCSP response is past its nextUpdate.
    case tlsOCSPResponseStale = "tls_ocsp_response_stale"
    /// TLS 1.3 handshakes, whose certificates the capture cannot show: said once per report.
    case tlsCertificatesEncrypted = "tls_certificates_encrypted"
    // HTTP/2
    case http2GoAway = "http2_goaway"
    case http2StreamReset = "http2_stream_reset"
    case http2BadPreface = "http2_bad_preface"
    case httpErrorStatus = "http_error_status"
    // HTTP/1.x
    case httpServerErrors = "http_server_errors"
    case httpClientErrors = "http_client_errors"
    case httpSlowResponses = "http_slow_responses"
    case httpRedirectLoop = "http_redirect_loop"
    case httpConnectFailed = "http_connect_failed"
    case grpcErrorStatus = "grpc_error_status"

    /// The layer the problem lives in.
    public var layer: DiagnosisLayer {
        switch self {
        case .captureDamaged, .malformedPackets, .packetsDropped, .captureLoss, .flowLimit, .reassemblyLimit, .fragmentLimit,
             .parserLimit: .capture
        case .icmpFragmentationNeeded, .mtuBlackHole, .overlayMTU: .network
        case .synUnanswered, .connectionRefused, .synAckUnacknowledged, .synFlood, .portScan, .hostSweep, .udpFlood,
             .retransmissions, .stalledTransfer, .mssMismatch,
             .segmentsAboveMSS, .closeWait, .timeWaitPressure, .zeroWindow, .windowFull, .receiveWindowLimited,
             .windowScalingMismatch, .nagleDelayedAck, .applicationLimited, .congestionLimited, .rttInflation,
             .slowResponses: .transport
        case .dnsNXDomain, .dnsServFail, .dnsRefused, .dnsUnanswered, .dnsSlow, .dnsTruncatedNoRetry, .dnsSearchExpansion,
             .dnsParallelQueryTimeout, .dnsReflection: .dns
        case .tlsAlert, .tlsHandshakeAborted, .tlsCertificateExpired, .tlsCertificateNotYetValid,
             .tlsCertificateExpiring, .tlsCertificateNameMismatch, .tlsCertificateSelfSigned,
             .tlsCertificateChainIncomplete, .tlsCertificateWeak, .tlsCertificateRevoked, .tlsOCSPResponseStale,
             .tlsCertificatesEncrypted: .tls
        case .http2GoAway, .http2StreamReset, .http2BadPreface, .httpErrorStatus, .grpcErrorStatus, .httpServerErrors,
             .httpClientErrors, .httpSlowResponses, .httpRedirectLoop, .httpConnectFailed: .http
        }
    }

    /// How much a problem of this kind harms the users of the services, higher worse: what chooses
    /// the verdict among findings of one severity. Work that stops or never starts (a stalled
    /// transfer, a black hole, a service nobody reaches) comes before work that is slowed, and that
    /// before what only wastes resources; the capture's own troubles harm no user.
    public var harm: Int {
        switch self {
        case .mtuBlackHole, .overlayMTU: 100   // the cause of the transfers it stalls, and the one to fix
        case .stalledTransfer: 98
        // An attack that keeps real clients out is the cause of the unanswered SYNs it brings.
        case .synFlood, .udpFlood, .dnsReflection: 95
        case .synUnanswered: 90
        case .connectionRefused: 85
        // A certificate that makes clients refuse the server is the cause of the alert that follows.
        case .tlsCertificateExpired, .tlsCertificateNotYetValid, .tlsCertificateNameMismatch,
             .tlsCertificateChainIncomplete, .tlsCertificateRevoked: 82
        case .tlsHandshakeAborted, .tlsAlert: 80
        case .dnsServFail, .dnsUnanswered: 78
        case .dnsRefused: 75
        case .httpServerErrors: 72
        case .http2GoAway, .httpRedirectLoop: 70
        case .httpConnectFailed: 65
        case .retransmissions: 60
        case .synAckUnacknowledged: 55
        case .zeroWindow: 50
        case .httpSlowResponses, .slowResponses: 48
        // Slowed work: the window, the network and the timers that set a transfer's pace.
        case .receiveWindowLimited: 47
        case .congestionLimited: 46
        case .rttInflation: 45
        case .nagleDelayedAck: 44
        case .grpcErrorStatus, .httpErrorStatus, .http2StreamReset, .tlsCertificateSelfSigned: 45
        case .closeWait: 40
        case .dnsParallelQueryTimeout: 52   // seconds lost by every lookup it hits
        case .dnsSlow, .dnsTruncatedNoRetry, .dnsSearchExpansion: 35
        case .icmpFragmentationNeeded, .timeWaitPressure: 30
        case .httpClientErrors: 30
        case .tlsCertificateExpiring, .tlsOCSPResponseStale: 25
        case .dnsNXDomain, .http2BadPreface, .windowFull, .mssMismatch, .segmentsAboveMSS, .windowScalingMismatch: 20
        case .tlsCertificateWeak: 15
        case .portScan, .hostSweep: 12   // reconnaissance: it harms no one yet
        case .applicationLimited: 12
        case .captureDamaged, .malformedPackets, .packetsDropped, .captureLoss: 10
        case .flowLimit, .reassemblyLimit, .fragmentLimit, .parserLimit, .tlsCertificatesEncrypted: 5
        }
    }
}

/// What a finding's `endpoint` names: a service (an address and the port it serves on, the server
/// side of conversations) or a host (an address: the client side, whatever ephemeral ports it used).
public enum EndpointKind: String, Sendable, Codable {
    case service, host

    /// The form of an endpoint as findings write it: "10.0.0.2:443" and "[2001:db8::1]:443" are
    /// services, "10.0.0.1" and "2001:db8::1" hosts; nil for anything else ("(other endpoints)").
    public init?(of endpoint: String) {
        if splitEndpoint(endpoint).port != nil && !endpoint.contains(" ") {
            self = .service
        } else if !endpoint.isEmpty && endpoint.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }) {
            self = .host
        } else {
            return nil
        }
    }
}

/// The layers findings are ordered by, bottom-up: a DNS failure comes before the HTTP errors it caused.
public enum DiagnosisLayer: String, Sendable, Codable, CaseIterable, Comparable {
    case capture, link, network, transport, dns, tls, http

    public static func < (a: DiagnosisLayer, b: DiagnosisLayer) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    public var title: String {
        switch self {
        case .capture: "Capture"
        case .link: "Link"
        case .network: "Network (IP, ICMP)"
        case .transport: "Transport (TCP)"
        case .dns: "DNS"
        case .tls: "TLS"
        case .http: "HTTP"
        }
    }
}

public enum Severity: String, Sendable, Codable, CaseIterable, Comparable {
    case info, warning, error

    public static func < (a: Severity, b: Severity) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// A number or a word in a finding's evidence.
public enum FactValue: Sendable, Equatable, Codable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case string(String)

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int.self) { self = .int(value) }
        else if let value = try? container.decode(Double.self) { self = .double(value) }
        else { self = .string(try container.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        }
    }

    public var description: String {
        switch self {
        case .int(let value): String(value)
        case .double(let value): String(value)
        case .string(let value): value
        }
    }
}

/// A conversation a finding concerns: its transport and number (`tcp.stream`, `udp.stream`).
public struct FlowReference: Sendable, Equatable, Codable, Hashable {
    public var transport: String
    public var stream: Int
    public init(transport: String, stream: Int) {
        self.transport = transport
        self.stream = stream
    }
}

/// One thing wrong, with what shows it, why it likely happens and what to do next.
public struct Finding: Sendable, Equatable, Codable {
    public var kind: FindingKind
    public var severity: Severity
    public var layer: DiagnosisLayer
    /// What the finding is about: a service ("10.0.0.2:443": the server that refuses, the service
    /// whose receiver stalls) or a host ("10.0.0.1": a client, whatever ephemeral ports it used);
    /// nil when it is about the capture. At most one finding per kind and endpoint.
    public var endpoint: String?
    /// Whether `endpoint` is a service or a host.
    public var endpointKind: EndpointKind?
    /// Other endpoints involved (clients), at most `Finding.listLimit`.
    public var peers: [String]
    /// How many times it happened (conversations, queries, segments: `countUnit` says which).
    public var count: Int
    public var countUnit: String
    /// The conversations concerned (at most `listLimit`, worst first) and the frames that show it.
    public var flows: [FlowReference]
    public var frames: [Int]
    /// Values that show it: sizes, rates, times, codes.
    public var facts: [String: FactValue]
    /// One sentence saying what happened, the likely cause, and the next step to take.
    public var summary: String
    public var explanation: String
    public var likelyCause: String
    public var nextStep: String
    /// The small capture that holds what shows it (`analyze --evidence DIR`): its path.
    public var evidence: String?

    public static let listLimit = 20
    /// Endpoints (servers, receivers, client-server pairs) a detector keeps apart for one kind of
    /// finding; those past the limit are counted together under `otherEndpoints`. A scan or a
    /// flood over millions of addresses then keeps the diagnosis in bounded memory and the report
    /// readable, and every event is still counted.
    public static let endpointLimit = 1_000
    public static let otherEndpoints = "(other endpoints)"

    public init(kind: FindingKind, severity: Severity, endpoint: String? = nil, peers: [String] = [], count: Int,
                countUnit: String, flows: [FlowReference] = [], frames: [Int] = [], facts: [String: FactValue] = [:],
                summary: String, explanation: String, likelyCause: String, nextStep: String) {
        self.kind = kind
        self.severity = severity
        layer = kind.layer
        self.endpoint = endpoint
        endpointKind = endpoint.flatMap(EndpointKind.init(of:))
        self.peers = Array(peers.prefix(Self.listLimit))
        self.count = count
        self.countUnit = countUnit
        self.flows = Array(flows.prefix(Self.listLimit))
        self.frames = Array(frames.sorted().prefix(Self.listLimit))
        self.facts = facts
        self.summary = summary
        self.explanation = explanation
        self.likelyCause = likelyCause
        self.nextStep = nextStep
    }

    /// The conversations the finding touches: its `conversations` fact, its count when it counts
    /// conversations, or the conversations it lists.
    public var conversations: Int {
        if case .int(let n)? = facts["conversations"] { return n }
        switch countUnit {
        case "conversations", "connections", "connection attempts", "handshakes": return count
        default: return flows.count
        }
    }

    /// How much the finding harms the users: its kind's harm, plus 10 for each doubling of the
    /// conversations it touches.
    var userHarm: Int {
        kind.harm + 10 * (Int.bitWidth - max(1, conversations).leadingZeroBitCount - 1)
    }

    /// Worst first: severity, then how often, then the lower layer.
    public static func worstFirst(_ a: Finding, _ b: Finding) -> Bool {
        if a.severity != b.severity { return a.severity > b.severity }
        if a.count != b.count { return a.count > b.count }
        if a.layer != b.layer { return a.layer < b.layer }
        // The summary last: one server may have several findings of a kind (one per certificate),
        // and the order must not depend on the order they were made in.
        return (a.kind.rawValue, a.endpoint ?? "", a.summary) < (b.kind.rawValue, b.endpoint ?? "", b.summary)
    }
}

extension TCPConversation {
    var reference: FlowReference { FlowReference(transport: "tcp", stream: stream) }
    /// The side that serves: the one that answered the SYN; when the capture holds no SYN, the side
    /// on the lower port (services listen on well-known or registered ports, clients connect from
    /// ephemeral ones above them).
    var serviceSide: Int {
        if let client { return 1 - client }
        return self[0].endpoint.port <= self[1].endpoint.port ? 0 : 1
    }
    /// The side that opened it, and the other.
    var clientEndpoint: Endpoint { self[1 - serviceSide].endpoint }
    var serverEndpoint: Endpoint { self[serviceSide].endpoint }

    /// What a finding about side `side` names: its service ("10.0.0.2:443") for the serving side,
    /// its host ("10.0.0.1") for the client side, so that one client's many ephemeral ports make
    /// one finding.
    func subject(_ side: Int) -> String {
        side == serviceSide ? "\(self[side].endpoint)" : "\(self[side].endpoint.address)"
    }
}

extension Dictionary where Key == String {
    /// The key to group an endpoint's findings under (`detail` appended): its own while fewer than
    /// `Finding.endpointLimit` keys are kept (or when it is one of them), `Finding.otherEndpoints`
    /// after that.
    func bounded(_ endpoint: String, detail: String = "") -> String {
        let key = endpoint + detail
        return count < Finding.endpointLimit || self[key] != nil ? key : Finding.otherEndpoints + detail
    }
}
