import NetsiftCapture

/// A TCP or UDP flow as one packet carries it (`Dissector.plainFlow`).
public struct PlainFlow: Sendable, Equatable {
    public var source: IPAddress
    public var destination: IPAddress
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    /// 6 (TCP) or 17 (UDP).
    public var ipProtocol: UInt8

    @inlinable public init(source: IPAddress, destination: IPAddress, sourcePort: UInt16, destinationPort: UInt16,
                           ipProtocol: UInt8) {
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.ipProtocol = ipProtocol
    }
}

/// Walks a packet bottom-up (link, VLAN tags, IP, transport) into a `PacketSummary`: a `switch` per
/// layer, views validated once, nothing allocated unless the packet is an IP fragment. The first
/// problem stops the walk and is kept in `summary.problem`; what was dissected below it stays.
///
/// Fragments are reassembled (as Wireshark does by default): a fragment that completes a datagram
/// gets the reassembled transport layer, and the summary's ranges then refer to the reassembled
/// bytes handed to `body`; the other fragments carry only their IP layer.
public struct Dissector {
    public var fragments: FragmentReassembler
    /// The UDP ports whose datagrams are opened as tunnels (VXLAN, Geneve, GTP-U).
    public let tunnelPorts: TunnelPorts

    public init(fragmentLimits: FragmentLimits = FragmentLimits(), tunnelPorts: TunnelPorts = TunnelPorts()) {
        fragments = FragmentReassembler(limits: fragmentLimits)
        self.tunnelPorts = tunnelPorts
    }

    /// Dissects `packet` and calls `body` once with the summary and the bytes its ranges refer to.
    /// The summary is lent `inout` so that it stays where the dissector wrote it: passed by value,
    /// its 369 bytes were copied for every packet, and the copy's wide loads waited for the narrow
    /// stores just made (a quarter of the time on small packets). `body` only reads it.
    @inlinable
    public mutating func dissect(_ packet: CapturedPacket, _ body: (inout PacketSummary, RawSpan) -> Void) {
        let frame = packet.bytes
        var plain = PacketSummary()
        guard packet.linkType == .ethernet,
              Self.dissectPlain(frame, wire: packet.originalLength, tunnelPorts: tunnelPorts, into: &plain) else {
            dissectLayers(packet, body)
            return
        }
        body(&plain, frame)
    }

    /// The general walk, layer by layer, for every packet `dissectPlain` does not take.
    @usableFromInline
    mutating func dissectLayers(_ packet: CapturedPacket, _ body: (inout PacketSummary, RawSpan) -> Void) {
        let frame = packet.bytes
        var summary = PacketSummary()
        summary.linkType = packet.linkType
        var complete: FragmentReassembler.Outcome = .stored
        do {
            complete = try Self.dissectFrame(frame, wire: packet.originalLength, time: packet.timestamp, ports: tunnelPorts,
                                             fragments: &fragments, into: &summary)
        } catch {
            summary.problem = error
        }
        guard case .complete(let slot, let length) = complete else {
            body(&summary, frame)
            return
        }
        finishReassembled(summary, slot: slot, length: length, time: packet.timestamp, body)
    }

    /// A fragment completed a datagram: what it carries is dissected from the reassembled bytes. A
    /// tunnel inside may hold fragments of its own: those are not reassembled again (the reassembler
    /// is lending out this datagram), each is described as a fragment.
    @usableFromInline
    mutating func finishReassembled(_ first: PacketSummary, slot: Int, length: Int, time: Int64,
                                    _ body: (inout PacketSummary, RawSpan) -> Void) {
        var summary = first
        let ports = tunnelPorts
        fragments.withDatagram(slot, length: length) { datagram in
            summary.layers.insert(.reassembled)
            var notReassembled = NoReassembly()
            do throws(DissectError) {
                try Self.dissectReassembled(datagram, time: time, ports: ports, fragments: &notReassembled, into: &summary)
            } catch {
                summary.problem = error
            }
            body(&summary, datagram)
        }
        fragments.release(slot)
    }

    /// The flow of a plain packet, read at fixed offsets without dissecting it: Ethernet II,
    /// then IPv4 without options and not a fragment, or IPv6 without extension headers, then TCP
    /// or UDP. nil for anything else, and for a frame too short to hold the ports. Whenever the
    /// full dissection of such a packet finds a TCP or UDP flow, it is this one: so a worker that
    /// follows only some flows can tell, for most packets, that one is not its own and skip it.
    /// A UDP datagram to or from a tunnel port is not plain: its flow is the one inside.
    /// Always inlined: a sharded worker asks it of every packet.
    @inlinable @inline(__always)
    public func plainFlow(_ packet: borrowing CapturedPacket) -> PlainFlow? {
        let frame = packet.bytes
        // Long enough for IPv4's ports; IPv6 checks its own length below.
        guard packet.linkType == .ethernet,
              frame.byteCount >= EthernetHeader.length + IPv4Header.minimumLength + 4 else { return nil }
        let ip = EthernetHeader.length
        switch frame.be16(12) {
        case EtherType.ipv4:
            // Version 4, header length 5 words (options could reroute: a source route changes the
            // destination), no fragment (offset 0 and no more fragments).
            guard frame.u8(ip) == 0x45, frame.be16(ip + 6) & 0x3FFF == 0 else { return nil }
            let proto = frame.u8(ip + 9)
            guard proto == 6 || (proto == 17 && !tunnelPorts.mayTunnel(frame.be16(ip + 20), frame.be16(ip + 22)))
            else { return nil }
            return PlainFlow(source: IPAddress(ipv4: frame.be32(ip + 12)), destination: IPAddress(ipv4: frame.be32(ip + 16)),
                             sourcePort: frame.be16(ip + 20), destinationPort: frame.be16(ip + 22), ipProtocol: proto)
        case EtherType.ipv6:
            let proto = frame.u8(ip + 6)
            guard frame.u8(ip) >> 4 == 6, proto == 6 || proto == 17,
                  frame.byteCount >= ip + IPv6Header.length + 4,
                  proto == 6 || !tunnelPorts.mayTunnel(frame.be16(ip + 40), frame.be16(ip + 42)) else { return nil }
            return PlainFlow(source: frame.ipv6Address(ip + 8), destination: frame.ipv6Address(ip + 24),
                             sourcePort: frame.be16(ip + 40), destinationPort: frame.be16(ip + 42), ipProtocol: proto)
        default:
            return nil
        }
    }

    /// Most packets at fixed offsets: Ethernet II, then IPv4 without options or IPv6 without
    /// extension headers, not a fragment, then TCP or UDP, with every header captured whole and
    /// every length consistent. Fills `s` exactly as the general walk below does for such a packet
    /// (a test compares the two on every packet of the corpus and the fixtures), in about a fifth
    /// of the instructions: one length check up front instead of one per layer, no error paths.
    /// Returns false, with `s` untouched, for any other packet.
    @inlinable
    static func dissectPlain(_ frame: RawSpan, wire: Int, tunnelPorts: TunnelPorts, into s: inout PacketSummary) -> Bool {
        let ip = EthernetHeader.length
        // The shortest plain packet: Ethernet, IPv4, UDP.
        guard frame.byteCount >= ip + IPv4Header.minimumLength + UDPHeader.length else { return false }
        let version: UInt8, ipProtocol: UInt8, transport: Int, datagramEnd: Int
        switch frame.be16(12) {
        case EtherType.ipv4:
            // Header length 5 words, not a fragment (no offset, no more fragments), a total length
            // that holds the header and ends within the frame on the wire.
            let totalLength = Int(frame.be16(ip + 2))
            guard frame.u8(ip) == 0x45, frame.be16(ip + 6) & 0x3FFF == 0,
                  totalLength >= IPv4Header.minimumLength, ip + totalLength <= wire else { return false }
            version = 4
            ipProtocol = frame.u8(ip + 9)
            transport = ip + IPv4Header.minimumLength
            datagramEnd = ip + totalLength
        case EtherType.ipv6:
            guard frame.byteCount >= ip + IPv6Header.length + UDPHeader.length, frame.u8(ip) >> 4 == 6 else { return false }
            version = 6
            ipProtocol = frame.u8(ip + 6)
            transport = ip + IPv6Header.length
            datagramEnd = transport + Int(frame.be16(ip + 4))
            guard datagramEnd <= wire else { return false }
        default:
            return false
        }
        // The segment as captured, and its length on the wire.
        let capturedEnd = min(datagramEnd, frame.byteCount)
        guard capturedEnd >= transport else { return false }
        let segmentWire = datagramEnd - transport
        let captured = capturedEnd - transport
        let tcpHeaderLength: Int
        switch ipProtocol {
        case 6:
            guard captured >= TCPHeader.minimumLength else { return false }
            tcpHeaderLength = Int(frame.u8(transport + 12) >> 4) * 4
            guard tcpHeaderLength >= TCPHeader.minimumLength, tcpHeaderLength <= captured else { return false }
        case 17:
            let declared = Int(frame.be16(transport + 4))
            guard captured >= UDPHeader.length, declared >= UDPHeader.length, declared <= segmentWire,
                  !tunnelPorts.mayTunnel(frame.be16(transport), frame.be16(transport + 2)) else { return false }
            tcpHeaderLength = 0
        default:
            return false
        }

        s.layers.insert(.ethernet)
        s.sourceMAC = UInt64(frame.be16(6)) << 32 | UInt64(frame.be32(8))
        s.destinationMAC = UInt64(frame.be16(0)) << 32 | UInt64(frame.be32(2))
        s.ipVersion = version
        s.ipProtocol = ipProtocol
        s.ipHeader = ip..<transport
        s.ipLength = datagramEnd - ip
        if version == 4 {
            s.etherType = EtherType.ipv4
            s.layers.insert(.ipv4)
            s.source = IPAddress(ipv4: frame.be32(ip + 12))
            s.destination = IPAddress(ipv4: frame.be32(ip + 16))
            s.ttl = frame.u8(ip + 8)
            s.dscp = frame.u8(ip + 1) >> 2
            s.ecn = frame.u8(ip + 1) & 0x03
            s.ipIdentification = UInt32(frame.be16(ip + 4))
            s.dontFragment = frame.u8(ip + 6) & 0x40 != 0
        } else {
            s.etherType = EtherType.ipv6
            s.layers.insert(.ipv6)
            s.source = frame.ipv6Address(ip + 8)
            s.destination = frame.ipv6Address(ip + 24)
            s.ttl = frame.u8(ip + 7)
            let trafficClass = UInt8(truncatingIfNeeded: frame.be16(ip) >> 4)
            s.dscp = trafficClass >> 2
            s.ecn = trafficClass & 0x03
        }
        s.sourcePort = frame.be16(transport)
        s.destinationPort = frame.be16(transport + 2)
        if ipProtocol == 6 {
            s.layers.insert(.tcp)
            s.sequenceNumber = frame.be32(transport + 4)
            s.acknowledgmentNumber = frame.be32(transport + 8)
            s.tcpFlags = TCPFlags(rawValue: frame.be16(transport + 12) & 0x01FF)
            s.windowSize = frame.be16(transport + 14)
            s.urgentPointer = frame.be16(transport + 18)
            s.transportHeader = transport..<transport + tcpHeaderLength
            s.payload = transport + tcpHeaderLength..<capturedEnd
            s.payloadWireLength = segmentWire - tcpHeaderLength
            if tcpHeaderLength > TCPHeader.minimumLength {
                var options = TCPOptions(frame.extracting(transport + TCPHeader.minimumLength..<transport + tcpHeaderLength))
                do {
                    try options.decode(into: &s.tcpOptions)
                } catch {
                    s.problem = error
                }
            }
        } else {
            s.layers.insert(.udp)
            let declared = Int(frame.be16(transport + 4))
            s.udpLength = declared
            s.transportHeader = transport..<transport + UDPHeader.length
            s.payload = transport + UDPHeader.length..<transport + min(declared, captured)
            s.payloadWireLength = declared - UDPHeader.length
        }
        return true
    }

    // MARK: Link layer

    @inlinable
    static func dissectFrame<Store: FragmentStore>(_ frame: RawSpan, wire: Int, time: Int64, ports: TunnelPorts,
                                                   fragments: inout Store,
                                                   into s: inout PacketSummary) throws(DissectError) -> FragmentReassembler.Outcome {
        var offset: Int
        var etherType: UInt16
        switch s.linkType {
        case .ethernet:
            guard let next = try dissectEthernet(frame, at: 0, wire: wire, into: &s) else { return .stored }
            (offset, etherType) = next
        case .linuxSLL:
            s.layers.insert(.linuxSLL)
            let sll = try LinuxSLLHeader(frame, wire: wire)
            offset = LinuxSLLHeader.length
            etherType = sll.protocolType
        case .linuxSLL2:
            s.layers.insert(.linuxSLL2)
            let sll = try LinuxSLL2Header(frame, wire: wire)
            offset = LinuxSLL2Header.length
            etherType = sll.protocolType
        case .null, .loop:
            s.layers.insert(.loopback)
            let loopback = try LoopbackHeader(frame, wire: wire, networkOrder: s.linkType == .loop)
            offset = LoopbackHeader.length
            guard let version = loopback.ipVersion else { return .stored }
            etherType = version == 4 ? EtherType.ipv4 : EtherType.ipv6
        case .raw, .ipv4, .ipv6:
            try require(1, captured: frame.byteCount, wire: wire, layer: .link)
            s.layers.insert(.rawIP)
            offset = 0
            let version = frame.u8(0) >> 4
            if s.linkType == .ipv4 && version != 4 { throw DissectError(.ipv4, .wrongVersion(Int(version))) }
            if s.linkType == .ipv6 && version != 6 { throw DissectError(.ipv6, .wrongVersion(Int(version))) }
            switch version {
            case 4: etherType = EtherType.ipv4
            case 6: etherType = EtherType.ipv6
            default: throw DissectError(.link, .wrongVersion(Int(version)))
            }
        default:
            throw DissectError(.link, .unsupportedLinkType(Int(s.linkType.rawValue)))
        }
        return try dissectEtherType(etherType, frame, at: offset, wire: wire, time: time, ports: ports,
                                    fragments: &fragments, into: &s)
    }

    /// An Ethernet header at `offset` (the frame's, or one a tunnel carries), and the 802.2 LLC / SNAP
    /// header of an 802.3 frame: where the network layer starts and its EtherType, nil when an LLC
    /// frame carries no EtherType.
    @inlinable
    static func dissectEthernet(_ bytes: RawSpan, at offset: Int, wire: Int,
                                into s: inout PacketSummary) throws(DissectError) -> (Int, UInt16)? {
        s.layers.insert(.ethernet)
        let ethernet = try EthernetHeader(bytes.extracting(droppingFirst: offset), wire: wire - offset)
        s.sourceMAC = ethernet.source
        s.destinationMAC = ethernet.destination
        let next = offset + EthernetHeader.length
        guard ethernet.isLengthField else { return (next, ethernet.typeOrLength) }
        s.layers.insert(.llc)
        let llc = try LLCHeader(bytes.extracting(droppingFirst: next), wire: wire - next)
        guard let type = llc.snapEtherType else { return nil }
        return (next + llc.length, type)
    }

    /// VLAN tags, then the network layer an EtherType announces.
    @inlinable
    static func dissectEtherType<Store: FragmentStore>(_ type: UInt16, _ bytes: RawSpan, at start: Int, wire: Int,
                                                       time: Int64, ports: TunnelPorts, fragments: inout Store,
                                                       into s: inout PacketSummary) throws(DissectError) -> FragmentReassembler.Outcome {
        var offset = start
        var etherType = type
        while EtherType.isVLAN(etherType) {
            guard s.vlanCount < VLANHeader.maximumDepth else {
                throw DissectError(.vlan, .chainTooLong(limit: VLANHeader.maximumDepth))
            }
            s.layers.insert(.vlan)
            let vlan = try VLANHeader(bytes.extracting(droppingFirst: offset), wire: wire - offset)
            let tag = VLANTag(tpid: etherType, priority: vlan.priority, dropEligible: vlan.dropEligible, id: vlan.id)
            if s.vlanCount == 0 { s.outerVLAN = tag }
            s.innerVLAN = tag
            s.vlanCount += 1
            offset += VLANHeader.length
            etherType = vlan.nextType
        }
        s.etherType = etherType
        switch etherType {
        case EtherType.ipv4:
            return try dissectIPv4(bytes, at: offset, wire: wire, time: time, ports: ports, fragments: &fragments, into: &s)
        case EtherType.ipv6:
            return try dissectIPv6(bytes, at: offset, wire: wire, time: time, ports: ports, fragments: &fragments, into: &s)
        case EtherType.mplsUnicast, EtherType.mplsMulticast:
            return try dissectMPLS(bytes, at: offset, wire: wire, time: time, ports: ports, fragments: &fragments, into: &s)
        case EtherType.arp:
            s.layers.insert(.arp)
        default:
            break
        }
        return .stored
    }

    // MARK: Network layer

    @inlinable
    static func dissectIPv4<Store: FragmentStore>(_ frame: RawSpan, at offset: Int, wire: Int, time: Int64,
                                                  ports: TunnelPorts, fragments: inout Store,
                                                  into s: inout PacketSummary) throws(DissectError) -> FragmentReassembler.Outcome {
        s.layers.insert(.ipv4)
        let ip = try IPv4Header(frame.extracting(droppingFirst: offset), wire: wire - offset)
        s.ipVersion = 4
        s.source = IPAddress(ipv4: ip.source)
        s.destination = IPAddress(ipv4: ip.destination)
        s.ttl = ip.timeToLive
        s.dscp = ip.dscp
        s.ecn = ip.ecn
        s.ipIdentification = UInt32(ip.identification)
        s.dontFragment = ip.dontFragment
        s.ipLength = ip.totalLength
        s.ipProtocol = ip.protocolNumber
        s.fragmentOffset = ip.fragmentOffset
        s.moreFragments = ip.moreFragments
        s.ipHeader = offset..<offset + ip.headerLength
        if ip.headerLength > IPv4Header.minimumLength {
            s.layers.insert(.ipOptions)
            var options = ip.options
            do {
                while let option = try options.next() {
                    if let final = options.finalDestination(of: option) { s.destination = IPAddress(ipv4: final) }
                }
            } catch {
                s.problem = s.problem ?? error   // a bad option does not hide the transport layer
            }
        }
        let start = offset + ip.headerLength
        // The total length ends the datagram (Ethernet pads short frames); a total length past the
        // end of the packet is reported, and what there is gets dissected. A total length of 0 is
        // what TCP segmentation offload leaves in a captured outgoing packet: the frame gives it.
        let datagramEnd = ip.totalLength == 0 ? wire : offset + ip.totalLength
        if datagramEnd > wire {
            s.problem = s.problem ?? DissectError(.ipv4, .lengthPastEnd(field: .totalLength, value: ip.totalLength,
                                                                         available: wire - offset))
        }
        let wireEnd = min(datagramEnd, wire)
        let capturedEnd = min(wireEnd, frame.byteCount)
        if ip.isFragment {
            s.layers.insert(.fragment)
            // A fragment the snaplen cut cannot be part of a whole datagram.
            guard capturedEnd == wireEnd else { return .stored }
            return fragments.add(source: s.source, destination: s.destination, identification: s.ipIdentification,
                                 ipProtocol: s.ipProtocol, offset: ip.fragmentOffset, moreFragments: ip.moreFragments,
                                 payload: frame.extracting(start..<max(start, capturedEnd)), time: time)
        }
        return try dissectIPPayload(frame, at: start, wireEnd: wireEnd, time: time, ports: ports,
                                    fragments: &fragments, into: &s)
    }

    @inlinable
    static func dissectIPv6<Store: FragmentStore>(_ frame: RawSpan, at offset: Int, wire: Int, time: Int64,
                                                  ports: TunnelPorts, fragments: inout Store,
                                                  into s: inout PacketSummary) throws(DissectError) -> FragmentReassembler.Outcome {
        let packet = frame.extracting(droppingFirst: offset)
        s.layers.insert(.ipv6)
        let ip = try IPv6Header(packet, wire: wire - offset)
        s.ipVersion = 6
        s.source = ip.source
        s.destination = ip.destination
        s.ttl = ip.hopLimit
        s.dscp = ip.dscp
        s.ecn = ip.ecn
        s.ipLength = IPv6Header.length + ip.payloadLength
        // A payload length of 0 with a hop-by-hop header is a jumbogram (RFC 2675): the frame
        // gives the length.
        var datagramEnd = offset + IPv6Header.length + ip.payloadLength
        if ip.payloadLength == 0 && ip.nextHeader == IPv6NextHeader.hopByHop { datagramEnd = wire }
        if datagramEnd > wire {
            s.problem = s.problem ?? DissectError(.ipv6, .lengthPastEnd(field: .payloadLength, value: ip.payloadLength,
                                                                         available: wire - offset - IPv6Header.length))
        }
        let wireEnd = min(datagramEnd, wire)
        var chain = IPv6ExtensionHeaders(packet, wire: wireEnd - offset, first: ip.nextHeader)
        while let header = try chain.next() {
            s.layers.insert(.ipOptions)
            if header.type == IPv6NextHeader.hopByHop || header.type == IPv6NextHeader.destinationOptions {
                var options = IPv6HeaderOptions(packet.extracting(header.range))
                while let option = try options.next() {
                    // A Home Address option must hold an address; one that does not is reported and
                    // ends this header's options (the chain itself goes on, as Wireshark reads it).
                    if option.type == IPv6HeaderOptions.homeAddress && option.data.count != 16 {
                        s.problem = s.problem ?? DissectError(.ipv6Extension, .badOption(kind: Int(option.type),
                                                                                         length: option.data.count))
                        break
                    }
                }
            }
            guard header.type == IPv6NextHeader.fragment else { continue }
            let fragment = IPv6FragmentHeader(packet.extracting(header.range))
            // An "atomic fragment" (offset 0, no more fragments) is a whole datagram.
            guard fragment.fragmentOffset != 0 || fragment.moreFragments else { continue }
            s.layers.insert(.fragment)
            s.ipIdentification = fragment.identification
            s.fragmentOffset = fragment.fragmentOffset
            s.moreFragments = fragment.moreFragments
            s.ipProtocol = chain.nextHeader
            s.ipHeader = offset..<offset + header.range.upperBound
            let start = offset + header.range.upperBound
            let capturedEnd = min(wireEnd, frame.byteCount)
            guard capturedEnd == wireEnd, start <= capturedEnd else { return .stored }
            return fragments.add(source: s.source, destination: s.destination, identification: fragment.identification,
                                 ipProtocol: chain.nextHeader, offset: fragment.fragmentOffset,
                                 moreFragments: fragment.moreFragments, payload: frame.extracting(start..<capturedEnd),
                                 time: time)
        }
        s.ipProtocol = chain.nextHeader
        let start = offset + chain.upperLayerOffset
        s.ipHeader = offset..<start
        return try dissectIPPayload(frame, at: start, wireEnd: wireEnd, time: time, ports: ports,
                                    fragments: &fragments, into: &s)
    }

    /// What an IP datagram carries from `start` (its last byte on the wire is before `wireEnd`): IP
    /// itself (protocols 4 and 41), GRE, a tunnel over UDP, else the transport layer.
    @inlinable
    static func dissectIPPayload<Store: FragmentStore>(_ bytes: RawSpan, at start: Int, wireEnd: Int, time: Int64,
                                                       ports: TunnelPorts, fragments: inout Store,
                                                       into s: inout PacketSummary) throws(DissectError) -> FragmentReassembler.Outcome {
        switch s.ipProtocol {
        case 4:
            try s.enterTunnel(.ipInIP)
            return try dissectIPv4(bytes, at: start, wire: wireEnd, time: time, ports: ports, fragments: &fragments, into: &s)
        case 41:
            try s.enterTunnel(.ipInIP)
            return try dissectIPv6(bytes, at: start, wire: wireEnd, time: time, ports: ports, fragments: &fragments, into: &s)
        case 47:
            return try dissectGRE(bytes, at: start, wire: wireEnd, time: time, ports: ports, fragments: &fragments, into: &s)
        default:
            let capturedEnd = min(wireEnd, bytes.byteCount)
            try dissectTransport(bytes.extracting(start..<max(start, capturedEnd)), wire: wireEnd - start,
                                 protocolNumber: s.ipProtocol, base: start, into: &s)
            guard s.ipProtocol == 17, let kind = ports.tunnel(s.sourcePort, s.destinationPort) else { return .stored }
            let payloadStart = s.payload.lowerBound
            return try dissectUDPTunnel(kind, bytes, at: payloadStart, wire: payloadStart + s.payloadWireLength,
                                        time: time, ports: ports, fragments: &fragments, into: &s)
        }
    }

    /// A reassembled datagram: for IPv6 its first bytes may still be extension headers.
    @inlinable
    static func dissectReassembled<Store: FragmentStore>(_ datagram: RawSpan, time: Int64, ports: TunnelPorts,
                                                         fragments: inout Store,
                                                         into s: inout PacketSummary) throws(DissectError) {
        var start = 0
        var type = s.ipProtocol
        var count = 0
        while s.ipVersion == 6 && IPv6NextHeader.isExtension(type) && type != IPv6NextHeader.fragment {
            guard count < IPv6ExtensionHeaders.maximumChain else {
                throw DissectError(.ipv6Extension, .chainTooLong(limit: IPv6ExtensionHeaders.maximumChain))
            }
            try require(start + 8, captured: datagram.byteCount, wire: datagram.byteCount, layer: .ipv6Extension)
            let length = type == IPv6NextHeader.authentication
                ? (Int(datagram.u8(start + 1)) + 2) * 4 : (Int(datagram.u8(start + 1)) + 1) * 8
            try require(start + length, captured: datagram.byteCount, wire: datagram.byteCount, layer: .ipv6Extension)
            type = datagram.u8(start)
            start += length
            count += 1
        }
        s.ipProtocol = type
        _ = try dissectIPPayload(datagram, at: start, wireEnd: datagram.byteCount, time: time, ports: ports,
                                 fragments: &fragments, into: &s)
    }

    // MARK: Tunnels

    /// GRE, and what its protocol type announces: Ethernet (transparent bridging, NVGRE), ERSPAN,
    /// MPLS, IP, or anything else with an EtherType.
    @inlinable
    static func dissectGRE<Store: FragmentStore>(_ bytes: RawSpan, at start: Int, wire: Int, time: Int64,
                                                 ports: TunnelPorts, fragments: inout Store,
                                                 into s: inout PacketSummary) throws(DissectError) -> FragmentReassembler.Outcome {
        let gre = try GREHeader(bytes.extracting(droppingFirst: start), wire: wire - start)
        try s.enterTunnel(.gre)
        s.encapsulation?.greKey = gre.key
        s.encapsulation?.greSequence = gre.sequenceNumber
        let next = start + gre.headerLength
        guard !gre.hasRouting else { return .stored }
        switch gre.protocolType {
        case GREHeader.transparentEthernetBridging:
            return try dissectBridged(bytes, at: next, wire: wire, time: time, ports: ports, fragments: &fragments, into: &s)
        case GREHeader.erspanTypeII where gre.sequenceNumber == nil:
            // ERSPAN type I: no header of its own, the mirrored frame follows GRE.
            try s.enterTunnel(.erspan)
            s.encapsulation?.erspanVersion = 0
            return try dissectBridged(bytes, at: next, wire: wire, time: time, ports: ports, fragments: &fragments, into: &s)
        case GREHeader.erspanTypeII, GREHeader.erspanTypeIII:
            let erspan = try ERSPANHeader(bytes.extracting(droppingFirst: next), wire: wire - next,
                                          typeIII: gre.protocolType == GREHeader.erspanTypeIII)
            try s.enterTunnel(.erspan)
            s.encapsulation?.erspanVersion = erspan.version
            s.encapsulation?.erspanSpanID = erspan.spanID
            guard erspan.carriesEthernet else { return .stored }
            return try dissectBridged(bytes, at: next + erspan.headerLength, wire: wire, time: time, ports: ports,
                                      fragments: &fragments, into: &s)
        default:
            return try dissectEtherType(gre.protocolType, bytes, at: next, wire: wire, time: time, ports: ports,
                                        fragments: &fragments, into: &s)
        }
    }

    /// VXLAN, Geneve or GTP-U in a UDP datagram whose payload starts at `start`.
    @inlinable
    static func dissectUDPTunnel<Store: FragmentStore>(_ kind: TunnelKind, _ bytes: RawSpan, at start: Int, wire: Int,
                                                       time: Int64, ports: TunnelPorts, fragments: inout Store,
                                                       into s: inout PacketSummary) throws(DissectError) -> FragmentReassembler.Outcome {
        let payload = bytes.extracting(droppingFirst: start)
        switch kind {
        case .vxlan:
            let vxlan = try VXLANHeader(payload, wire: wire - start)
            try s.enterTunnel(.vxlan)
            s.encapsulation?.vxlanVNI = vxlan.vni
            return try dissectBridged(bytes, at: start + VXLANHeader.length, wire: wire, time: time, ports: ports,
                                      fragments: &fragments, into: &s)
        case .geneve:
            let geneve = try GeneveHeader(payload, wire: wire - start)
            try s.enterTunnel(.geneve)
            s.encapsulation?.geneveVNI = geneve.vni
            s.encapsulation?.geneveOptionCount = UInt8(geneve.optionCount)
            let next = start + geneve.headerLength
            if geneve.protocolType == GREHeader.transparentEthernetBridging {
                return try dissectBridged(bytes, at: next, wire: wire, time: time, ports: ports, fragments: &fragments, into: &s)
            }
            return try dissectEtherType(geneve.protocolType, bytes, at: next, wire: wire, time: time, ports: ports,
                                        fragments: &fragments, into: &s)
        case .gtpU:
            let gtp = try GTPUHeader(payload, wire: wire - start)
            try s.enterTunnel(.gtpU)
            s.encapsulation?.gtpTEID = gtp.teid
            guard gtp.messageType == GTPUHeader.gPDU else { return .stored }
            return try dissectGuessedIP(bytes, at: start + gtp.headerLength, wire: wire, time: time, ports: ports,
                                        fragments: &fragments, into: &s)
        default:
            return .stored
        }
    }

    /// An Ethernet frame a tunnel carries.
    @inlinable
    static func dissectBridged<Store: FragmentStore>(_ bytes: RawSpan, at start: Int, wire: Int, time: Int64,
                                                     ports: TunnelPorts, fragments: inout Store,
                                                     into s: inout PacketSummary) throws(DissectError) -> FragmentReassembler.Outcome {
        guard let (offset, type) = try dissectEthernet(bytes, at: start, wire: wire, into: &s) else { return .stored }
        return try dissectEtherType(type, bytes, at: offset, wire: wire, time: time, ports: ports,
                                    fragments: &fragments, into: &s)
    }

    /// An MPLS label stack, then what its bottom label carries, guessed from the first nibble.
    @inlinable
    static func dissectMPLS<Store: FragmentStore>(_ bytes: RawSpan, at start: Int, wire: Int, time: Int64,
                                                  ports: TunnelPorts, fragments: inout Store,
                                                  into s: inout PacketSummary) throws(DissectError) -> FragmentReassembler.Outcome {
        var offset = start
        var depth = 0
        var bottom: UInt32 = 0
        while true {
            guard depth < MPLSLabel.maximumStackDepth else {
                throw DissectError(.mpls, .chainTooLong(limit: MPLSLabel.maximumStackDepth))
            }
            let entry = try MPLSLabel(bytes.extracting(droppingFirst: offset), wire: wire - offset)
            offset += MPLSLabel.length
            depth += 1
            if entry.isBottomOfStack {
                bottom = entry.label
                break
            }
        }
        try s.enterTunnel(.mpls)
        s.encapsulation?.mplsLabel = bottom
        s.encapsulation?.mplsStackDepth = UInt8(depth)
        return try dissectGuessedIP(bytes, at: offset, wire: wire, time: time, ports: ports, fragments: &fragments, into: &s)
    }

    /// IPv4 or IPv6 by the version nibble, for tunnels that do not say what they carry (MPLS,
    /// GTP-U); anything else is left undissected.
    @inlinable
    static func dissectGuessedIP<Store: FragmentStore>(_ bytes: RawSpan, at start: Int, wire: Int, time: Int64,
                                                       ports: TunnelPorts, fragments: inout Store,
                                                       into s: inout PacketSummary) throws(DissectError) -> FragmentReassembler.Outcome {
        guard start < min(wire, bytes.byteCount) else { return .stored }
        switch bytes.u8(start) >> 4 {
        case 4:
            s.etherType = EtherType.ipv4
            return try dissectIPv4(bytes, at: start, wire: wire, time: time, ports: ports, fragments: &fragments, into: &s)
        case 6:
            s.etherType = EtherType.ipv6
            return try dissectIPv6(bytes, at: start, wire: wire, time: time, ports: ports, fragments: &fragments, into: &s)
        default:
            return .stored
        }
    }

    // MARK: Transport layer

    /// `segment` runs from the transport header to the end of the captured datagram; `wire` is the
    /// datagram's transport bytes on the wire; `base` is where `segment` starts in the bytes the
    /// summary's ranges refer to.
    @inlinable
    static func dissectTransport(_ segment: RawSpan, wire: Int, protocolNumber: UInt8, base: Int,
                                 into s: inout PacketSummary) throws(DissectError) {
        switch protocolNumber {
        case 6:
            s.layers.insert(.tcp)
            let tcp = try TCPHeader(segment, wire: wire)
            s.sourcePort = tcp.sourcePort
            s.destinationPort = tcp.destinationPort
            s.sequenceNumber = tcp.sequenceNumber
            s.acknowledgmentNumber = tcp.acknowledgmentNumber
            s.tcpFlags = tcp.flags
            s.windowSize = tcp.windowSize
            s.urgentPointer = tcp.urgentPointer
            let captured = min(tcp.dataOffset, segment.byteCount)
            s.transportHeader = base..<base + captured
            s.payload = base + captured..<base + segment.byteCount
            s.payloadWireLength = wire - tcp.dataOffset
            if tcp.isCut {
                s.problem = s.problem ?? DissectError(.tcp, .cut(needed: tcp.dataOffset, captured: segment.byteCount))
            }
            var options = tcp.options
            do {
                try options.decode(into: &s.tcpOptions)
            } catch {
                s.problem = s.problem ?? error
            }
        case 17:
            s.layers.insert(.udp)
            let udp = try UDPHeader(segment, wire: wire)
            s.sourcePort = udp.sourcePort
            s.destinationPort = udp.destinationPort
            s.udpLength = udp.length
            s.transportHeader = base..<base + UDPHeader.length
            let declared = udp.length == 0 ? wire : udp.length
            if declared > wire {
                s.problem = s.problem ?? DissectError(.udp, .lengthPastEnd(field: .udpLength, value: declared, available: wire))
            }
            let end = min(declared, wire)
            s.payload = base + UDPHeader.length..<base + max(UDPHeader.length, min(end, segment.byteCount))
            s.payloadWireLength = end - UDPHeader.length
        case 1:
            s.layers.insert(.icmp)
            let icmp = try ICMPHeader(segment, wire: wire)
            s.icmpType = icmp.type
            s.icmpCode = icmp.code
            s.icmpMTU = icmp.nextHopMTU.map(UInt32.init)
            s.transportHeader = base..<base + ICMPHeader.length
            s.payload = base + ICMPHeader.length..<base + segment.byteCount
            s.payloadWireLength = wire - ICMPHeader.length
            if icmp.isError { dissectQuoted(segment.extracting(droppingFirst: ICMPHeader.length), into: &s) }
        case 58:
            s.layers.insert(.icmpv6)
            let icmp = try ICMPv6Header(segment, wire: wire)
            s.icmpType = icmp.type
            s.icmpCode = icmp.code
            s.icmpMTU = icmp.mtu
            let header = min(ICMPv6Header.length, segment.byteCount)
            s.transportHeader = base..<base + header
            s.payload = base + header..<base + segment.byteCount
            s.payloadWireLength = max(0, wire - ICMPv6Header.length)
            if icmp.isError && segment.byteCount > ICMPv6Header.length {
                dissectQuoted(segment.extracting(droppingFirst: ICMPv6Header.length), into: &s)
            }
        default:
            s.payload = base..<base + segment.byteCount
            s.payloadWireLength = wire
        }
    }

    /// The header an ICMP error quotes: the flow it is about. Quotes are often short, so whatever
    /// is missing is simply not filled in; it never makes the packet malformed.
    @inlinable
    static func dissectQuoted(_ quote: RawSpan, into s: inout PacketSummary) {
        guard quote.byteCount >= 1 else { return }
        var flow = EmbeddedFlow()
        var transport: RawSpan
        switch quote.u8(0) >> 4 {
        case 4:
            guard let ip = try? IPv4Header(quote, wire: quote.byteCount) else { return }
            s.layers.insert(.embeddedIPv4)
            flow.source = IPAddress(ipv4: ip.source)
            flow.destination = IPAddress(ipv4: ip.destination)
            flow.ipProtocol = ip.protocolNumber
            transport = quote.extracting(droppingFirst: ip.headerLength)
        case 6:
            guard let ip = try? IPv6Header(quote, wire: quote.byteCount) else { return }
            s.layers.insert(.embeddedIPv6)
            flow.source = ip.source
            flow.destination = ip.destination
            var chain = IPv6ExtensionHeaders(quote, wire: quote.byteCount, first: ip.nextHeader)
            while (try? chain.next()) ?? nil != nil {}
            flow.ipProtocol = chain.nextHeader
            transport = quote.extracting(droppingFirst: min(chain.upperLayerOffset, quote.byteCount))
        default:
            return
        }
        if (flow.ipProtocol == 6 || flow.ipProtocol == 17) && transport.byteCount >= 4 {
            flow.sourcePort = transport.be16(0)
            flow.destinationPort = transport.be16(2)
            s.layers.insert(flow.ipProtocol == 6 ? .embeddedTCP : .embeddedUDP)
        }
        s.embedded = flow
    }
}
