import NetsiftCapture

/// The tunnels the dissector opens. The packet inside goes through the same walk, and the summary
/// describes it; the tunnel is kept as `PacketSummary.encapsulation`.
public enum TunnelKind: UInt8, Sendable, CaseIterable, Codable {
    /// IPv4 or IPv6 directly inside IPv4 or IPv6 (protocols 4 and 41: 4in4, 6in4, 4in6, 6in6).
    case ipInIP = 1
    case gre, vxlan, geneve, erspan, mpls, gtpU

    /// The name tshark gives the protocol (`frame.protocols`), also our display-filter prefix.
    public var name: String {
        switch self {
        case .ipInIP: "ip_in_ip"
        case .gre: "gre"
        case .vxlan: "vxlan"
        case .geneve: "geneve"
        case .erspan: "erspan"
        case .mpls: "mpls"
        case .gtpU: "gtp"
        }
    }

    /// The layer a problem with its header is reported in.
    @inlinable public var layer: Layer {
        switch self {
        case .ipInIP: .ipv4
        case .gre: .gre
        case .vxlan: .vxlan
        case .geneve: .geneve
        case .erspan: .erspan
        case .mpls: .mpls
        case .gtpU: .gtpU
        }
    }

    /// How `packets` writes it.
    public var label: String {
        switch self {
        case .ipInIP: "IPIP"
        case .gre: "GRE"
        case .vxlan: "VXLAN"
        case .geneve: "Geneve"
        case .erspan: "ERSPAN"
        case .mpls: "MPLS"
        case .gtpU: "GTP-U"
        }
    }

    /// What its identifier is called: a VXLAN network identifier, a GRE key...
    public var identifierName: String? {
        switch self {
        case .ipInIP: nil
        case .gre: "key"
        case .vxlan, .geneve: "vni"
        case .erspan: "span"
        case .mpls: "label"
        case .gtpU: "teid"
        }
    }

    /// Whether both directions of a conversation carry the same identifier: a VXLAN segment is one
    /// VNI (RFC 7348 §4) and an ERSPAN session one span id, so those separate conversations. GRE keys
    /// (Linux's ikey / okey), MPLS labels and GTP TEIDs are chosen per direction, and OVN's Geneve
    /// VNIs name the sending datapath: they cannot key a conversation.
    @inlinable public var identifierIsSymmetric: Bool { self == .vxlan || self == .erspan }
}

/// Every tunnel kind a packet went through.
public struct TunnelKinds: Decodable, OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }
    @inlinable public init(_ kind: TunnelKind) { rawValue = 1 << (kind.rawValue - 1) }
    @inlinable public func contains(_ kind: TunnelKind) -> Bool { contains(TunnelKinds(kind)) }
}

/// The tunnels around a packet: the summary's addresses, ports and TCP fields are the innermost
/// packet's; this keeps what was outside it. Identifiers are those of the innermost tunnel of each
/// kind (a nested VXLAN keeps the inner VNI; the oracle's per-capture lists hold all of them).
public struct Encapsulation: Decodable, Sendable, Equatable {
    /// Tunnels are followed this many levels deep; a deeper packet is reported (`chainTooLong`) and
    /// described as far as the limit.
    public static let maximumDepth = 6

    /// How many tunnel headers were opened.
    public var depth: UInt8 = 0
    public var kinds = TunnelKinds()
    /// The layers of every level outside the innermost packet (Ethernet, IP, UDP of the underlay...).
    public var outerLayers = LayerSet()
    /// The innermost tunnel, and the IP datagram that carried it (zero addresses for MPLS directly
    /// over Ethernet): its endpoints, and its length as its header says.
    public var kind = TunnelKind.ipInIP
    public var outerSource = IPAddress.zero
    public var outerDestination = IPAddress.zero
    public var outerIPLength = 0
    /// The UDP ports of the datagram that carried it (VXLAN, Geneve, GTP-U); 0 for other kinds.
    public var outerSourcePort: UInt16 = 0
    public var outerDestinationPort: UInt16 = 0
    /// The outermost IP datagram's length (the one the underlay carries; 0 when it was reassembled
    /// from fragments) and whether it was.
    public var underlayIPLength = 0
    public var underlayFragmented = false
    public var vxlanVNI: UInt32?
    public var geneveVNI: UInt32?
    public var geneveOptionCount: UInt8 = 0
    public var greKey: UInt32?
    public var greSequence: UInt32?
    /// The bottom label of the innermost MPLS stack (the one that says what follows), and the depth
    /// of that stack.
    public var mplsLabel: UInt32?
    public var mplsStackDepth: UInt8 = 0
    /// ERSPAN's version field (0 for type I, which has no header: 1 is type II, 2 type III).
    public var erspanVersion: UInt8?
    public var erspanSpanID: UInt16?
    public var gtpTEID: UInt32?

    @inlinable public init() {}

    /// The innermost tunnel's identifier, if its kind has one and the packet carried it.
    public var identifier: UInt32? {
        switch kind {
        case .ipInIP: nil
        case .gre: greKey
        case .vxlan: vxlanVNI
        case .geneve: geneveVNI
        case .erspan: erspanSpanID.map(UInt32.init)
        case .mpls: mplsLabel
        case .gtpU: gtpTEID
        }
    }
}

/// The UDP ports whose datagrams are tunnels: VXLAN on 4789 (IANA) and 8472 (Linux's and Flannel's
/// default), Geneve on 6081, GTP-U on 2152, plus up to `maximumExtraVXLANPorts` more VXLAN ports
/// given as decode-as rules (`udp.port==N,vxlan`). Either port of a datagram selects it, as in
/// Wireshark.
public struct TunnelPorts: Sendable, Equatable {
    public static let vxlan: UInt16 = 4789
    public static let linuxVXLAN: UInt16 = 8472
    public static let geneve: UInt16 = 6081
    public static let gtpU: UInt16 = 2152
    public static let maximumExtraVXLANPorts = 8

    /// Extra VXLAN ports, 0 for unused (port 0 is never a tunnel).
    @usableFromInline var extraVXLAN: (UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16) =
        (0, 0, 0, 0, 0, 0, 0, 0)
    @usableFromInline var extraCount = 0

    public init() {}

    /// nil when there are more ports than `maximumExtraVXLANPorts`.
    public init?(vxlan ports: [UInt16]) {
        let distinct = Array(Set(ports.filter { $0 != 0 })).sorted()
        guard distinct.count <= Self.maximumExtraVXLANPorts else { return nil }
        withUnsafeMutableBytes(of: &extraVXLAN) { raw in
            for (index, port) in distinct.enumerated() { raw.storeBytes(of: port, toByteOffset: index * 2, as: UInt16.self) }
        }
        extraCount = distinct.count
    }

    public static func == (a: TunnelPorts, b: TunnelPorts) -> Bool { a.extraVXLANPorts == b.extraVXLANPorts }

    public var extraVXLANPorts: [UInt16] {
        withUnsafeBytes(of: extraVXLAN) { raw in (0..<extraCount).map { raw.load(fromByteOffset: $0 * 2, as: UInt16.self) } }
    }

    /// The tunnel a datagram between these ports carries, if any. As Wireshark tries the lower port
    /// first, a tunnel on the higher port counts only when the lower one is not a service port
    /// (below 1024): a DNS query from port 4789 to 53 is DNS.
    @inlinable public func tunnel(_ a: UInt16, _ b: UInt16) -> TunnelKind? {
        let low = min(a, b), high = max(a, b)
        if let kind = kind(low) { return kind }
        return low >= 1024 ? kind(high) : nil
    }

    @inlinable func kind(_ port: UInt16) -> TunnelKind? {
        switch port {
        case Self.vxlan, Self.linuxVXLAN: .vxlan
        case Self.geneve: .geneve
        case Self.gtpU: .gtpU
        default: extraCount > 0 && isExtraVXLAN(port) ? .vxlan : nil
        }
    }

    /// Whether a datagram between these ports may be a tunnel: the plain path leaves those alone.
    @inlinable public func mayTunnel(_ a: UInt16, _ b: UInt16) -> Bool {
        Self.isWellKnownTunnel(a) || Self.isWellKnownTunnel(b) || (extraCount > 0 && (isExtraVXLAN(a) || isExtraVXLAN(b)))
    }

    @inlinable static func isWellKnownTunnel(_ port: UInt16) -> Bool {
        port == vxlan || port == linuxVXLAN || port == geneve || port == gtpU
    }

    @inlinable func isExtraVXLAN(_ port: UInt16) -> Bool {
        let e = extraVXLAN
        return port != 0 && (port == e.0 || port == e.1 || port == e.2 || port == e.3 || port == e.4 || port == e.5 || port == e.6
            || port == e.7)
    }
}
