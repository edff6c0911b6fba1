import NetsiftDissect

/// The application protocols Netsift parses above TCP and UDP.
public enum ApplicationProtocol: String, Sendable, Codable, CaseIterable {
    case dns, tls, http2
    /// HTTP/1.x ("http", as Wireshark and Zeek name it).
    case http1 = "http"
}

/// The transport an application message came over.
public enum Transport: String, Sendable, Codable {
    case tcp, udp
}

/// "Decode As" rules, as Wireshark's `-d tcp.port==8443,http2`: a port whose traffic is parsed as
/// a protocol whatever its content looks like. `udp.port==N,vxlan` opens the datagrams on port N as
/// VXLAN (the dissector's `TunnelPorts`), beside 4789 and 8472.
public struct DecodeAs: Sendable, Equatable {
    public var tcpPorts: [UInt16: ApplicationProtocol] = [:]
    public var udpPorts: [UInt16: ApplicationProtocol] = [:]
    public var vxlanPorts: [UInt16] = []

    public init() {}

    /// Adds a rule written `tcp.port==N,PROTOCOL` (Wireshark's form) or `tcp.port==N:PROTOCOL`;
    /// `udp.port` likewise. nil when the rule is not of that form, names no protocol we parse, or
    /// asks for more VXLAN ports than `TunnelPorts.maximumExtraVXLANPorts`.
    public init?(rules: [String]) {
        for rule in rules {
            let parts = rule.split(whereSeparator: { $0 == "," || $0 == ":" })
            guard parts.count == 2 else { return nil }
            let selector = String(parts[0].filter { $0 != " " })
            if parts[1].lowercased() == "vxlan" {
                guard selector.hasPrefix("udp.port=="), let port = UInt16(selector.dropFirst("udp.port==".count)),
                      port != 0 else { return nil }
                if !vxlanPorts.contains(port) { vxlanPorts.append(port) }
                guard TunnelPorts(vxlan: vxlanPorts) != nil else { return nil }
                continue
            }
            guard let name = ApplicationProtocol(rawValue: parts[1].lowercased()) else { return nil }
            if selector.hasPrefix("tcp.port=="), let port = UInt16(selector.dropFirst("tcp.port==".count)) {
                tcpPorts[port] = name
            } else if selector.hasPrefix("udp.port=="), let port = UInt16(selector.dropFirst("udp.port==".count)) {
                udpPorts[port] = name
            } else {
                return nil
            }
        }
    }

    /// The UDP ports the dissector opens as tunnels, these rules' VXLAN ports included.
    public var tunnelPorts: TunnelPorts { TunnelPorts(vxlan: vxlanPorts) ?? TunnelPorts() }
}

/// Where and when an application message was seen: the frame that carried its last byte.
public struct ApplicationContext: Decodable, Sendable, Equatable {
    public var frame: Int
    public var time: Int64
    public var transport: Transport
    /// The conversation's number (`tcp.stream` for TCP).
    public var stream: Int
    public var source: Endpoint
    public var destination: Endpoint
    /// True when `source` is the side that opened the conversation (sent the SYN, or the query).
    public var fromClient: Bool
}

/// One application message, or what went wrong reading one, with where it was seen.
public struct ApplicationEvent: Decodable, Sendable {
    public var context: ApplicationContext
    public var message: ApplicationMessage
}

/// The messages the application parsers emit, one case per protocol.
public enum ApplicationMessage: Decodable, Sendable {
    /// Bytes were missing from a reassembled stream (never captured, or dropped at a limit).
    case streamGap(ApplicationProtocol)
    /// A DNS, mDNS or LLMNR message (a malformed one says so in its `problem`).
    case dns(DNSMessage)
    /// HTTP/2 says a gap itself (`HTTP2Problem.gap`, with what it stops).
    case http2(HTTP2Message)
    case tls(TLSMessage)
    case http1(HTTP1Message)
}

extension ApplicationMessage {
    /// The protocol's name, as Wireshark's filters spell it (`dns`, `tls`, `http2`).
    public var protocolName: String {
        switch self {
        case .streamGap(let proto): proto.rawValue
        case .dns: "dns"
        case .http2: "http2"
        case .tls: "tls"
        case .http1: "http"
        }
    }

    /// One line, as `netsift packets` prints it under the packet.
    public var summaryLine: String {
        switch self {
        case .streamGap(let proto): "\(proto.rawValue): bytes missing from the stream (not captured, or over a limit)"
        case .dns(let message): message.summaryLine
        case .http2(let message): message.summaryLine
        case .tls(let message): message.summaryLine
        case .http1(let message): message.summaryLine
        }
    }
}

/// A TCP conversation's application parsers: decided from the first payload (or a port), then fed
/// each direction's reassembled bytes. Conversations carrying nothing we parse are not reassembled.
enum ApplicationParsers: Sendable {
    case undecided
    /// Nothing we parse: no reassembly.
    case unparsed
    /// DNS over TCP: one length-prefixed message stream per direction.
    case dns(client: DNSStreamParser, server: DNSStreamParser)
    case http2(HTTP2Connection)
    /// TLS, one parser per TCP side (`client` is the side that opened the connection).
    case tls(client: TLSStreamParser, server: TLSStreamParser)
    case http1(HTTP1Connection)

    /// Still reading the conversation's bytes: deciding its protocol, or parsing it.
    var wantsBytes: Bool {
        switch self {
        case .unparsed: false
        case .dns(let client, let server): !(client.lostSync && server.lostSync)
        case .tls(let client, let server): !(client.isStopped && server.isStopped)
        case .http1(let connection): connection.wantsBytes
        case .undecided, .http2: true
        }
    }

    /// The protocol for a TCP conversation between `ports`, from a decode-as rule, a well-known
    /// port, or the first bytes either side sent.
    static func detect(ports: (UInt16, UInt16), firstBytes: RawSpan, decodeAs: DecodeAs) -> ApplicationProtocol? {
        if let rule = decodeAs.tcpPorts[ports.0] ?? decodeAs.tcpPorts[ports.1] { return rule }
        if DNSFlavor(sourcePort: ports.0, destinationPort: ports.1) != nil { return .dns }
        if HTTP2Connection.detect(firstBytes: firstBytes) { return .http2 }
        // An HTTP/1.x request or response on any port (an h2c upgrade request went to HTTP/2 above).
        if HTTP1Head.looksLikeHTTP1(firstBytes) { return .http1 }
        // TLS on any port, from its first record (or an SSLv2-format ClientHello), or after STARTTLS.
        if TLSStreamParser.looksLikeTLS(firstBytes) || STARTTLSPorts.contains(ports.0)
            || STARTTLSPorts.contains(ports.1) { return .tls }
        return nil
    }

    /// Parsers for `protocol` on a conversation between `ports`, ready for the first bytes.
    static func start(_ proto: ApplicationProtocol, ports: (UInt16, UInt16)) -> ApplicationParsers {
        switch proto {
        case .dns:
            let flavor = DNSFlavor(sourcePort: ports.0, destinationPort: ports.1) ?? .dns
            return .dns(client: DNSStreamParser(flavor: flavor), server: DNSStreamParser(flavor: flavor))
        case .tls:
            var client = TLSStreamParser(), server = TLSStreamParser()
            if STARTTLSPorts.contains(ports.0) || STARTTLSPorts.contains(ports.1) {
                client.awaitSTARTTLS()
                server.awaitSTARTTLS()
            }
            return .tls(client: client, server: server)
        case .http2: return .http2(HTTP2Connection())
        case .http1: return .http1(HTTP1Connection())
        }
    }

    /// Feeds one direction's next in-order bytes (nil: a gap) to the parsers.
    mutating func consume(_ bytes: RawSpan?, context: ApplicationContext, emit: (ApplicationEvent) -> Void) {
        // The parsers are moved out of `self` while they run (a swap, then a consuming switch), so
        // each is the only copy: binding `case .http2(var connection)` straight from `self` copied
        // it, retaining every buffer it holds, at every segment.
        var taken = ApplicationParsers.unparsed
        swap(&taken, &self)
        switch consume taken {
        case .undecided:
            self = .undecided
        case .unparsed:
            return
        case .dns(var client, var server):
            let wrap = { (message: DNSMessage) in emit(ApplicationEvent(context: context, message: .dns(message))) }
            if let bytes {
                if context.fromClient {
                    client.consume(bytes, frame: context.frame, time: context.time, emit: wrap)
                } else {
                    server.consume(bytes, frame: context.frame, time: context.time, emit: wrap)
                }
            } else {
                if context.fromClient { client.gap() } else { server.gap() }
                emit(ApplicationEvent(context: context, message: .streamGap(.dns)))
            }
            self = .dns(client: client, server: server)
        case .http2(var connection):
            let wrap = { (message: HTTP2Message) in emit(ApplicationEvent(context: context, message: .http2(message))) }
            if let bytes {
                connection.consume(fromClient: context.fromClient, bytes, frame: context.frame, time: context.time,
                                   emit: wrap)
            } else {
                connection.gap(fromClient: context.fromClient, frame: context.frame, time: context.time, emit: wrap)
            }
            self = .http2(connection)
        case .http1(var connection):
            if let bytes {
                connection.consume(fromClient: context.fromClient, bytes, frame: context.frame, time: context.time) {
                    emit(ApplicationEvent(context: context, message: .http1($0)))
                }
            } else {
                connection.gap(fromClient: context.fromClient)
                emit(ApplicationEvent(context: context, message: .streamGap(.http1)))
            }
            self = .http1(connection)
        case .tls(var client, var server):
            guard let bytes else {
                if context.fromClient { client.gap() } else { server.gap() }
                emit(ApplicationEvent(context: context, message: .streamGap(.tls)))
                self = .tls(client: client, server: server)
                return
            }
            // A ServerHello tells the other side whether TLS 1.3 was chosen (its ChangeCipherSpec
            // is then the compatibility dummy).
            if context.fromClient {
                client.consume(bytes, frame: context.frame, time: context.time) { message in
                    if case .serverHello(let hello) = message { server.peerSent(hello) }
                    emit(ApplicationEvent(context: context, message: .tls(message)))
                }
            } else {
                server.consume(bytes, frame: context.frame, time: context.time) { message in
                    if case .serverHello(let hello) = message { client.peerSent(hello) }
                    emit(ApplicationEvent(context: context, message: .tls(message)))
                }
            }
            self = .tls(client: client, server: server)
        }
    }
}

/// Ports whose protocols switch to TLS with a command (STARTTLS): FTP, SMTP, POP3, NNTP, IMAP, LDAP,
/// submission, MySQL, Sieve, XMPP client and server, PostgreSQL. TLS is looked for at the start
/// of each segment until it begins.
enum STARTTLSPorts {
    static func contains(_ port: UInt16) -> Bool {
        switch port {   // a switch, not an array literal: nothing allocated per segment
        case 21, 25, 110, 119, 143, 389, 587, 3306, 4190, 5222, 5269, 5432: true
        default: false
        }
    }
}
