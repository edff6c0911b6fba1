import NetsiftDissect
import NetsiftFlows

// The fields a display filter can name: Wireshark's names over what Netsift decodes, each with its
// type and how to read its values from a packet and/or from a conversation. docs/display-filter.md
// lists them; keep the two in step.

/// What a field holds: which literals it is compared with, which operators it allows.
enum FieldType: String, Sendable {
    /// A protocol, or a flag without a value (Wireshark's FT_PROTOCOL, FT_NONE): existence only.
    case protocolName = "protocol"
    case label = "flag without a value"
    case boolean = "boolean"
    case unsigned = "unsigned integer"
    case ipv4 = "IPv4 address"
    case ipv6 = "IPv6 address"
    case ethernet = "Ethernet address"
    case string = "string"
    case bytes = "byte string"
    /// Nanoseconds; literals are seconds with a fraction.
    case time = "time in seconds"

    /// "an unsigned integer", "a string": for error messages.
    var withArticle: String { ("aeiouAEIOU".contains(rawValue.first!) ? "an " : "a ") + rawValue }
}

/// One value of a field. Integers, booleans (0/1), Ethernet addresses and times are `integer`;
/// `bytes` is a range of the packet's bytes, read only while the packet is at hand.
enum FieldValue: Sendable {
    case integer(Int64)
    case address(IPAddress)
    case text(String)
    case bytes(Range<Int>)
}

/// Calls `visit` with each value of a field in a packet until it returns false.
typealias PacketValues = @Sendable (borrowing PacketSummary, RawSpan, PacketDetails, (FieldValue) -> Bool) -> Void
/// The same over a conversation.
typealias ConversationValues = @Sendable (FlowSummary, (FieldValue) -> Bool) -> Void

struct DisplayFilterField: Sendable {
    let name: String
    let type: FieldType
    var packet: PacketValues?
    var conversation: ConversationValues?
}

enum DisplayFilterFields {
    static let byName: [String: DisplayFilterField] = {
        var table = FieldTable()
        table.addFrameAndLink()
        table.addIP()
        table.addTransport()
        table.addDNS()
        table.addTLSAndHTTP2()
        table.addTunnels()
        table.addConversation()
        table.addTunnelConversation()
        return table.fields
    }()
}

/// Builds the table: one method per layer, with helpers for the common shapes of field.
private struct FieldTable {
    var fields: [String: DisplayFilterField] = [:]

    mutating func packet(_ name: String, _ type: FieldType, _ values: @escaping PacketValues) {
        fields[name, default: DisplayFilterField(name: name, type: type)].packet = values
    }

    mutating func conversation(_ name: String, _ type: FieldType, _ values: @escaping ConversationValues) {
        fields[name, default: DisplayFilterField(name: name, type: type)].conversation = values
    }

    /// A protocol or flag present when `test` holds.
    mutating func present(_ name: String, _ type: FieldType = .protocolName,
                          _ test: @escaping @Sendable (borrowing PacketSummary, PacketDetails) -> Bool) {
        packet(name, type) { s, _, d, visit in if test(s, d) { _ = visit(.integer(1)) } }
    }

    /// A number with at most one value, read from the summary.
    mutating func number(_ name: String, _ type: FieldType = .unsigned,
                         _ value: @escaping @Sendable (borrowing PacketSummary) -> Int64?) {
        packet(name, type) { s, _, _, visit in if let v = value(s) { _ = visit(.integer(v)) } }
    }

    /// A field of the application messages the packet completed: `values` visits one message's
    /// values and returns false to stop.
    mutating func message(_ name: String, _ type: FieldType,
                          _ values: @escaping @Sendable (ApplicationMessage, (FieldValue) -> Bool) -> Bool) {
        packet(name, type) { _, _, d, visit in
            for event in d.messages where !values(event.message, visit) { return }
        }
    }

    mutating func dns(_ name: String, _ type: FieldType,
                      _ values: @escaping @Sendable (DNSMessage, (FieldValue) -> Bool) -> Bool) {
        message(name, type) { message, visit in
            guard case .dns(let dns) = message else { return true }
            return values(dns, visit)
        }
    }

    mutating func dnsNumber(_ name: String, _ type: FieldType = .unsigned, _ value: @escaping @Sendable (DNSMessage) -> Int64?) {
        dns(name, type) { message, visit in value(message).map { visit(.integer($0)) } ?? true }
    }

    mutating func tls(_ name: String, _ type: FieldType,
                      _ values: @escaping @Sendable (TLSMessage, (FieldValue) -> Bool) -> Bool) {
        message(name, type) { message, visit in
            guard case .tls(let tls) = message else { return true }
            return values(tls, visit)
        }
    }

    mutating func http2Frame(_ name: String, _ type: FieldType,
                             _ values: @escaping @Sendable (HTTP2FrameRecord, (FieldValue) -> Bool) -> Bool) {
        message(name, type) { message, visit in
            guard case .http2(let http2) = message, case .frame(let record) = http2.event else { return true }
            return values(record, visit)
        }
    }

    /// An HTTP/2 header field's values, from the header blocks the packet completed.
    mutating func http2Header(_ name: String, header: String, _ type: FieldType = .string) {
        http2Frame(name, type) { record, visit in
            guard let block = record.headerBlock else { return true }
            for field in (header.hasPrefix(":") ? block.pseudoHeaders : block.headers) where field.name == header {
                if type == .unsigned {
                    guard let number = Int64(field.value) else { continue }
                    if !visit(.integer(number)) { return false }
                } else if !visit(.text(field.value)) {
                    return false
                }
            }
            return true
        }
    }

    // MARK: Frame, Ethernet, VLAN

    mutating func addFrameAndLink() {
        present("frame") { _, _ in true }
        packet("frame.number", .unsigned) { _, _, d, visit in _ = visit(.integer(Int64(d.frame))) }
        packet("frame.len", .unsigned) { _, _, d, visit in _ = visit(.integer(Int64(d.wireLength))) }
        packet("frame.cap_len", .unsigned) { _, _, d, visit in _ = visit(.integer(Int64(d.capturedLength))) }
        packet("frame.time_epoch", .time) { _, _, d, visit in _ = visit(.integer(d.time)) }

        present("eth") { s, _ in s.layers.contains(.ethernet) }
        number("eth.src", .ethernet) { s in s.layers.contains(.ethernet) ? Int64(s.sourceMAC) : nil }
        number("eth.dst", .ethernet) { s in s.layers.contains(.ethernet) ? Int64(s.destinationMAC) : nil }
        packet("eth.addr", .ethernet) { s, _, _, visit in
            guard s.layers.contains(.ethernet), visit(.integer(Int64(s.sourceMAC))) else { return }
            _ = visit(.integer(Int64(s.destinationMAC)))
        }
        // The type right after the addresses: a VLAN tag's TPID when the frame is tagged.
        number("eth.type") { s in
            guard s.layers.contains(.ethernet), !s.layers.contains(.llc) else { return nil }
            return Int64(s.vlanCount > 0 ? s.outerVLAN.tpid : s.etherType)
        }
        present("sll") { s, _ in s.layers.contains(.linuxSLL) || s.layers.contains(.linuxSLL2) }
        present("arp") { s, _ in s.layers.contains(.arp) }

        present("vlan") { s, _ in s.vlanCount > 0 }
        // Netsift keeps the outermost and innermost tags: a third tag's values are not seen.
        func tags(_ name: String, _ type: FieldType = .unsigned, _ value: @escaping @Sendable (VLANTag) -> Int64) {
            packet(name, type) { s, _, _, visit in
                guard s.vlanCount > 0, visit(.integer(value(s.outerVLAN))), s.vlanCount > 1 else { return }
                _ = visit(.integer(value(s.innerVLAN)))
            }
        }
        tags("vlan.id") { Int64($0.id) }
        tags("vlan.priority") { Int64($0.priority) }
        tags("vlan.dei", .boolean) { $0.dropEligible ? 1 : 0 }
        packet("vlan.etype", .unsigned) { s, _, _, visit in
            guard s.vlanCount > 0 else { return }
            if s.vlanCount == 2, !visit(.integer(Int64(s.innerVLAN.tpid))) { return }
            _ = visit(.integer(Int64(s.etherType)))
        }
    }

    // MARK: IPv4, IPv6

    mutating func addIP() {
        // Addresses and protocol include the header an ICMP error quotes, as Wireshark's do.
        // And, as Wireshark's match every IP layer of a tunneled packet, the innermost tunnel's outer
        // header (the endpoints of a nested tunnel's middle levels are not kept).
        func addresses(_ name: String, _ type: FieldType, outer: LayerSet, embedded: LayerSet,
                       source: Bool, destination: Bool) {
            packet(name, type) { s, _, _, visit in
                if let e = s.encapsulation, e.outerSource != .zero || e.outerDestination != .zero,
                   e.outerSource.isIPv4 == (type == .ipv4) {
                    if source, !visit(.address(e.outerSource)) { return }
                    if destination, !visit(.address(e.outerDestination)) { return }
                }
                if s.layers.contains(outer) {
                    if source, !visit(.address(s.source)) { return }
                    if destination, !visit(.address(s.destination)) { return }
                }
                if s.layers.contains(embedded), let quoted = s.embedded {
                    if source, !visit(.address(quoted.source)) { return }
                    if destination { _ = visit(.address(quoted.destination)) }
                }
            }
        }
        present("ip") { s, _ in
            s.layers.contains(.ipv4) || s.layers.contains(.embeddedIPv4) || s.encapsulation?.outerLayers.contains(.ipv4) == true
        }
        addresses("ip.src", .ipv4, outer: .ipv4, embedded: .embeddedIPv4, source: true, destination: false)
        addresses("ip.dst", .ipv4, outer: .ipv4, embedded: .embeddedIPv4, source: false, destination: true)
        addresses("ip.addr", .ipv4, outer: .ipv4, embedded: .embeddedIPv4, source: true, destination: true)
        func ipv4(_ name: String, _ type: FieldType = .unsigned, _ value: @escaping @Sendable (borrowing PacketSummary) -> Int64) {
            number(name, type) { s in s.layers.contains(.ipv4) ? value(s) : nil }
        }
        ipv4("ip.version") { _ in 4 }
        ipv4("ip.hdr_len") { s in Int64(s.ipHeader.count) }
        ipv4("ip.dsfield.dscp") { s in Int64(s.dscp) }
        ipv4("ip.dsfield.ecn") { s in Int64(s.ecn) }
        ipv4("ip.len") { s in Int64(s.ipLength) }
        ipv4("ip.id") { s in Int64(s.ipIdentification) }
        ipv4("ip.flags.df", .boolean) { s in s.dontFragment ? 1 : 0 }
        ipv4("ip.flags.mf", .boolean) { s in s.moreFragments ? 1 : 0 }
        ipv4("ip.frag_offset") { s in Int64(s.fragmentOffset) }
        ipv4("ip.ttl") { s in Int64(s.ttl) }
        packet("ip.proto", .unsigned) { s, _, _, visit in
            if s.layers.contains(.ipv4), !visit(.integer(Int64(s.ipProtocol))) { return }
            if s.layers.contains(.embeddedIPv4), let quoted = s.embedded { _ = visit(.integer(Int64(quoted.ipProtocol))) }
        }

        present("ipv6") { s, _ in
            s.layers.contains(.ipv6) || s.layers.contains(.embeddedIPv6) || s.encapsulation?.outerLayers.contains(.ipv6) == true
        }
        addresses("ipv6.src", .ipv6, outer: .ipv6, embedded: .embeddedIPv6, source: true, destination: false)
        addresses("ipv6.dst", .ipv6, outer: .ipv6, embedded: .embeddedIPv6, source: false, destination: true)
        addresses("ipv6.addr", .ipv6, outer: .ipv6, embedded: .embeddedIPv6, source: true, destination: true)
        func ipv6(_ name: String, _ value: @escaping @Sendable (borrowing PacketSummary) -> Int64) {
            number(name) { s in s.layers.contains(.ipv6) ? value(s) : nil }
        }
        ipv6("ipv6.plen") { s in Int64(s.ipLength - 40) }
        ipv6("ipv6.hlim") { s in Int64(s.ttl) }
        ipv6("ipv6.tclass.dscp") { s in Int64(s.dscp) }
        // The fixed header's Next Header: the transport's protocol unless extension headers come
        // first, then read from the header itself (not kept for a reassembled datagram).
        packet("ipv6.nxt", .unsigned) { s, bytes, _, visit in
            guard s.layers.contains(.ipv6) else { return }
            if !s.layers.contains(.ipOptions) && !s.layers.contains(.fragment) {
                _ = visit(.integer(Int64(s.ipProtocol)))
            } else if !s.layers.contains(.reassembled), s.ipHeader.lowerBound + 6 < bytes.byteCount {
                _ = visit(.integer(Int64(bytes.unsafeLoad(fromByteOffset: s.ipHeader.lowerBound + 6, as: UInt8.self))))
            }
        }
    }

    // MARK: TCP, UDP, ICMP

    mutating func addTransport() {
        // UDP ports include those of the datagram carrying a VXLAN, Geneve or GTP-U tunnel.
        func ports(_ name: String, outer: LayerSet, embedded: LayerSet, source: Bool, destination: Bool) {
            packet(name, .unsigned) { s, _, _, visit in
                if outer == .udp, let e = s.encapsulation, e.outerSourcePort != 0 || e.outerDestinationPort != 0 {
                    if source, !visit(.integer(Int64(e.outerSourcePort))) { return }
                    if destination, !visit(.integer(Int64(e.outerDestinationPort))) { return }
                }
                if s.layers.contains(outer) {
                    if source, !visit(.integer(Int64(s.sourcePort))) { return }
                    if destination, !visit(.integer(Int64(s.destinationPort))) { return }
                }
                if s.layers.contains(embedded), let quoted = s.embedded {
                    if source, !visit(.integer(Int64(quoted.sourcePort))) { return }
                    if destination { _ = visit(.integer(Int64(quoted.destinationPort))) }
                }
            }
        }
        for (proto, outer, embedded) in [("tcp", LayerSet.tcp, LayerSet.embeddedTCP), ("udp", .udp, .embeddedUDP)] {
            present(proto) { s, _ in
                s.layers.contains(outer) || s.layers.contains(embedded) || s.encapsulation?.outerLayers.contains(outer) == true
            }
            ports("\(proto).srcport", outer: outer, embedded: embedded, source: true, destination: false)
            ports("\(proto).dstport", outer: outer, embedded: embedded, source: false, destination: true)
            ports("\(proto).port", outer: outer, embedded: embedded, source: true, destination: true)
            let transport: Transport = proto == "tcp" ? .tcp : .udp
            packet("\(proto).stream", .unsigned) { _, _, d, visit in
                if let c = d.conversation, c.transport == transport { _ = visit(.integer(Int64(c.stream))) }
            }
            packet("\(proto).payload", .bytes) { s, _, _, visit in
                if s.layers.contains(outer), !s.payload.isEmpty { _ = visit(.bytes(s.payload)) }
            }
        }
        func tcp(_ name: String, _ type: FieldType = .unsigned, _ value: @escaping @Sendable (borrowing PacketSummary) -> Int64?) {
            number(name, type) { s in s.layers.contains(.tcp) ? value(s) : nil }
        }
        tcp("tcp.len") { s in Int64(s.payloadWireLength) }
        tcp("tcp.seq_raw") { s in Int64(s.sequenceNumber) }
        tcp("tcp.ack_raw") { s in Int64(s.acknowledgmentNumber) }
        tcp("tcp.hdr_len") { s in Int64(s.transportHeader.count) }
        tcp("tcp.flags") { s in Int64(s.tcpFlags.rawValue) }
        let flags: [(String, TCPFlags)] = [
            ("fin", .fin), ("syn", .syn), ("reset", .rst), ("push", .psh), ("ack", .ack), ("urg", .urg),
            ("ece", .ece), ("cwr", .cwr), ("ns", .ae), ("ae", .ae),
        ]
        for (name, flag) in flags {
            tcp("tcp.flags.\(name)", .boolean) { s in s.tcpFlags.contains(flag) ? 1 : 0 }
        }
        tcp("tcp.window_size_value") { s in Int64(s.windowSize) }
        tcp("tcp.urgent_pointer") { s in Int64(s.urgentPointer) }
        tcp("tcp.options.mss_val") { s in s.tcpOptions.mss.map(Int64.init) }
        tcp("tcp.options.wscale.shift") { s in s.tcpOptions.windowScale.map(Int64.init) }
        tcp("tcp.options.sack_perm", .label) { s in s.tcpOptions.sackPermitted ? 1 : nil }
        tcp("tcp.options.timestamp.tsval") { s in s.tcpOptions.timestampValue.map(Int64.init) }
        tcp("tcp.options.timestamp.tsecr") { s in s.tcpOptions.timestampEcho.map(Int64.init) }
        present("tcp.analysis.flags", .label) { _, d in !(d.conversation?.flags.isEmpty ?? true) }
        for (flag, name) in TCPAnalysisFlags.names {
            present("tcp.analysis.\(name)", .label) { _, d in d.conversation?.flags.contains(flag) ?? false }
        }
        packet("tcp.analysis.ack_rtt", .time) { _, _, d, visit in
            if let rtt = d.conversation?.ackRTT, rtt > 0 { _ = visit(.integer(rtt)) }
        }
        packet("tcp.analysis.bytes_in_flight", .unsigned) { _, _, d, visit in
            if let inFlight = d.conversation?.bytesInFlight { _ = visit(.integer(Int64(inFlight))) }
        }
        number("udp.length") { s in s.layers.contains(.udp) ? Int64(s.udpLength) : nil }

        for (proto, layer) in [("icmp", LayerSet.icmp), ("icmpv6", .icmpv6)] {
            present(proto) { s, _ in s.layers.contains(layer) }
            number("\(proto).type") { s in s.layers.contains(layer) ? Int64(s.icmpType) : nil }
            number("\(proto).code") { s in s.layers.contains(layer) ? Int64(s.icmpCode) : nil }
            number("\(proto).mtu") { s in s.layers.contains(layer) ? s.icmpMTU.map(Int64.init) : nil }
        }
    }

    // MARK: DNS

    mutating func addDNS() {
        // Wireshark names mDNS and LLMNR as protocols of their own, with the dns.* fields.
        for (proto, flavor) in [("dns", DNSFlavor.dns), ("mdns", .mdns), ("llmnr", .llmnr)] {
            present(proto) { _, d in
                d.messages.contains { if case .dns(let m) = $0.message { m.flavor == flavor } else { false } }
            }
        }
        dnsNumber("dns.id") { Int64($0.header.id) }
        dnsNumber("dns.flags.response", .boolean) { $0.header.isResponse ? 1 : 0 }
        dnsNumber("dns.flags.opcode") { Int64($0.header.opcode) }
        dnsNumber("dns.flags.truncated", .boolean) { $0.header.truncated ? 1 : 0 }
        dnsNumber("dns.flags.recdesired", .boolean) { $0.header.recursionDesired ? 1 : 0 }
        dnsNumber("dns.flags.checkdisable", .boolean) { $0.header.checkingDisabled ? 1 : 0 }
        // Shown by Wireshark in responses only.
        dnsNumber("dns.flags.authoritative", .boolean) { $0.header.isResponse ? ($0.header.authoritative ? 1 : 0) : nil }
        dnsNumber("dns.flags.recavail", .boolean) { $0.header.isResponse ? ($0.header.recursionAvailable ? 1 : 0) : nil }
        dnsNumber("dns.flags.authenticated", .boolean) { $0.header.isResponse ? ($0.header.authenticData ? 1 : 0) : nil }
        dnsNumber("dns.flags.rcode") { $0.header.isResponse ? Int64($0.header.rcode) : nil }
        dnsNumber("dns.count.queries") { Int64($0.header.questionCount) }
        dnsNumber("dns.count.answers") { Int64($0.header.answerCount) }
        dnsNumber("dns.count.auth_rr") { Int64($0.header.authorityCount) }
        dnsNumber("dns.count.add_rr") { Int64($0.header.additionalCount) }

        dns("dns.qry.name", .string) { m, visit in m.questions.allSatisfy { visit(.text(Self.text($0.name))) } }
        dns("dns.qry.type", .unsigned) { m, visit in m.questions.allSatisfy { visit(.integer(Int64($0.type))) } }
        dns("dns.qry.class", .unsigned) { m, visit in m.questions.allSatisfy { visit(.integer(Int64($0.qclass))) } }
        func records(_ name: String, _ type: FieldType, _ value: @escaping @Sendable (DNSResourceRecord) -> FieldValue?) {
            dns(name, type) { m, visit in
                for section in [m.answers, m.authorities, m.additionals] {
                    for record in section { if let v = value(record), !visit(v) { return false } }
                }
                return true
            }
        }
        records("dns.resp.name", .string) { .text(Self.text($0.name)) }
        records("dns.resp.type", .unsigned) { .integer(Int64($0.type)) }
        records("dns.resp.ttl", .unsigned) { $0.type == DNSType.opt ? nil : .integer(Int64($0.ttl)) }
        records("dns.a", .ipv4) { if case .a(let a) = $0.data { .address(a) } else { nil } }
        records("dns.aaaa", .ipv6) { if case .aaaa(let a) = $0.data { .address(a) } else { nil } }
        records("dns.cname", .string) { if case .cname(let n) = $0.data { .text(Self.text(n)) } else { nil } }
        records("dns.ns", .string) { if case .ns(let n) = $0.data { .text(Self.text(n)) } else { nil } }
        records("dns.ptr.domain_name", .string) { if case .ptr(let n) = $0.data { .text(Self.text(n)) } else { nil } }
        records("dns.mx.mail_exchange", .string) { if case .mx(_, let n) = $0.data { .text(Self.text(n)) } else { nil } }
    }

    /// A name as Wireshark writes it: the root is `<Root>`.
    static func text(_ name: DNSName) -> String { name.isRoot ? "<Root>" : name.text }

    // MARK: TLS, HTTP/2

    mutating func addTLSAndHTTP2() {
        message("tls", .protocolName) { message, visit in
            if case .tls = message { return visit(.integer(1)) }
            return true
        }
        tls("tls.record.content_type", .unsigned) { tls, visit in
            switch tls {
            case .clientHello, .serverHello, .handshake: visit(.integer(22))
            case .changeCipherSpec: visit(.integer(20))
            case .alert: visit(.integer(21))
            case .record(let record): visit(.integer(Int64(record.contentType)))
            case .sslv2, .problem: true
            }
        }
        func handshake(_ name: String, _ type: FieldType, _ values: @escaping @Sendable (TLSMessage, (FieldValue) -> Bool) -> Bool) {
            tls(name, type, values)
        }
        handshake("tls.handshake", .label) { tls, visit in
            switch tls {
            case .clientHello, .serverHello, .handshake: visit(.integer(1))
            default: true
            }
        }
        handshake("tls.handshake.type", .unsigned) { tls, visit in
            switch tls {
            case .clientHello(let hello): hello.isSSLv2 ? true : visit(.integer(1))
            case .serverHello: visit(.integer(2))
            case .handshake(let message): visit(.integer(Int64(message.type)))
            default: true
            }
        }
        handshake("tls.handshake.version", .unsigned) { tls, visit in
            switch tls {
            case .clientHello(let hello): visit(.integer(Int64(hello.legacyVersion)))
            case .serverHello(let hello): visit(.integer(Int64(hello.legacyVersion)))
            default: true
            }
        }
        handshake("tls.handshake.ciphersuite", .unsigned) { tls, visit in
            switch tls {
            case .clientHello(let hello): hello.cipherSuites.allSatisfy { visit(.integer(Int64($0))) }
            case .serverHello(let hello): visit(.integer(Int64(hello.cipherSuite)))
            default: true
            }
        }
        handshake("tls.handshake.extension.type", .unsigned) { tls, visit in
            switch tls {
            case .clientHello(let hello): hello.extensions.allSatisfy { visit(.integer(Int64($0.type))) }
            case .serverHello(let hello): hello.extensions.allSatisfy { visit(.integer(Int64($0.type))) }
            default: true
            }
        }
        handshake("tls.handshake.extensions_server_name", .string) { tls, visit in
            if case .clientHello(let hello) = tls, let name = hello.serverName { return visit(.text(name)) }
            return true
        }
        handshake("tls.handshake.extensions_alpn_str", .string) { tls, visit in
            switch tls {
            case .clientHello(let hello): hello.alpn.allSatisfy { visit(.text($0)) }
            case .serverHello(let hello): hello.alpn.map { visit(.text($0)) } ?? true
            default: true
            }
        }
        handshake("tls.handshake.extensions.supported_version", .unsigned) { tls, visit in
            switch tls {
            case .clientHello(let hello): hello.supportedVersions.allSatisfy { visit(.integer(Int64($0))) }
            case .serverHello(let hello): hello.selectedVersion.map { visit(.integer(Int64($0))) } ?? true
            default: true
            }
        }
        tls("tls.alert_message.level", .unsigned) { tls, visit in
            if case .alert(let alert) = tls, let level = alert.level { return visit(.integer(Int64(level))) }
            return true
        }
        tls("tls.alert_message.desc", .unsigned) { tls, visit in
            if case .alert(let alert) = tls, let description = alert.description { return visit(.integer(Int64(description))) }
            return true
        }

        // X.509: every certificate of a Certificate message (or an SSL 2.0 SERVER-HELLO).
        func certificates(_ name: String, _ type: FieldType,
                          _ values: @escaping @Sendable (TLSCertificate, (FieldValue) -> Bool) -> Bool) {
            tls(name, type) { tls, visit in
                switch tls {
                case .handshake(let message): (message.certificates ?? []).allSatisfy { values($0, visit) }
                case .sslv2(let record): (record.certificates ?? []).allSatisfy { values($0, visit) }
                default: true
                }
            }
        }
        certificates("x509af.signedCertificate_element", .label) { _, visit in visit(.integer(1)) }
        // Wireshark counts versions from 0 (v3 is 2), as the DER does.
        certificates("x509af.version", .unsigned) { c, visit in visit(.integer(Int64(c.version - 1))) }
        certificates("x509ce.dNSName", .string) { c, visit in c.dnsNames.allSatisfy { visit(.text($0)) } }
        // Basic constraints' cA: DER leaves a FALSE default out, so Wireshark has the field only when TRUE.
        certificates("x509ce.cA", .boolean) { c, visit in c.isCertificateAuthority == true ? visit(.integer(1)) : true }

        // OCSP: the response a server stapled in a CertificateStatus message.
        func ocsp(_ name: String, _ type: FieldType,
                  _ values: @escaping @Sendable (TLSOCSPResponse, (FieldValue) -> Bool) -> Bool) {
            tls(name, type) { tls, visit in
                if case .handshake(let message) = tls, let response = message.ocspResponse { return values(response, visit) }
                return true
            }
        }
        ocsp("ocsp", .protocolName) { _, visit in visit(.integer(1)) }
        ocsp("ocsp.responseStatus", .unsigned) { r, visit in visit(.integer(Int64(r.responseStatusCode))) }
        ocsp("ocsp.certStatus", .unsigned) { r, visit in r.statuses.allSatisfy { visit(.integer(Int64($0.statusCode))) } }
        ocsp("ocsp.revocationReason", .unsigned) { r, visit in
            r.statuses.allSatisfy { s in s.revocationReasonCode.map { visit(.integer(Int64($0))) } ?? true }
        }

        // HTTP/1.x: one message per request or response head (Wireshark's `http` fields).
        func http1(_ name: String, _ type: FieldType, _ value: @escaping @Sendable (HTTP1Head) -> FieldValue?) {
            message(name, type) { message, visit in
                switch message {
                case .http1(.request(let head, _)), .http1(.response(let head, _, _, _)):
                    if let v = value(head) { return visit(v) }
                    return true
                default: return true
                }
            }
        }
        message("http", .protocolName) { message, visit in
            if case .http1 = message { return visit(.integer(1)) }
            return true
        }
        http1("http.request", .label) { $0.isRequest ? .integer(1) : nil }
        http1("http.response", .label) { $0.isRequest ? nil : .integer(1) }
        http1("http.request.method", .string) { $0.method.map { .text($0) } }
        http1("http.request.uri", .string) { $0.target.map { .text($0) } }
        http1("http.host", .string) { $0.host.map { .text($0) } }
        http1("http.response.code", .unsigned) { $0.status.map { .integer(Int64($0)) } }
        http1("http.location", .string) { $0.field("location").map { .text($0) } }
        http1("http.server", .string) { $0.field("server").map { .text($0) } }
        http1("http.content_length", .unsigned) { head in
            if case .length(let n) = head.contentLength { .integer(Int64(n)) } else { nil }
        }

        message("http2", .protocolName) { message, visit in
            if case .http2 = message { return visit(.integer(1)) }
            return true
        }
        message("http2.magic", .label) { message, visit in
            if case .http2(let http2) = message, http2.event == .preface { return visit(.integer(1)) }
            return true
        }
        http2Frame("http2.type", .unsigned) { record, visit in visit(.integer(Int64(record.info.type.rawValue))) }
        http2Frame("http2.streamid", .unsigned) { record, visit in visit(.integer(Int64(record.info.streamID))) }
        http2Frame("http2.flags", .unsigned) { record, visit in visit(.integer(Int64(record.info.flags.rawValue))) }
        http2Frame("http2.length", .unsigned) { record, visit in visit(.integer(Int64(record.info.length))) }
        http2Frame("http2.rst_stream.error", .unsigned) { record, visit in
            if case .decoded(.rstStream(let code)) = record.payload { return visit(.integer(Int64(code.rawValue))) }
            return true
        }
        http2Frame("http2.goaway.error", .unsigned) { record, visit in
            if case .decoded(.goAway(_, let code, _, _)) = record.payload { return visit(.integer(Int64(code.rawValue))) }
            return true
        }
        http2Frame("http2.goaway.last_stream_id", .unsigned) { record, visit in
            if case .decoded(.goAway(let last, _, _, _)) = record.payload { return visit(.integer(Int64(last))) }
            return true
        }
        http2Frame("http2.window_update.window_size_increment", .unsigned) { record, visit in
            if case .decoded(.windowUpdate(let increment)) = record.payload { return visit(.integer(Int64(increment))) }
            return true
        }
        http2Frame("http2.header.name", .string) { record, visit in
            guard let block = record.headerBlock else { return true }
            return block.pseudoHeaders.allSatisfy { visit(.text($0.name)) } && block.headers.allSatisfy { visit(.text($0.name)) }
        }
        http2Frame("http2.header.value", .string) { record, visit in
            guard let block = record.headerBlock else { return true }
            return block.pseudoHeaders.allSatisfy { visit(.text($0.value)) } && block.headers.allSatisfy { visit(.text($0.value)) }
        }
        http2Header("http2.headers.method", header: ":method")
        http2Header("http2.headers.path", header: ":path")
        http2Header("http2.headers.authority", header: ":authority")
        http2Header("http2.headers.scheme", header: ":scheme")
        http2Header("http2.headers.status", header: ":status", .unsigned)
        http2Header("http2.headers.content_type", header: "content-type")
    }

    // MARK: Tunnels

    /// Each tunnel protocol, its identifiers (the innermost occurrence's), and Netsift's own
    /// `tunnel.*`, `outer.*` (the header carrying the innermost tunnel) and `inner.*` (the packet
    /// the tunnels carry: present only in a tunneled packet).
    mutating func addTunnels() {
        for kind in TunnelKind.allCases {
            present(kind.name) { s, _ in s.encapsulation?.kinds.contains(kind) == true }
        }
        number("vxlan.vni") { s in s.encapsulation?.vxlanVNI.map(Int64.init) }
        number("geneve.vni") { s in s.encapsulation?.geneveVNI.map(Int64.init) }
        number("gre.key") { s in s.encapsulation?.greKey.map(Int64.init) }
        number("gre.seqnum") { s in s.encapsulation?.greSequence.map(Int64.init) }
        number("mpls.label") { s in s.encapsulation?.mplsLabel.map(Int64.init) }
        number("erspan.version") { s in s.encapsulation?.erspanVersion.map(Int64.init) }
        number("erspan.spanid") { s in s.encapsulation?.erspanSpanID.map(Int64.init) }
        number("gtp.teid") { s in s.encapsulation?.gtpTEID.map(Int64.init) }
        present("tunnel") { s, _ in s.encapsulation != nil }
        packet("tunnel.kind", .string) { s, _, _, visit in
            if let e = s.encapsulation { _ = visit(.text(e.kind.name)) }
        }
        number("tunnel.depth") { s in s.encapsulation.map { Int64($0.depth) } }
        for (family, type) in [("ip", FieldType.ipv4), ("ipv6", .ipv6)] {
            let v4 = type == .ipv4
            for (suffix, source, destination) in [("src", true, false), ("dst", false, true), ("addr", true, true)] {
                packet("outer.\(family).\(suffix)", type) { s, _, _, visit in
                    guard let e = s.encapsulation, e.outerSource != .zero || e.outerDestination != .zero,
                          e.outerSource.isIPv4 == v4 else { return }
                    if source, !visit(.address(e.outerSource)) { return }
                    if destination { _ = visit(.address(e.outerDestination)) }
                }
                packet("inner.\(family).\(suffix)", type) { s, _, _, visit in
                    guard s.encapsulation != nil, s.layers.contains(v4 ? .ipv4 : .ipv6) else { return }
                    if source, !visit(.address(s.source)) { return }
                    if destination { _ = visit(.address(s.destination)) }
                }
            }
        }
        for (proto, layer) in [("tcp", LayerSet.tcp), ("udp", .udp)] {
            for (suffix, source, destination) in [("srcport", true, false), ("dstport", false, true), ("port", true, true)] {
                packet("inner.\(proto).\(suffix)", .unsigned) { s, _, _, visit in
                    guard s.encapsulation != nil, s.layers.contains(layer), !s.transportHeader.isEmpty else { return }
                    if source, !visit(.integer(Int64(s.sourcePort))) { return }
                    if destination { _ = visit(.integer(Int64(s.destinationPort))) }
                }
            }
        }
    }

    /// The same over conversations: the tunnel their first packet was found in.
    mutating func addTunnelConversation() {
        func tunnel(_ name: String, _ type: FieldType, _ value: @escaping @Sendable (FlowSummary.Tunnel) -> FieldValue?) {
            conversation(name, type) { f, visit in if let t = f.tunnel, let v = value(t) { _ = visit(v) } }
        }
        for kind in TunnelKind.allCases {
            tunnel(kind.name, .protocolName) { t in t.kind == kind.name ? .integer(1) : nil }
        }
        let identifiers: [(String, TunnelKind)] = [("vxlan.vni", .vxlan), ("geneve.vni", .geneve), ("gre.key", .gre),
                                                   ("mpls.label", .mpls), ("erspan.spanid", .erspan), ("gtp.teid", .gtpU)]
        for (name, kind) in identifiers {
            tunnel(name, .unsigned) { t in t.kind == kind.name ? t.identifier.map { .integer(Int64($0)) } : nil }
        }
        tunnel("tunnel", .protocolName) { _ in .integer(1) }
        tunnel("tunnel.kind", .string) { t in .text(t.kind) }
        tunnel("tunnel.depth", .unsigned) { t in .integer(Int64(t.depth)) }
        for (family, isIPv6) in [("ip", false), ("ipv6", true)] {
            @Sendable func address(_ text: String?) -> FieldValue? {
                guard let text else { return nil }
                return (isIPv6 ? FilterLiteral.ipv6(text) : FilterLiteral.ipv4(text)).map { .address($0) }
            }
            let type: FieldType = isIPv6 ? .ipv6 : .ipv4
            tunnel("outer.\(family).src", type) { t in address(t.outerSource) }
            tunnel("outer.\(family).dst", type) { t in address(t.outerDestination) }
            conversation("outer.\(family).addr", type) { f, visit in
                guard let t = f.tunnel else { return }
                if let v = address(t.outerSource), !visit(v) { return }
                if let v = address(t.outerDestination) { _ = visit(v) }
            }
        }
    }

    // MARK: Conversations

    mutating func addConversation() {
        func flow(_ name: String, _ value: @escaping @Sendable (FlowSummary) -> FieldValue?) {
            conversation(name, fields[name]?.type ?? .unsigned) { f, visit in if let v = value(f) { _ = visit(v) } }
        }
        func sides(_ name: String, _ value: @escaping @Sendable (FlowSummary.Side) -> FieldValue?) {
            conversation(name, fields[name]?.type ?? .unsigned) { f, visit in
                if let v = value(f.originator), !visit(v) { return }
                if let v = value(f.responder) { _ = visit(v) }
            }
        }
        for (proto, isIPv6) in [("ip", false), ("ipv6", true)] {
            @Sendable func address(_ side: FlowSummary.Side) -> FieldValue? {
                (isIPv6 ? FilterLiteral.ipv6(side.address) : FilterLiteral.ipv4(side.address)).map { .address($0) }
            }
            flow(proto) { f in address(f.originator).map { _ in .integer(1) } }
            flow("\(proto).src") { f in address(f.originator) }
            flow("\(proto).dst") { f in address(f.responder) }
            sides("\(proto).addr", address)
        }
        for proto in ["tcp", "udp"] {
            flow(proto) { f in f.transport == proto ? .integer(1) : nil }
            flow("\(proto).srcport") { f in f.transport == proto ? .integer(Int64(f.originator.port)) : nil }
            flow("\(proto).dstport") { f in f.transport == proto ? .integer(Int64(f.responder.port)) : nil }
            flow("\(proto).stream") { f in f.transport == proto ? .integer(Int64(f.stream)) : nil }
            conversation("\(proto).port", .unsigned) { f, visit in
                guard f.transport == proto, visit(.integer(Int64(f.originator.port))) else { return }
                _ = visit(.integer(Int64(f.responder.port)))
            }
        }
        sides("tcp.options.mss_val") { s in s.mss.map { .integer(Int64($0)) } }
        sides("tcp.options.wscale.shift") { s in s.windowScale.map { .integer(Int64($0)) } }
        flow("tcp.analysis.flags") { f in f.analysis.isEmpty ? nil : .integer(1) }
        for (_, name) in TCPAnalysisFlags.names {
            flow("tcp.analysis.\(name)") { f in f.analysis[name].map { _ in .integer(1) } }
        }
        for proto in ["dns", "tls", "http2", "http"] {
            flow(proto) { f in f.service == proto ? .integer(1) : nil }
        }
        flow("tls.handshake.extensions_server_name") { f in f.serverName.map { .text($0) } }

        func own(_ name: String, _ type: FieldType, _ value: @escaping @Sendable (FlowSummary) -> FieldValue?) {
            conversation(name, type) { f, visit in if let v = value(f) { _ = visit(v) } }
        }
        own("conn.state", .string) { .text($0.state.rawValue) }
        own("conn.history", .string) { .text($0.history) }
        own("conn.service", .string) { f in f.service.map { .text($0) } }
        own("conn.duration", .time) { .integer($0.durationNanoseconds) }
        own("conn.rtt", .time) { f in f.handshakeRTTNanoseconds.map { .integer($0) } }
        own("conn.packets", .unsigned) { .integer(Int64($0.packets)) }
        own("conn.bytes", .unsigned) { .integer(Int64($0.bytes)) }
        own("conn.orig_pkts", .unsigned) { .integer(Int64($0.originator.packets)) }
        own("conn.resp_pkts", .unsigned) { .integer(Int64($0.responder.packets)) }
        own("conn.orig_bytes", .unsigned) { .integer(Int64($0.originator.payloadBytes)) }
        own("conn.resp_bytes", .unsigned) { .integer(Int64($0.responder.payloadBytes)) }
        own("conn.retransmitted_bytes", .unsigned) { .integer(Int64($0.retransmittedBytes)) }
        own("conn.first_frame", .unsigned) { .integer(Int64($0.firstFrame)) }
        own("conn.last_frame", .unsigned) { .integer(Int64($0.lastFrame)) }
    }
}
