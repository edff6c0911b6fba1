import NetsiftCapture

/// Which layers a packet holds. `embedded*` are the headers quoted inside an ICMP error.
public struct LayerSet: Decodable, OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

    // Constants, not `static let`: a stored static is reached from other modules through an
    // accessor that checks its lazy initialisation on every use; these fold into the caller.
    @inlinable public static var ethernet: LayerSet { LayerSet(rawValue: 1 << 0) }
    @inlinable public static var llc: LayerSet { LayerSet(rawValue: 1 << 1) }
    @inlinable public static var vlan: LayerSet { LayerSet(rawValue: 1 << 2) }
    @inlinable public static var linuxSLL: LayerSet { LayerSet(rawValue: 1 << 3) }
    @inlinable public static var linuxSLL2: LayerSet { LayerSet(rawValue: 1 << 4) }
    @inlinable public static var loopback: LayerSet { LayerSet(rawValue: 1 << 5) }
    @inlinable public static var rawIP: LayerSet { LayerSet(rawValue: 1 << 6) }
    @inlinable public static var ipv4: LayerSet { LayerSet(rawValue: 1 << 7) }
    @inlinable public static var ipv6: LayerSet { LayerSet(rawValue: 1 << 8) }
    @inlinable public static var tcp: LayerSet { LayerSet(rawValue: 1 << 9) }
    @inlinable public static var udp: LayerSet { LayerSet(rawValue: 1 << 10) }
    @inlinable public static var icmp: LayerSet { LayerSet(rawValue: 1 << 11) }
    @inlinable public static var icmpv6: LayerSet { LayerSet(rawValue: 1 << 12) }
    @inlinable public static var arp: LayerSet { LayerSet(rawValue: 1 << 13) }
    /// This frame is an IP fragment.
    @inlinable public static var fragment: LayerSet { LayerSet(rawValue: 1 << 14) }
    /// This frame completed a fragmented datagram; the transport layer is the reassembled one.
    @inlinable public static var reassembled: LayerSet { LayerSet(rawValue: 1 << 15) }
    @inlinable public static var embeddedIPv4: LayerSet { LayerSet(rawValue: 1 << 16) }
    @inlinable public static var embeddedIPv6: LayerSet { LayerSet(rawValue: 1 << 17) }
    @inlinable public static var embeddedTCP: LayerSet { LayerSet(rawValue: 1 << 18) }
    @inlinable public static var embeddedUDP: LayerSet { LayerSet(rawValue: 1 << 19) }
    /// IPv4 options or IPv6 extension headers are present.
    @inlinable public static var ipOptions: LayerSet { LayerSet(rawValue: 1 << 20) }
}

/// One 802.1Q / 802.1ad tag.
public struct VLANTag: Decodable, Sendable, Equatable {
    /// The TPID that announced the tag: 0x8100 (802.1Q C-tag), 0x88a8 (802.1ad S-tag), 0x9100.
    public var tpid: UInt16
    public var priority: UInt8
    public var dropEligible: Bool
    public var id: UInt16
    @inlinable public init(tpid: UInt16 = 0, priority: UInt8 = 0, dropEligible: Bool = false, id: UInt16 = 0) {
        self.tpid = tpid
        self.priority = priority
        self.dropEligible = dropEligible
        self.id = id
    }
}

/// TCP flags in header order (CWR ECE URG ACK PSH RST SYN FIN), plus AE (formerly NS).
public struct TCPFlags: Decodable, OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    // Constants, not `static let` (see LayerSet).
    @inlinable public static var fin: TCPFlags { TCPFlags(rawValue: 0x001) }
    @inlinable public static var syn: TCPFlags { TCPFlags(rawValue: 0x002) }
    @inlinable public static var rst: TCPFlags { TCPFlags(rawValue: 0x004) }
    @inlinable public static var psh: TCPFlags { TCPFlags(rawValue: 0x008) }
    @inlinable public static var ack: TCPFlags { TCPFlags(rawValue: 0x010) }
    @inlinable public static var urg: TCPFlags { TCPFlags(rawValue: 0x020) }
    @inlinable public static var ece: TCPFlags { TCPFlags(rawValue: 0x040) }
    @inlinable public static var cwr: TCPFlags { TCPFlags(rawValue: 0x080) }
    @inlinable public static var ae: TCPFlags { TCPFlags(rawValue: 0x100) }

    /// tcpdump's letters: S F R P U E W and "." for ACK.
    public var letters: String {
        var s = ""
        if contains(.syn) { s += "S" }
        if contains(.fin) { s += "F" }
        if contains(.rst) { s += "R" }
        if contains(.psh) { s += "P" }
        if contains(.urg) { s += "U" }
        if contains(.ece) { s += "E" }
        if contains(.cwr) { s += "W" }
        if contains(.ack) { s += "." }
        return s.isEmpty ? "none" : s
    }
}

/// The TCP options that later stages use, decoded once. The full list (unknown kinds included)
/// is walked again from the header bytes by whoever prints it (`TCPOptions`).
@frozen public struct TCPOptionSummary: Decodable, Sendable, Equatable {
    public var mss: UInt16?
    public var windowScale: UInt8?
    public var sackPermitted = false
    /// Up to four SACK blocks (left edge, right edge), in the order the option lists them.
    public var sackBlockCount: UInt8 = 0
    public var sackBlocks: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    public var timestampValue: UInt32?
    public var timestampEcho: UInt32?
    /// TCP Fast Open (kind 34): present, and the cookie's length (0 for a cookie request).
    public var fastOpenCookieLength: UInt8?
    /// MPTCP (kind 30): the first option's subtype.
    public var mptcpSubtype: UInt8?
    public var optionCount: UInt8 = 0
    public var unknownCount: UInt8 = 0

    @inlinable public init() {}

    /// The SACK blocks as (left, right) edges.
    public var sack: [(left: UInt32, right: UInt32)] {
        let all = [sackBlocks.0, sackBlocks.1, sackBlocks.2, sackBlocks.3]
        return all.prefix(Int(sackBlockCount)).map { (UInt32(truncatingIfNeeded: $0 >> 32), UInt32(truncatingIfNeeded: $0)) }
    }

    /// The bytes the first `limit` SACK blocks cover (right edge less left edge, each), without
    /// building the list; nil when the segment carries no SACK block.
    @inlinable public func sackedBytes(firstBlocks limit: Int) -> UInt32? {
        guard sackBlockCount > 0 else { return nil }
        func covered(_ packed: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: packed) &- UInt32(truncatingIfNeeded: packed >> 32) }
        let count = min(Int(sackBlockCount), limit)
        var total: UInt32 = 0
        if count > 0 { total &+= covered(sackBlocks.0) }
        if count > 1 { total &+= covered(sackBlocks.1) }
        if count > 2 { total &+= covered(sackBlocks.2) }
        if count > 3 { total &+= covered(sackBlocks.3) }
        return total
    }

    @inlinable mutating func addSACK(left: UInt32, right: UInt32) {
        let packed = UInt64(left) << 32 | UInt64(right)
        switch sackBlockCount {
        case 0: sackBlocks.0 = packed
        case 1: sackBlocks.1 = packed
        case 2: sackBlocks.2 = packed
        case 3: sackBlocks.3 = packed
        default: return
        }
        sackBlockCount += 1
    }

    public static func == (a: TCPOptionSummary, b: TCPOptionSummary) -> Bool {
        a.mss == b.mss && a.windowScale == b.windowScale && a.sackPermitted == b.sackPermitted
            && a.sack.map(\.left) == b.sack.map(\.left) && a.sack.map(\.right) == b.sack.map(\.right)
            && a.timestampValue == b.timestampValue && a.timestampEcho == b.timestampEcho
            && a.fastOpenCookieLength == b.fastOpenCookieLength && a.mptcpSubtype == b.mptcpSubtype
            && a.optionCount == b.optionCount && a.unknownCount == b.unknownCount
    }
}

extension TCPOptionSummary {
    private enum Keys: String, CodingKey {
        case mss, windowScale, sackPermitted, sackBlockCount, sackBlocks, timestampValue, timestampEcho
        case fastOpenCookieLength, mptcpSubtype, optionCount, unknownCount
    }

    /// Read back from a shard's replay record (the SACK blocks, a tuple, as an array of four).
    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: Keys.self)
        mss = try c.decodeIfPresent(UInt16.self, forKey: .mss)
        windowScale = try c.decodeIfPresent(UInt8.self, forKey: .windowScale)
        sackPermitted = try c.decode(Bool.self, forKey: .sackPermitted)
        sackBlockCount = try c.decode(UInt8.self, forKey: .sackBlockCount)
        let blocks = try c.decode([UInt64].self, forKey: .sackBlocks)
        guard blocks.count == 4 else {
            throw DecodingError.dataCorruptedError(forKey: .sackBlocks, in: c, debugDescription: "four SACK blocks")
        }
        sackBlocks = (blocks[0], blocks[1], blocks[2], blocks[3])
        timestampValue = try c.decodeIfPresent(UInt32.self, forKey: .timestampValue)
        timestampEcho = try c.decodeIfPresent(UInt32.self, forKey: .timestampEcho)
        fastOpenCookieLength = try c.decodeIfPresent(UInt8.self, forKey: .fastOpenCookieLength)
        mptcpSubtype = try c.decodeIfPresent(UInt8.self, forKey: .mptcpSubtype)
        optionCount = try c.decode(UInt8.self, forKey: .optionCount)
        unknownCount = try c.decode(UInt8.self, forKey: .unknownCount)
    }
}

/// The flow an ICMP error is about: the quoted original header.
public struct EmbeddedFlow: Decodable, Sendable, Equatable {
    public var source = IPAddress.zero
    public var destination = IPAddress.zero
    public var ipProtocol: UInt8 = 0
    public var sourcePort: UInt16 = 0
    public var destinationPort: UInt16 = 0
    @inlinable public init() {}
}

/// Everything the dissector learned about one packet, as a fixed-size plain value: later stages
/// (flow tracker, application dissectors, reports) read it instead of the bytes. Ranges refer to
/// the bytes handed out with the summary (the frame, or a reassembled datagram).
@frozen public struct PacketSummary: Decodable, Sendable {
    public var layers: LayerSet = []
    public var linkType = LinkType.ethernet
    // Link layer
    public var sourceMAC: UInt64 = 0
    public var destinationMAC: UInt64 = 0
    /// The EtherType (or SLL protocol) of the network layer, after any VLAN tags.
    public var etherType: UInt16 = 0
    public var vlanCount: UInt8 = 0
    /// The outermost and the innermost tag (the same when there is one).
    public var outerVLAN = VLANTag()
    public var innerVLAN = VLANTag()
    // Network layer
    public var ipVersion: UInt8 = 0
    public var source = IPAddress.zero
    public var destination = IPAddress.zero
    public var ttl: UInt8 = 0
    public var dscp: UInt8 = 0
    public var ecn: UInt8 = 0
    /// IPv4 identification, or the IPv6 fragment header's identification.
    public var ipIdentification: UInt32 = 0
    public var dontFragment = false
    /// IPv4 total length or IPv6 payload length + 40, as the header says.
    public var ipLength = 0
    /// The upper-layer protocol after any extension headers (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6...).
    public var ipProtocol: UInt8 = 0
    public var fragmentOffset = 0
    public var moreFragments = false
    /// Where the IP header starts in the frame, and its length with options / extension headers.
    public var ipHeader = 0..<0
    // Transport layer
    public var sourcePort: UInt16 = 0
    public var destinationPort: UInt16 = 0
    public var sequenceNumber: UInt32 = 0
    public var acknowledgmentNumber: UInt32 = 0
    public var tcpFlags: TCPFlags = []
    public var windowSize: UInt16 = 0
    public var urgentPointer: UInt16 = 0
    public var tcpOptions = TCPOptionSummary()
    public var udpLength = 0
    public var icmpType: UInt8 = 0
    public var icmpCode: UInt8 = 0
    /// ICMP fragmentation-needed next-hop MTU, or ICMPv6 packet-too-big MTU.
    public var icmpMTU: UInt32?
    public var embedded: EmbeddedFlow?
    /// Where the transport header starts and ends.
    public var transportHeader = 0..<0
    /// The transport payload within the bytes (captured part), and its length on the wire.
    public var payload = 0..<0
    public var payloadWireLength = 0
    /// The first problem met, if any; layers below it are complete, layers above it missing.
    public var problem: DissectError?
    /// The tunnels this packet was found in (VXLAN, GRE...); nil for a packet that is not
    /// encapsulated. Everything above describes the innermost packet.
    public var encapsulation: Encapsulation?

    @inlinable public init() {}

    /// A tunnel header was read: what was dissected so far becomes the outside of the packet the
    /// tunnel carries, and the summary starts over for that packet (keeping the link type, the
    /// first problem and the tunnels). Throws once `Encapsulation.maximumDepth` tunnels are open.
    @inlinable mutating func enterTunnel(_ kind: TunnelKind) throws(DissectError) {
        var tunnels = encapsulation ?? Encapsulation()
        guard Int(tunnels.depth) < Encapsulation.maximumDepth else {
            throw DissectError(kind == .ipInIP && ipVersion == 6 ? .ipv6 : kind.layer, .chainTooLong(limit: Encapsulation.maximumDepth))
        }
        if ipVersion != 0 {
            if tunnels.depth == 0 {
                // A reassembled datagram's header is its last fragment's: its length is not the
                // datagram's.
                tunnels.underlayFragmented = layers.contains(.reassembled)
                tunnels.underlayIPLength = tunnels.underlayFragmented ? 0 : ipLength
            }
            tunnels.outerSource = source
            tunnels.outerDestination = destination
            tunnels.outerIPLength = ipLength
        }
        let udp = layers.contains(.udp)
        tunnels.outerSourcePort = udp ? sourcePort : 0
        tunnels.outerDestinationPort = udp ? destinationPort : 0
        tunnels.depth += 1
        tunnels.kinds.insert(TunnelKinds(kind))
        tunnels.outerLayers.formUnion(layers)
        tunnels.kind = kind
        var inner = PacketSummary()
        inner.linkType = linkType
        inner.problem = problem
        inner.encapsulation = tunnels
        self = inner
    }

    /// Whether the packet is worth a look on its own, apart from its conversation: its dissection
    /// met a problem, or it is an ICMP error quoting another packet's headers.
    @inlinable public var isUnusual: Bool { problem != nil || embedded != nil }

    @inlinable public var isTCP: Bool { layers.contains(.tcp) }
    @inlinable public var isUDP: Bool { layers.contains(.udp) }
}
