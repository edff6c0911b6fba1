import Netsift

/// A JSON value, rendered compactly with keys in the order given (one packet per line).
enum JSON {
    case int(Int)
    case string(String)
    case bool(Bool)
    case array([JSON])
    case object([(String, JSON)])
    /// Already rendered JSON (an application message encoded by JSONEncoder).
    case raw(String)

    /// Appends the value, rendered as UTF-8, to `out`: one buffer grown in place (rendering each
    /// part into a string of its own and joining them, or appending to a String piece by piece,
    /// cost more than decoding the packet).
    func render(into out: inout [UInt8]) {
        switch self {
        case .int(let value): out.append(contentsOf: String(value).utf8)
        case .bool(let value): out.append(contentsOf: (value ? "true" : "false").utf8)
        case .raw(let text): out.append(contentsOf: text.utf8)
        case .string(let value): Self.quote(value, into: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                value.render(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let fields):
            out.append(UInt8(ascii: "{"))
            for (index, (key, value)) in fields.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.quote(key, into: &out)
                out.append(UInt8(ascii: ":"))
                value.render(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func quote(_ text: String, into out: inout [UInt8]) { jsonQuote(text, into: &out) }
}

/// Every decoded field of a packet, layer by layer, as one JSON object.
enum PacketJSON {
    static func render(frame: Int, time: Int64, hasTime: Bool, length: Int, captured: Int,
                       _ s: PacketSummary, _ bytes: RawSpan, conversation: TrackedPacket?,
                       application: [ApplicationEvent] = [], into line: inout [UInt8]) {
        var fields: [(String, JSON)] = [("frame", .int(frame))]
        // Absent when the record has none (a pcapng Simple Packet Block): optional values are left out.
        if hasTime { fields.append(("time_ns", .int(Int(time)))) }
        fields += [
            ("length", .int(length)),
            ("captured", .int(captured)),
            ("link_type", .int(Int(s.linkType.rawValue))),
        ]
        var layers: [(String, JSON)] = []
        if s.layers.contains(.ethernet) {
            layers.append(("ethernet", .object([("source", .string(mac(s.sourceMAC))),
                                                ("destination", .string(mac(s.destinationMAC)))])))
        }
        if s.layers.contains(.linuxSLL) { layers.append(("linux_sll", .object([]))) }
        if s.layers.contains(.linuxSLL2) { layers.append(("linux_sll2", .object([]))) }
        if s.layers.contains(.loopback) { layers.append(("loopback", .object([]))) }
        if s.vlanCount > 0 {
            let tags = s.vlanCount == 1 ? [s.outerVLAN] : [s.outerVLAN, s.innerVLAN]
            layers.append(("vlan", .object([
                ("depth", .int(Int(s.vlanCount))),
                ("tags", .array(tags.map { tag in
                    .object([("tpid", .int(Int(tag.tpid))), ("pcp", .int(Int(tag.priority))),
                             ("dei", .bool(tag.dropEligible)), ("vid", .int(Int(tag.id)))])
                })),
            ])))
        }
        if s.etherType != 0 { fields.append(("ethertype", .int(Int(s.etherType)))) }
        if s.layers.contains(.ipv4) || s.layers.contains(.ipv6) {
            var ip: [(String, JSON)] = [
                ("source", .string(s.source.description)), ("destination", .string(s.destination.description)),
                (s.ipVersion == 6 ? "hop_limit" : "ttl", .int(Int(s.ttl))),
                ("dscp", .int(Int(s.dscp))), ("ecn", .int(Int(s.ecn))),
                ("length", .int(s.ipLength)), ("protocol", .int(Int(s.ipProtocol))),
            ]
            if s.ipVersion == 4 {
                ip.append(("identification", .int(Int(s.ipIdentification))))
                ip.append(("dont_fragment", .bool(s.dontFragment)))
            }
            if s.layers.contains(.fragment) {
                ip.append(("fragment", .object([
                    ("identification", .int(Int(s.ipIdentification))), ("offset", .int(s.fragmentOffset)),
                    ("more_fragments", .bool(s.moreFragments)), ("reassembled", .bool(s.layers.contains(.reassembled))),
                ])))
            }
            if s.ipVersion == 4, s.ipHeader.count > IPv4Header.minimumLength {
                var walker = IPv4Options(bytes.extracting(s.ipHeader).extracting(droppingFirst: IPv4Header.minimumLength))
                var options: [JSON] = []
                while let option = try? walker.next() {
                    options.append(.object([("kind", .int(Int(option.kind))), ("name", .string(option.name)),
                                            ("length", .int(option.range.count))]))
                }
                ip.append(("options", .array(options)))
            }
            if s.ipVersion == 6, s.ipHeader.count > IPv6Header.length, !s.layers.contains(.reassembled) {
                let header = bytes.extracting(s.ipHeader)
                var chain = IPv6ExtensionHeaders(header, wire: header.byteCount, first: header.u8(6))
                var extensions: [JSON] = []
                while let ext = try? chain.next() {
                    extensions.append(.object([("type", .int(Int(ext.type))), ("name", .string(ext.name)),
                                               ("length", .int(ext.range.count))]))
                }
                ip.append(("extension_headers", .array(extensions)))
            }
            layers.append((s.ipVersion == 6 ? "ipv6" : "ipv4", .object(ip)))
        }
        if s.layers.contains(.tcp) && !s.transportHeader.isEmpty {
            layers.append(("tcp", .object([
                ("source_port", .int(Int(s.sourcePort))), ("destination_port", .int(Int(s.destinationPort))),
                ("sequence_number", .int(Int(s.sequenceNumber))),
                ("acknowledgment_number", .int(Int(s.acknowledgmentNumber))),
                ("data_offset", .int(s.transportHeader.count)), ("flags", .string(s.tcpFlags.letters)),
                ("flags_value", .int(Int(s.tcpFlags.rawValue))), ("window", .int(Int(s.windowSize))),
                ("urgent_pointer", .int(Int(s.urgentPointer))), ("payload_length", .int(s.payloadWireLength)),
                ("options", .array(tcpOptions(s, bytes))),
            ] + conversationFields(conversation))))
        }
        if s.layers.contains(.udp) && !s.transportHeader.isEmpty {
            layers.append(("udp", .object([
                ("source_port", .int(Int(s.sourcePort))), ("destination_port", .int(Int(s.destinationPort))),
                ("length", .int(s.udpLength)), ("payload_length", .int(s.payloadWireLength)),
            ] + conversationFields(conversation))))
        }
        if s.layers.contains(.icmp) || s.layers.contains(.icmpv6) {
            let v6 = s.layers.contains(.icmpv6)
            var icmp: [(String, JSON)] = [
                ("type", .int(Int(s.icmpType))), ("code", .int(Int(s.icmpCode))),
                ("description", .string(v6 ? ICMPv6Header.typeName(s.icmpType, code: s.icmpCode)
                                           : ICMPHeader.typeName(s.icmpType, code: s.icmpCode))),
            ]
            if let mtu = s.icmpMTU { icmp.append(("mtu", .int(Int(mtu)))) }
            if let flow = s.embedded {
                icmp.append(("original", .object([
                    ("source", .string(flow.source.description)), ("destination", .string(flow.destination.description)),
                    ("protocol", .int(Int(flow.ipProtocol))), ("source_port", .int(Int(flow.sourcePort))),
                    ("destination_port", .int(Int(flow.destinationPort))),
                ])))
            }
            layers.append((v6 ? "icmpv6" : "icmp", .object(icmp)))
        }
        if let tunnels = s.encapsulation { fields.append(("encapsulation", encapsulation(tunnels))) }
        fields.append(("layers", .object(layers)))
        if !application.isEmpty {
            fields.append(("application", .array(application.map { event in
                var fields: [(String, JSON)] = [("protocol", .string(event.message.protocolName)),
                                                ("summary", .string(event.message.summaryLine))]
                if let message = event.message.encodedJSON { fields.append(("message", .raw(message))) }
                return .object(fields)
            })))
        }
        if let problem = s.problem {
            fields.append(("problem", .object([("layer", .string(problem.layer.description)),
                                               ("malformed", .bool(problem.isMalformed)),
                                               ("message", .string(problem.description))])))
        }
        JSON.object(fields).render(into: &line)
    }

    /// The conversation's number (`tcp.stream` / `udp.stream`) and, for TCP, the analysis flags by
    /// tshark's `tcp.analysis.*` names, with a duplicate ACK's numbering, and `tcp.analysis.ack_rtt`
    /// (ns) and `tcp.analysis.bytes_in_flight` when Wireshark shows them.
    static func conversationFields(_ conversation: TrackedPacket?) -> [(String, JSON)] {
        guard let conversation else { return [] }
        var fields: [(String, JSON)] = [("stream", .int(conversation.stream))]
        guard conversation.transport == .tcp else { return fields }
        fields.append(("analysis", .array(conversation.flags.names.map(JSON.string))))
        if conversation.flags.contains(.duplicateAck) {
            fields.append(("duplicate_ack_frame", .int(conversation.duplicateAckFrame)))
            fields.append(("duplicate_ack_num", .int(conversation.duplicateAckNumber)))
        }
        if conversation.ackRTT > 0 { fields.append(("ack_rtt_ns", .int(Int(conversation.ackRTT)))) }
        if let inFlight = conversation.bytesInFlight { fields.append(("bytes_in_flight", .int(inFlight))) }
        return fields
    }

    /// The tunnels around the packet: the innermost one's kind and outer endpoints, every kind
    /// passed through, and each kind's identifiers (those of its innermost occurrence).
    static func encapsulation(_ e: Encapsulation) -> JSON {
        var fields: [(String, JSON)] = [
            ("kind", .string(e.kind.name)), ("depth", .int(Int(e.depth))),
            ("tunnels", .array(TunnelKind.allCases.filter { e.kinds.contains($0) }.map { .string($0.name) })),
        ]
        if e.outerSource != .zero || e.outerDestination != .zero {
            fields += [("outer_source", .string(e.outerSource.description)),
                       ("outer_destination", .string(e.outerDestination.description)),
                       ("outer_ip_length", .int(e.outerIPLength)), ("underlay_ip_length", .int(e.underlayIPLength)),
                       ("underlay_reassembled", .bool(e.underlayFragmented))]
        }
        let identifiers: [(String, Int?)] = [
            ("vxlan_vni", e.vxlanVNI.map(Int.init)), ("geneve_vni", e.geneveVNI.map(Int.init)),
            ("geneve_options", e.kinds.contains(.geneve) ? Int(e.geneveOptionCount) : nil),
            ("gre_key", e.greKey.map(Int.init)), ("gre_sequence", e.greSequence.map(Int.init)),
            ("mpls_label", e.mplsLabel.map(Int.init)),
            ("mpls_stack_depth", e.kinds.contains(.mpls) ? Int(e.mplsStackDepth) : nil),
            ("erspan_version", e.erspanVersion.map(Int.init)), ("erspan_span_id", e.erspanSpanID.map(Int.init)),
            ("gtp_teid", e.gtpTEID.map(Int.init)),
        ]
        for case let (name, value?) in identifiers { fields.append((name, .int(value))) }
        return .object(fields)
    }

    static func mac(_ value: UInt64) -> String {
        (0..<6).map { i in
            let byte = UInt8(truncatingIfNeeded: value >> UInt64(40 - 8 * i))
            return byte < 16 ? "0" + String(byte, radix: 16) : String(byte, radix: 16)
        }.joined(separator: ":")
    }

    /// Every option in order, unknown kinds kept as kind and length.
    static func tcpOptions(_ s: PacketSummary, _ bytes: RawSpan) -> [JSON] {
        guard s.transportHeader.count > TCPHeader.minimumLength else { return [] }
        let area = bytes.extracting(s.transportHeader).extracting(droppingFirst: TCPHeader.minimumLength)
        var walker = TCPOptions(area)
        var options: [JSON] = []
        while let option = try? walker.next() {
            var fields: [(String, JSON)] = [("kind", .int(Int(option.kind))), ("name", .string(option.name)),
                                            ("length", .int(option.range.count))]
            let data = option.range.lowerBound + 2
            switch option.kind {
            case TCPOptions.Kind.maximumSegmentSize where option.range.count == 4:
                fields.append(("value", .int(Int(area.be16(data)))))
            case TCPOptions.Kind.windowScale where option.range.count == 3:
                fields.append(("shift", .int(Int(area.u8(data)))))
            case TCPOptions.Kind.timestamps where option.range.count == 10:
                fields.append(("value", .int(Int(area.be32(data)))))
                fields.append(("echo", .int(Int(area.be32(data + 4)))))
            case TCPOptions.Kind.sack:
                let blocks = stride(from: data, to: option.range.upperBound - 7, by: 8).map { edge -> JSON in
                    .array([.int(Int(area.be32(edge))), .int(Int(area.be32(edge + 4)))])
                }
                fields.append(("blocks", .array(blocks)))
            default:
                break
            }
            options.append(.object(fields))
        }
        return options
    }
}
