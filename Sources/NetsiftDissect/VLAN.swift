import NetsiftCapture

/// One IEEE 802.1Q / 802.1ad tag after its TPID: PCP (3 bits), DEI (1), VID (12), then the next
/// EtherType. Tags stack (QinQ and deeper); the dissector follows up to `VLANHeader.maximumDepth`.
public struct VLANHeader: ~Escapable {
    public static let length = 4
    /// Deeper stacks than this are reported as a chain too long rather than followed.
    public static let maximumDepth = 8
    @usableFromInline let bytes: RawSpan

    @inlinable @_lifetime(copy payload)
    public init(_ payload: RawSpan, wire: Int) throws(DissectError) {
        try require(Self.length, captured: payload.byteCount, wire: wire, layer: .vlan)
        bytes = payload.extracting(first: Self.length)
    }

    @inlinable public var priority: UInt8 { bytes.u8(0) >> 5 }
    @inlinable public var dropEligible: Bool { bytes.u8(0) & 0x10 != 0 }
    @inlinable public var id: UInt16 { bytes.be16(0) & 0x0FFF }
    @inlinable public var nextType: UInt16 { bytes.be16(2) }
}
