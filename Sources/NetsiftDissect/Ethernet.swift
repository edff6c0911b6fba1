import NetsiftCapture

/// Ethernet II / IEEE 802.3 header (IEEE 802.3 §3.1): destination, source, then a type/length
/// field. Values of 1536 (0x0600) and above are an EtherType; 1500 and below are an 802.3 length,
/// and an 802.2 LLC header follows (with a SNAP header carrying the EtherType when DSAP=SSAP=0xAA).
public struct EthernetHeader: ~Escapable {
    public static let length = 14
    @usableFromInline let bytes: RawSpan

    @inlinable @_lifetime(copy frame)
    public init(_ frame: RawSpan, wire: Int) throws(DissectError) {
        try require(Self.length, captured: frame.byteCount, wire: wire, layer: .ethernet)
        bytes = frame.extracting(first: Self.length)
    }

    @inlinable public var destination: UInt64 { UInt64(bytes.be16(0)) << 32 | UInt64(bytes.be32(2)) }
    @inlinable public var source: UInt64 { UInt64(bytes.be16(6)) << 32 | UInt64(bytes.be32(8)) }
    @inlinable public var typeOrLength: UInt16 { bytes.be16(12) }
    /// True for an 802.3 frame, whose type field is a length.
    @inlinable public var isLengthField: Bool { typeOrLength <= 1500 }
}

/// IEEE 802.2 LLC header (3 bytes), and the SNAP extension (5 more) when DSAP and SSAP are 0xAA.
public struct LLCHeader: ~Escapable {
    @usableFromInline let bytes: RawSpan

    @inlinable @_lifetime(copy payload)
    public init(_ payload: RawSpan, wire: Int) throws(DissectError) {
        try require(3, captured: payload.byteCount, wire: wire, layer: .llc)
        let snap = payload.u8(0) == 0xAA && payload.u8(1) == 0xAA
        if snap { try require(8, captured: payload.byteCount, wire: wire, layer: .llc) }
        bytes = payload.extracting(first: snap ? 8 : 3)
    }

    @inlinable public var dsap: UInt8 { bytes.u8(0) }
    @inlinable public var ssap: UInt8 { bytes.u8(1) }
    @inlinable public var length: Int { bytes.byteCount }
    /// The EtherType a SNAP header carries, or nil for plain LLC (spanning tree, NetBIOS...).
    @inlinable public var snapEtherType: UInt16? { bytes.byteCount == 8 ? bytes.be16(6) : nil }
}

/// EtherType values the dissector follows.
public enum EtherType {
    public static let ipv4: UInt16 = 0x0800
    public static let arp: UInt16 = 0x0806
    public static let vlan: UInt16 = 0x8100
    public static let ipv6: UInt16 = 0x86DD
    public static let qinq: UInt16 = 0x88A8
    public static let qinqLegacy: UInt16 = 0x9100
    public static let qinqLegacy2: UInt16 = 0x9200
    public static let mplsUnicast: UInt16 = 0x8847
    public static let mplsMulticast: UInt16 = 0x8848

    @inlinable static func isVLAN(_ type: UInt16) -> Bool {
        type == vlan || type == qinq || type == qinqLegacy || type == qinqLegacy2
    }
}
