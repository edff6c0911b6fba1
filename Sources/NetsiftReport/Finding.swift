import NetsiftFlows

/// What a finding is about: a closed, documented set (docs/analyze-json.md), stable for scripts.
public enum FindingKind: String, Sendable, Codable, CaseIterable {
    // Capture
    case captureDamaged = "capture_damaged"
    case malformedPackets = "malformed_packets"
    /// Live capture: packets the kernel or the interface dropped before netsift saw them.
    case packetsDropped = "packets_dropped"
    // Network
    case icmpFragmentationNeeded = "icmp_fragmentation_needed"
    case mtuBlackHole = "mtu_black_hole"
    // Transport
    case synUnanswered = "syn_unanswered"
    case connectionRefused = "connection_refused"
    case synAckUnacknowledged = "synack_unacknowledged"
    case retransmissions
    case mssMismatch = "mss_mismatch"
    case segmentsAboveMSS = "segments_above_mss"
    case closeWait = "close_wait"
    case timeWaitPressure = "time_wait_pressure"
    case zeroWindow = "zero_window"
    case windowFull = "window_full"
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
        case .captureDamaged, .malformedPackets, .packetsDropped, .flowLimit, .reassemblyLimit, .fragmentLimit,
             .parserLimit: .capture
        case .icmpFragmentationNeeded, .mtuBlackHole: .network
        case .synUnanswered, .connectionRefused, .synAckUnacknowledged, .retransmissions, .mssMismatch,
             .segmentsAboveMSS, .closeWait, .timeWaitPressure, .zeroWindow, .windowFull: .transport
        case .dnsNXDomain, .dnsServFail, .dnsRefused, .dnsUnanswered, .dnsSlow, .dnsTruncatedNoRetry: .dns
        case .tlsAlert, .tlsHandshakeAborted, .tlsCertificateExpired, .tlsCertificateNotYetValid,
             .tlsCertificateExpiring, .tlsCertificateNameMismatch, .tlsCertificateSelfSigned,
             .tlsCertificateChainIncomplete, .tlsCertificateWeak: .tls
        case .http2GoAway, .http2StreamReset, .http2BadPreface, .httpErrorStatus, .grpcErrorStatus, .httpServerErrors,
             .httpClientErrors, .httpSlowResponses, .httpRedirectLoop, .httpConnectFailed: .http
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
    /// The endpoint the finding is about (the server that refuses, the host that keeps sockets
    /// half-closed, the receiver that stalls), as "10.0.0.2:443"; nil when it is about the capture.
    public var endpoint: String?
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
    /// The side that opened it (SYN), and the other.
    var clientEndpoint: Endpoint { self[clientSide].endpoint }
    var serverEndpoint: Endpoint { self[1 - clientSide].endpoint }
}

/// "1 conversation", "3 conversations".
extension Dictionary where Key == String {
    /// The key to group an endpoint's findings under (`detail` appended): its own while fewer than
    /// `Finding.endpointLimit` keys are kept (or when it is one of them), `Finding.otherEndpoints`
    /// after that.
    func bounded(_ endpoint: String, detail: String = "") -> String {
        let key = endpoint + detail
        return count < Finding.endpointLimit || self[key] != nil ? key : Finding.otherEndpoints + detail
    }
}

func plural(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}
