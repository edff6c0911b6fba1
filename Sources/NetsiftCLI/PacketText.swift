import Netsift

/// One packet as a line in the spirit of `tcpdump -nn`, with its conversation and Wireshark's
/// analysis labels as tshark prints them:
/// `12 03:58:40.774391000 IP 10.77.0.1.38494 > 10.77.0.2.80: Flags [.], seq 1..., length 0 (tcp.stream 0) [TCP Dup ACK 9#1]`.
enum PacketText {
    static func line(frame: Int, time: Int64, length: Int, _ s: PacketSummary, _ bytes: RawSpan,
                     conversation: TrackedPacket?) -> String {
        var text = "\(frame) \(clock(time)) "
        if let tunnels = s.encapsulation { text += tunnel(tunnels) + " | " }
        if s.vlanCount > 0 {
            text += s.vlanCount == 1 ? "vlan \(s.outerVLAN.id) " : "vlan \(s.outerVLAN.id)/\(s.innerVLAN.id) "
        }
        text += network(s, bytes, length: length)
        if let conversation {
            text += " (\(conversation.transport.rawValue).stream \(conversation.stream))"
            let labels = analysisLabels(conversation)
            if !labels.isEmpty { text += " " + labels.joined(separator: " ") }
        }
        if let problem = s.problem {
            switch problem.kind {
            case .unsupportedLinkType: text += " [\(problem)]"
            case .cut: text += " [cut: \(problem)]"
            default: text += problem.isMalformed ? " [malformed: \(problem)]" : " [invalid: \(problem)]"
            }
        }
        return text
    }

    /// The time of day in UTC as `formatUTC` writes it ("03:58:40.774391000"), digit by digit:
    /// cutting it out of formatUTC's whole text cost more than the rest of the line.
    static func clock(_ nanoseconds: Int64) -> String {
        let (seconds, nanos) = UTCTimestamp.seconds(ofNanoseconds: nanoseconds)
        let secondOfDay = UTCTimestamp.civil(seconds).secondOfDay
        return String(unsafeUninitializedCapacity: 18) { buffer in
            // Each number written from its last digit back.
            func put(_ value: Int64, digits: Int, endingAt end: Int) {
                var value = value
                for position in stride(from: end - 1, through: end - digits, by: -1) {
                    buffer[position] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
            }
            put(secondOfDay / 3600, digits: 2, endingAt: 2)
            buffer[2] = UInt8(ascii: ":")
            put(secondOfDay / 60 % 60, digits: 2, endingAt: 5)
            buffer[5] = UInt8(ascii: ":")
            put(secondOfDay % 60, digits: 2, endingAt: 8)
            buffer[8] = UInt8(ascii: ".")
            put(nanos, digits: 9, endingAt: 18)
            return 18
        }
    }

    static func network(_ s: PacketSummary, _ bytes: RawSpan, length: Int) -> String {
        let layers = s.layers
        guard layers.contains(.ipv4) || layers.contains(.ipv6) else {
            if layers.contains(.arp) { return "ARP, length \(length)" }
            if layers.contains(.llc) { return "802.3 LLC, length \(length)" }
            if s.etherType != 0 { return "ethertype 0x\(String(s.etherType, radix: 16)), length \(length)" }
            // A tunnel whose payload is not dissected (an ERSPAN type III frame type other than
            // Ethernet, a GTP-U message that is not a user packet).
            if s.encapsulation != nil { return "payload not dissected, length \(length)" }
            return "\(s.linkType.name), length \(length)"
        }
        let family = s.ipVersion == 6 ? "IP6" : "IP"
        let ports = layers.contains(.tcp) || layers.contains(.udp)
        let source = ports ? "\(s.source).\(s.sourcePort)" : "\(s.source)"
        let destination = ports ? "\(s.destination).\(s.destinationPort)" : "\(s.destination)"
        var text = "\(family) \(source) > \(destination): "
        if layers.contains(.fragment) && !layers.contains(.reassembled) {
            return text + "fragment id 0x\(String(s.ipIdentification, radix: 16)) offset \(s.fragmentOffset)"
                + (s.moreFragments ? " (more follow)" : " (last)") + ", proto \(s.ipProtocol)"
        }
        if layers.contains(.tcp) {
            text += "Flags [\(s.tcpFlags.letters)], seq \(s.sequenceNumber)"
            if s.tcpFlags.contains(.ack) { text += ", ack \(s.acknowledgmentNumber)" }
            text += ", win \(s.windowSize)"
            let options = tcpOptions(s, bytes)
            if !options.isEmpty { text += ", options [\(options)]" }
            text += ", length \(s.payloadWireLength)"
        } else if layers.contains(.udp) {
            text += "UDP, length \(s.payloadWireLength)"
        } else if layers.contains(.icmp) || layers.contains(.icmpv6) {
            text += layers.contains(.icmp) ? "ICMP " + ICMPHeader.typeName(s.icmpType, code: s.icmpCode)
                                           : "ICMP6 " + ICMPv6Header.typeName(s.icmpType, code: s.icmpCode)
            if let mtu = s.icmpMTU { text += ", mtu \(mtu)" }
            if let flow = s.embedded {
                let name = flow.ipProtocol == 6 ? "tcp" : flow.ipProtocol == 17 ? "udp" : "proto \(flow.ipProtocol)"
                text += ", about \(flow.source).\(flow.sourcePort) > \(flow.destination).\(flow.destinationPort) \(name)"
            }
            text += ", length \(s.payloadWireLength + 8)"
        } else if s.problem == nil || !s.transportHeader.isEmpty {
            text += "ip-proto-\(s.ipProtocol), length \(s.payloadWireLength)"
        } else {
            text.removeLast(1)   // the problem that stopped the IP layer follows
        }
        if layers.contains(.reassembled) { text += " (reassembled)" }
        if s.encapsulation?.underlayFragmented == true { text += " (outer reassembled)" }
        return text
    }

    /// The innermost tunnel: `VXLAN vni 42 10.0.0.1 > 10.0.0.2`, `MPLS label 29`, with the depth
    /// when tunnels nest (`(3 deep)`).
    static func tunnel(_ e: Encapsulation) -> String {
        var text = e.kind.label
        if let name = e.kind.identifierName, let identifier = e.identifier { text += " \(name) \(identifier)" }
        if e.outerSource != .zero || e.outerDestination != .zero { text += " \(e.outerSource) > \(e.outerDestination)" }
        if e.depth > 1 { text += " (\(e.depth) deep)" }
        return text
    }

    /// tcpdump's option list: "mss 1460,nop,wscale 7,sackOK,TS val 1 ecr 0,sack 1 {5:10}".
    static func tcpOptions(_ s: PacketSummary, _ bytes: RawSpan) -> String {
        guard s.transportHeader.count > TCPHeader.minimumLength else { return "" }
        let area = bytes.extracting(s.transportHeader).extracting(droppingFirst: TCPHeader.minimumLength)
        var options = TCPOptions(area)
        var text = "", count = 0
        // Appended to one string as they come (an array of parts joined cost a string per option).
        func add(_ part: String) {
            if count > 0 { text += "," }
            text += part
            count += 1
        }
        while let option = try? options.next() {
            let data = option.range.lowerBound + 2
            switch option.kind {
            case TCPOptions.Kind.maximumSegmentSize where option.range.count == 4:
                add("mss \(area.be16(data))")
            case TCPOptions.Kind.windowScale where option.range.count == 3:
                add("wscale \(area.u8(data))")
            case TCPOptions.Kind.timestamps where option.range.count == 10:
                add("TS val \(area.be32(data)) ecr \(area.be32(data + 4))")
            case TCPOptions.Kind.sack:
                let blocks = stride(from: data, to: option.range.upperBound - 7, by: 8)
                    .map { "{\(area.be32($0)):\(area.be32($0 + 4))}" }
                add("sack \(blocks.count) " + blocks.joined())
            case TCPOptions.Kind.fastOpen:
                add(option.range.count == 2 ? "tfo cookiereq" : "tfo cookie")
            case TCPOptions.Kind.multipath where option.range.count >= 3:
                add("mptcp subtype \(area.u8(data) >> 4)")
            case TCPOptions.Kind.sackPermitted, TCPOptions.Kind.noOperation, TCPOptions.Kind.end:
                add(option.name)
            default:
                add("opt-\(option.kind) len \(option.range.count)")
            }
        }
        return text
    }

    /// tshark's Info-column labels for the analysis flags, in the order it shows them: it adds
    /// each at the front of the column while walking the flags in the order below, so the last
    /// added comes first. A retransmission is labelled by its kind.
    static func analysisLabels(_ tracked: TrackedPacket) -> [String] {
        let flags = tracked.flags
        guard !flags.isEmpty else { return [] }
        var labels: [String] = []
        if flags.contains(.retransmission) {
            labels.append(flags.contains(.fastRetransmission) ? "[TCP Fast Retransmission]"
                          : flags.contains(.spuriousRetransmission) ? "[TCP Spurious Retransmission]"
                          : "[TCP Retransmission]")
        }
        let others: [(TCPAnalysisFlags, String)] = [
            (.lostSegment, "[TCP Previous segment not captured]"), (.ackedUnseenSegment, "[TCP ACKed unseen segment]"),
            (.windowUpdate, "[TCP Window Update]"), (.windowFull, "[TCP Window Full]"),
            (.keepAlive, "[TCP Keep-Alive]"), (.keepAliveAck, "[TCP Keep-Alive ACK]"),
            (.duplicateAck, "[TCP Dup ACK \(tracked.duplicateAckFrame)#\(tracked.duplicateAckNumber)]"),
            (.zeroWindowProbe, "[TCP ZeroWindowProbe]"), (.zeroWindowProbeAck, "[TCP ZeroWindowProbeAck]"),
            (.zeroWindow, "[TCP ZeroWindow]"), (.outOfOrder, "[TCP Out-Of-Order]"),
            (.reusedPorts, "[TCP Port numbers reused]"),
        ]
        for (flag, label) in others where flags.contains(flag) { labels.append(label) }
        return labels.reversed()
    }
}
