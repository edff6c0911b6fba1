import NetsiftDissect
import NetsiftFlows

/// TCP handshake failures, per server endpoint: SYNs nobody answered (dropped on the way: a
/// firewall or security group), SYNs answered by a reset (nothing listening), and SYN/ACKs the
/// client never acknowledged.
struct HandshakeDetector {
    var unanswered: [String: EndpointGroup] = [:]
    var refused: [String: EndpointGroup] = [:]
    var synAckUnacknowledged: [String: EndpointGroup] = [:]
    /// Unanswered attempts where the server sent something, just never a SYN/ACK (a bare ACK, its
    /// own SYN in a split handshake).
    var strangeAnswers: [String: Int] = [:]
    /// The last server formatted, and how: a flood fails a million times against one server.
    var lastServer: (endpoint: Endpoint, text: String)?

    mutating func add(_ c: TCPConversation) {
        guard let clientSide = c.client else { return }
        let client = c[clientSide], server = c[1 - clientSide]
        if !server.sentSYNACK && !server.sentRST {
            let key = unanswered.bounded(text(server.endpoint))
            unanswered[key, default: EndpointGroup()].add(c.reference, peer: client.endpoint, frame: c.firstFrame,
                                                          value: client.synCount)
            if server.packets > 0 { strangeAnswers[key, default: 0] += 1 }
        } else if server.sentRST && !server.sentSYNACK {
            let key = refused.bounded(text(server.endpoint))
            refused[key, default: EndpointGroup()].add(c.reference, peer: client.endpoint, frame: c.firstFrame, value: 1)
        } else if server.sentSYNACK && !c.handshakeCompleted && !client.sentRST && !server.sentRST
                    && client.dataSegments == 0 {
            let key = synAckUnacknowledged.bounded(text(server.endpoint))
            synAckUnacknowledged[key, default: EndpointGroup()].add(c.reference, peer: client.endpoint, frame: c.firstFrame,
                                                                    value: server.synCount)
        }
    }

    /// A server as findings write it, formatted only for a conversation that fails.
    mutating func text(_ endpoint: Endpoint) -> String {
        if let lastServer, lastServer.endpoint == endpoint { return lastServer.text }
        let text = "\(endpoint)"
        lastServer = (endpoint, text)
        return text
    }

    func findings() -> [Finding] {
        var out: [Finding] = []
        for (server, g) in unanswered {
            let strange = strangeAnswers[server] ?? 0
            out.append(Finding(
                kind: .synUnanswered, severity: .error, endpoint: server, peers: g.peers, count: g.count,
                countUnit: "connection attempts", flows: g.flows, frames: g.frames,
                facts: ["syns_sent": .int(g.total), "most_syns_in_one_attempt": .int(g.largest),
                        "attempts_with_other_answers": .int(strange)],
                summary: "SYNs to \(server) were never answered: \(plural(g.count, "connection attempt")), \(plural(g.total, "SYN")) sent in all (retries included).",
                explanation: strange == 0 ? "The clients tried to connect and heard nothing back — no SYN/ACK, no reset."
                    : "No SYN/ACK came back; in \(plural(strange, "attempt")) the server sent other segments instead (a bare ACK, or its own SYN: a split handshake).",
                likelyCause: "A firewall, security group or network ACL silently dropping tcp/\(port(server)), or a host that is down or unreachable on the return path.",
                nextStep: "Check the firewall / security group rules for tcp/\(port(server)) towards \(host(server)); capture on the server side to see whether the SYNs arrive."))
        }
        for (server, g) in refused {
            out.append(Finding(
                kind: .connectionRefused, severity: .error, endpoint: server, peers: g.peers, count: g.count,
                countUnit: "connection attempts", flows: g.flows, frames: g.frames,
                summary: "\(server) refused \(plural(g.count, "connection attempt")): its SYNs were answered with a reset.",
                explanation: "The host is up and reachable, but nothing accepted the connection on that port.",
                likelyCause: "No service listening on port \(port(server)) (not started, crashed, bound to another address), or a firewall that rejects with a reset.",
                nextStep: "On \(host(server)), check `ss -ltnp 'sport = :\(port(server))'` and the service's logs; check REJECT rules."))
        }
        for (server, g) in synAckUnacknowledged {
            out.append(Finding(
                kind: .synAckUnacknowledged, severity: .warning, endpoint: server, peers: g.peers, count: g.count,
                countUnit: "connection attempts", flows: g.flows, frames: g.frames,
                facts: ["synacks_sent": .int(g.total)],
                summary: "\(server) answered \(plural(g.count, "SYN")) with a SYN/ACK that the client never acknowledged.",
                explanation: "The handshake stopped at its third step: the client did not complete it.",
                likelyCause: "The SYN/ACKs are lost on the way back (asymmetric routing, a stateful firewall in one direction), or the SYNs were spoofed (a SYN flood).",
                nextStep: "Capture on the client side to see whether the SYN/ACKs arrive; check return routes and stateful firewalls between them."))
        }
        return out
    }
}

/// An endpoint as findings write it, split: "10.0.0.2:443" and "[2001:db8::1]:443" have a port;
/// "10.0.0.2" and "2001:db8::1" (unbracketed, a second colon makes it an IPv6 address) do not.
func splitEndpoint(_ endpoint: String) -> (host: Substring, port: Substring?) {
    if endpoint.hasPrefix("["), let close = endpoint.firstIndex(of: "]") {
        let afterClose = endpoint.index(after: close)
        let port = endpoint[afterClose...].first == ":" ? endpoint[endpoint.index(after: afterClose)...] : nil
        return (endpoint[endpoint.index(after: endpoint.startIndex)..<close], port)
    }
    guard let colon = endpoint.firstIndex(of: ":"), colon == endpoint.lastIndex(of: ":") else { return (endpoint[...], nil) }
    return (endpoint[..<colon], endpoint[endpoint.index(after: colon)...])
}

/// "10.0.0.2" of "10.0.0.2:443"; "2001:db8::1" of "[2001:db8::1]:443" and of "2001:db8::1" alone.
func host(_ endpoint: String) -> String { String(splitEndpoint(endpoint).host) }

/// "443" of "10.0.0.2:443" or "[2001:db8::1]:443"; the endpoint itself when it has no port.
func port(_ endpoint: String) -> String { splitEndpoint(endpoint).port.map(String.init) ?? endpoint }
