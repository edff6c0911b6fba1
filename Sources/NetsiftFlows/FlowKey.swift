import NetsiftDissect

/// One end of a conversation.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible {
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

/// A conversation's key, the same whichever way a packet goes: the two endpoints in a fixed order
/// and the protocol. VLAN and interface are not part of it, as in Wireshark's conversations, so a
/// flow captured both tagged and untagged on a trunk stays one conversation.
public struct FlowKey: Hashable, Sendable {
    public var low: Endpoint
    public var high: Endpoint
    public var ipProtocol: UInt8

    @inlinable public init(low: Endpoint, high: Endpoint, ipProtocol: UInt8) {
        self.low = low
        self.high = high
        self.ipProtocol = ipProtocol
    }

    /// The key of a flow a packet carries (`Dissector.plainFlow`).
    @inlinable public init(_ flow: PlainFlow) {
        self = FlowKey.make(source: Endpoint(address: flow.source, port: flow.sourcePort),
                            destination: Endpoint(address: flow.destination, port: flow.destinationPort),
                            ipProtocol: flow.ipProtocol).key
    }

    /// The key for a packet from `source` to `destination`, and whether `source` is `low`.
    /// Always inlined: called, it returns the key through memory written in 8-, 2- and 1-byte
    /// stores, which the caller reloads as wider words, a store-forwarding stall on every packet.
    @inlinable @inline(__always)
    public static func make(source: Endpoint, destination: Endpoint, ipProtocol: UInt8) -> (key: FlowKey, sourceIsLow: Bool) {
        let sourceIsLow = source.address < destination.address
            || (source.address == destination.address && source.port <= destination.port)
        let key = sourceIsLow
            ? FlowKey(low: source, high: destination, ipProtocol: ipProtocol)
            : FlowKey(low: destination, high: source, ipProtocol: ipProtocol)
        return (key, sourceIsLow)
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
            return Self.fold(mixed ^ 0x9E37_79B9_7F4A_7C15, 0xBF58_476D_1CE4_E5B9)
        }
    }

    @inlinable static func fold(_ x: UInt64, _ y: UInt64) -> UInt64 {
        let product = x.multipliedFullWidth(by: y)
        return product.high ^ product.low
    }
}
