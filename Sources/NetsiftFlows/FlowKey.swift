import NetsiftDissect

/// One end of a conversation.
public struct Endpoint: Decodable, Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16
    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }
    /// "10.0.0.1:443", "[2001:db8::1]:443".
    public var description: String {
        address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }
}

/// The tunnel a conversation was found in, as far as it tells conversations apart: its kind, its
/// identifier when both directions carry the same one (a VXLAN VNI, an ERSPAN span id: see
/// `TunnelKind.identifierIsSymmetric`), and the endpoints of the IP datagram that carried it, in a
/// fixed order. Pods with the same addresses in two VXLAN segments, or the same flow mirrored from
/// two places, are then two conversations. `none` for a packet that is not encapsulated.
public struct TunnelKey: Decodable, Hashable, Sendable {
    /// The kind in the top byte, the symmetric identifier in the low 32 bits; 0 for no tunnel.
    public var kindAndIdentifier: UInt64
    public var outerLow: IPAddress
    public var outerHigh: IPAddress

    @inlinable public static var none: TunnelKey {
        TunnelKey(kindAndIdentifier: 0, outerLow: .zero, outerHigh: .zero)
    }

    @inlinable init(kindAndIdentifier: UInt64, outerLow: IPAddress, outerHigh: IPAddress) {
        self.kindAndIdentifier = kindAndIdentifier
        self.outerLow = outerLow
        self.outerHigh = outerHigh
    }

    /// The key of the innermost tunnel around a packet.
    @inlinable public init(_ encapsulation: Encapsulation?) {
        guard let e = encapsulation else {
            self = .none
            return
        }
        let identifier = e.kind.identifierIsSymmetric ? UInt64(e.identifier ?? 0) : 0
        kindAndIdentifier = UInt64(e.kind.rawValue) << 56 | identifier
        outerLow = min(e.outerSource, e.outerDestination)
        outerHigh = max(e.outerSource, e.outerDestination)
    }

    @inlinable public var isNone: Bool { kindAndIdentifier == 0 }

    // Written out: most keys have no tunnel, and then one comparison decides.
    @inlinable public static func == (a: TunnelKey, b: TunnelKey) -> Bool {
        a.kindAndIdentifier == b.kindAndIdentifier && (a.kindAndIdentifier == 0 || (a.outerLow == b.outerLow && a.outerHigh == b.outerHigh))
    }

    @inlinable public func hash(into hasher: inout Hasher) {
        hasher.combine(kindAndIdentifier)
        if kindAndIdentifier != 0 {
            hasher.combine(outerLow)
            hasher.combine(outerHigh)
        }
    }
}

/// A conversation's key, the same whichever way a packet goes: the two endpoints in a fixed order,
/// the protocol, and the tunnel it was found in. VLAN and interface are not part of it, as in
/// Wireshark's conversations, so a flow captured both tagged and untagged on a trunk stays one
/// conversation.
public struct FlowKey: Decodable, Hashable, Sendable {
    public var low: Endpoint
    public var high: Endpoint
    public var ipProtocol: UInt8
    public var tunnel: TunnelKey

    @inlinable public init(low: Endpoint, high: Endpoint, ipProtocol: UInt8, tunnel: TunnelKey = .none) {
        self.low = low
        self.high = high
        self.ipProtocol = ipProtocol
        self.tunnel = tunnel
    }

    /// The key of a flow a packet carries (`Dissector.plainFlow`: never in a tunnel).
    @inlinable public init(_ flow: PlainFlow) {
        self = FlowKey.make(source: Endpoint(address: flow.source, port: flow.sourcePort),
                            destination: Endpoint(address: flow.destination, port: flow.destinationPort),
                            ipProtocol: flow.ipProtocol, tunnel: .none).key
    }

    /// The key for a packet from `source` to `destination`, and whether `source` is `low`.
    /// Always inlined: called, it returns the key through memory written in 8-, 2- and 1-byte
    /// stores, which the caller reloads as wider words, a store-forwarding stall on every packet.
    @inlinable @inline(__always)
    public static func make(source: Endpoint, destination: Endpoint, ipProtocol: UInt8,
                            tunnel: TunnelKey) -> (key: FlowKey, sourceIsLow: Bool) {
        let sourceIsLow = source.address < destination.address
            || (source.address == destination.address && source.port <= destination.port)
        let key = sourceIsLow
            ? FlowKey(low: source, high: destination, ipProtocol: ipProtocol, tunnel: tunnel)
            : FlowKey(low: destination, high: source, ipProtocol: ipProtocol, tunnel: tunnel)
        return (key, sourceIsLow)
    }

    @inlinable public static func == (a: FlowKey, b: FlowKey) -> Bool {
        a.low.address == b.low.address && a.high.address == b.high.address && a.low.port == b.low.port
            && a.high.port == b.high.port && a.ipProtocol == b.ipProtocol && a.tunnel == b.tunnel
    }

    /// A cheap, well-mixed 64-bit hash, so the table does not pay for SipHash on every packet.
    /// Each of the key's five words is multiplied full width by its own odd constant and the
    /// product's halves xored (wyhash's "mum": every input bit reaches the low output bits, which
    /// pick the table slot); the five are independent, so the CPU runs them side by side, and one
    /// more such step mixes their xor. Keys come from packets, not from an adversary choosing
    /// collisions against a secret seed; the table's probe length is bounded by its load factor.
    @inlinable
    public var hashValue64: UInt64 {
        @inline(__always) get {
            let ports = UInt64(low.port) << 32 | UInt64(high.port) << 16 | UInt64(ipProtocol)
            let mixed = Self.fold(low.address.high, 0xA076_1D64_78BD_642F) ^ Self.fold(low.address.low, 0xE703_7ED1_A0B4_28DB)
                ^ Self.fold(high.address.high, 0x8EBC_6AF0_9C88_C6E3) ^ Self.fold(high.address.low, 0x5899_65CC_7537_4CC3)
                ^ Self.fold(ports, 0x1D8E_4E27_C47D_124F)
            guard !tunnel.isNone else { return Self.fold(mixed ^ 0x9E37_79B9_7F4A_7C15, 0xBF58_476D_1CE4_E5B9) }
            let outer = Self.fold(tunnel.outerLow.high ^ tunnel.kindAndIdentifier, 0xD6E8_FEB8_6659_FD93)
                ^ Self.fold(tunnel.outerLow.low, 0xC2B2_AE3D_27D4_EB4F) ^ Self.fold(tunnel.outerHigh.high, 0x1656_67B1_9E37_79F9)
                ^ Self.fold(tunnel.outerHigh.low, 0x27D4_EB2F_1656_67C5)
            return Self.fold(mixed ^ outer ^ 0x9E37_79B9_7F4A_7C15, 0xBF58_476D_1CE4_E5B9)
        }
    }

    @inlinable static func fold(_ x: UInt64, _ y: UInt64) -> UInt64 {
        let product = x.multipliedFullWidth(by: y)
        return product.high ^ product.low
    }
}

/// The tunnel a conversation's first packet was found in, for reports: its innermost tunnel's kind
/// and identifier (which, for kinds that choose it per direction, is the first sender's), the
/// endpoints of the datagram that carried it, and how many tunnels deep the conversation was.
/// A class, so that a conversation holds one word for it: conversations are copied whole when they
/// end, and most are not in a tunnel.
public final class FlowTunnel: Decodable, Sendable {
    public let kind: TunnelKind
    /// Every kind of tunnel around it, the innermost included.
    public let kinds: TunnelKinds
    public let identifier: UInt32?
    public let outerSource: IPAddress
    public let outerDestination: IPAddress
    public let depth: Int

    public init(_ encapsulation: Encapsulation) {
        kind = encapsulation.kind
        kinds = encapsulation.kinds
        identifier = encapsulation.identifier
        outerSource = encapsulation.outerSource
        outerDestination = encapsulation.outerDestination
        depth = Int(encapsulation.depth)
    }
}
