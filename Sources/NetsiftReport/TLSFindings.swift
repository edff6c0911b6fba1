import NetsiftDissect
import NetsiftFlows

/// TLS handshake failures, per server: an alert in the handshake (its description mapped to the
/// likely cause), and handshakes that stopped after the ClientHello — the server closed, reset, or
/// said nothing — with no ServerHello.
struct TLSDetector {
    /// What one connection's handshake got to, until its conversation is over.
    struct Handshake {
        var server: Endpoint
        var client: Endpoint
        var clientHelloFrame: Int?
        var serverName: String?
        var serverHello = false
        var alert: (description: UInt8, fromClient: Bool, frame: Int)?
    }
    var handshakes: [Int: Handshake] = [:]
    struct Group {
        var count = 0
        var flows: [FlowReference] = []
        var frames: [Int] = []
        var peers: [String] = []
        var names: Set<String> = []
        /// How the handshakes failed ("40\tserver": the alert and its sender; "reset": the
        /// ending), counted; a few kinds at most, bounded all the same.
        var details: [String: Int] = [:]

        mutating func add(stream: Int, frame: Int, peer: Endpoint, serverName: String?, detail: String) {
            count += 1
            if details.count < 50 || details[detail] != nil { details[detail, default: 0] += 1 }
            if flows.count < Finding.listLimit { flows.append(FlowReference(transport: "tcp", stream: stream)) }
            if frames.count < Finding.listLimit { frames.append(frame) }
            peers.addPeer(peer)
            if let serverName, names.count < 10 { names.insert(serverName) }
        }

        /// The details, most frequent first.
        var rankedDetails: [(key: String, value: Int)] {
            details.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        }
    }
    /// Keyed by server endpoint; the alerts (description and sender) counted in each.
    var alerts: [String: Group] = [:]
    /// Keyed by server endpoint; how the handshakes ended counted in each.
    var aborted: [String: Group] = [:]
    /// Every handshake's outcome, per server (`Outcomes`).
    var servers: [String: Outcomes.TLSServer] = [:]

    mutating func add(_ message: TLSMessage, context: ApplicationContext) {
        let stream = context.stream
        if handshakes[stream] == nil {
            let server = context.fromClient ? context.destination : context.source
            let client = context.fromClient ? context.source : context.destination
            handshakes[stream] = Handshake(server: server, client: client)
        }
        switch message {
        case .clientHello(let hello):
            if handshakes[stream]!.clientHelloFrame == nil {
                handshakes[stream]!.clientHelloFrame = context.frame
                handshakes[stream]!.serverName = hello.serverName
            }
        case .serverHello:
            handshakes[stream]!.serverHello = true
        case .alert(let alert):
            // Only alerts in the clear: those sent during the handshake (an encrypted one is
            // usually close_notify, and cannot be read anyway).
            if let description = alert.description, !alert.encrypted, handshakes[stream]!.alert == nil {
                handshakes[stream]!.alert = (description, context.fromClient, context.frame)
            }
        default:
            break
        }
    }

    /// The conversation is over: decide what its handshake came to.
    mutating func finished(_ c: TCPConversation) {
        guard let h = handshakes.removeValue(forKey: c.stream), let helloFrame = h.clientHelloFrame else { return }
        let server = "\(h.server)"
        let key = servers.bounded(server)
        servers[key, default: Outcomes.TLSServer(server: key)].handshakes += 1
        if let alert = h.alert {
            servers[key]!.alerts[Outcomes.TLSAlert(description: alert.description, fromClient: alert.fromClient), default: 0] += 1
            alerts[alerts.bounded(server), default: Group()].add(
                stream: c.stream, frame: alert.frame, peer: h.client, serverName: h.serverName,
                detail: "\(alert.description)\t\(alert.fromClient ? "client" : "server")")
            return
        }
        guard !h.serverHello else {
            servers[key]!.completed += 1
            return
        }
        let serverSide = c[c.side(of: h.server)]
        let ending = serverSide.sentRST ? "reset" : serverSide.sentFIN ? "closed" : "silent"
        servers[key]!.aborted[ending, default: 0] += 1
        aborted[aborted.bounded(server), default: Group()].add(
            stream: c.stream, frame: helloFrame, peer: h.client, serverName: h.serverName, detail: ending)
    }

    func findings() -> [Finding] {
        var out: [Finding] = []
        for (server, g) in alerts {
            // The most frequent alert speaks for the finding; the others are listed.
            let ranked = g.rankedDetails
            let parts = ranked[0].key.split(separator: "\t").map(String.init)
            let code = UInt8(parts[0]) ?? 0, sender = parts[1]
            let name = TLSNames.alertDescription(code)
            let names = g.names.sorted().joined(separator: ", ")
            let all = ranked.map { detail in
                let parts = detail.key.split(separator: "\t")
                return "\(TLSNames.alertDescription(UInt8(parts[0]) ?? 0)) (\(parts[0])) from \(parts[1]) ×\(grouped(detail.value))"
            }.joined(separator: ", ")
            out.append(Finding(
                kind: .tlsAlert, severity: .error, endpoint: server, peers: g.peers, count: g.count,
                countUnit: "handshakes", flows: g.flows, frames: g.frames,
                facts: ["alert": .string(name), "alert_code": .int(Int(code)), "sent_by": .string(sender),
                        "alerts": .string(all)]
                    .merging(names.isEmpty ? [:] : ["server_names": .string(names)]) { a, _ in a },
                summary: ranked.count == 1
                    ? "TLS handshakes with \(server) failed: the \(sender) sent alert \(name) (\(code)) in \(plural(g.count, "handshake"))\(names.isEmpty ? "" : " (SNI \(names))")."
                    : "\(plural(g.count, "TLS handshake")) with \(server) failed with alerts: \(all)\(names.isEmpty ? "" : " (SNI \(names))").",
                explanation: "A fatal alert during the handshake means the two sides could not agree on how to talk securely; no application data was exchanged.",
                likelyCause: Self.cause(of: code),
                nextStep: "Compare what the client offers with what the server accepts: `openssl s_client -connect \(server)\(g.names.first.map { " -servername \($0)" } ?? "") -tls1_2` (and -tls1_3), `netsift packets --json` on the ClientHello frame, and the server's TLS configuration and logs."))
        }
        for (server, g) in aborted {
            let ranked = g.rankedDetails
            let ending = ranked[0].key
            let how = ending == "reset" ? "reset the connection" : ending == "closed" ? "closed the connection" : "never answered"
            out.append(Finding(
                kind: .tlsHandshakeAborted, severity: .error, endpoint: server, peers: g.peers, count: g.count,
                countUnit: "handshakes", flows: g.flows, frames: g.frames,
                facts: ["ending": .string(ending),
                        "endings": .string(ranked.map { "\($0.key) ×\(grouped($0.value))" }.joined(separator: ", "))]
                    .merging(g.names.isEmpty ? [:] : ["server_names": .string(g.names.sorted().joined(separator: ", "))]) { a, _ in a },
                summary: "\(server) \(how) after the ClientHello in \(plural(g.count, "TLS handshake")), with no ServerHello.",
                explanation: "The server received the client's offer and gave up without a TLS alert, so the client is left with a bare connection error.",
                likelyCause: ending == "silent"
                    ? "The server does not speak TLS on that port, or a middlebox swallows the ClientHello (DPI firewall, an SNI filter)."
                    : "A server or middlebox rejecting the ClientHello without saying why: an SNI or IP filter, a TLS-terminating proxy with no matching certificate, a plain-text service on a TLS port, or a crash while parsing it.",
                nextStep: "Try `openssl s_client -connect \(server)\(g.names.first.map { " -servername \($0)" } ?? "")`, check the server's error log, and look for firewalls or proxies that inspect SNI."))
        }
        return out
    }

    /// Likely causes of the handshake alerts, by description (RFC 8446 §6.2).
    static func cause(of code: UInt8) -> String {
        switch code {
        case 40: "handshake_failure: no cipher suite, version or group both sides accept (a client too old or too new for the server's policy)."
        case 70: "protocol_version: the client's TLS versions are all refused by the server (e.g. TLS 1.0/1.1 disabled)."
        case 112: "unrecognized_name: the server has no certificate or virtual host for the SNI the client sent — a wrong host name, or SNI missing."
        case 42, 43, 44, 45, 46, 48:
            "Certificate chain: the peer rejected the certificate (unknown CA, expired, revoked, wrong host, or an incomplete chain missing intermediates)."
        case 49: "access_denied: the server refused the client (client certificate or policy)."
        case 116: "certificate_required: the server wants a client certificate (mutual TLS) and got none."
        case 120: "no_application_protocol: no ALPN protocol in common (e.g. the client insists on h2, the server offers only http/1.1)."
        case 47: "illegal_parameter: a malformed or inconsistent handshake message (a buggy client or a middlebox rewriting it)."
        case 50, 51: "decode_error / decrypt_error: a message could not be parsed or verified (middlebox tampering, key mismatch, bugs)."
        case 71: "insufficient_security: the server requires stronger ciphers than the client offers."
        case 80: "internal_error: the peer failed for reasons unrelated to the protocol (check its logs)."
        case 86: "inappropriate_fallback: a client version fallback was detected (retrying with an older version after a failure)."
        default: "Alert \(TLSNames.alertDescription(code)): see RFC 8446 §6.2."
        }
    }
}
