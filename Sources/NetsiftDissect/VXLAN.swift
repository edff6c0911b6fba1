import NetsiftCapture

/// VXLAN header (RFC 7348 §5): flags (I = 0x08, the VNI is valid), 24 reserved bits, the 24-bit
/// VXLAN Network Identifier, 8 reserved bits. An Ethernet frame follows.
public struct VXLANHeader: ~Escapable {
    public static let length = 8
    @usableFromInline let bytes: RawSpan

    @inlinable @_lifetime(copy payload)
    public init(_ payload: RawSpan, wire: Int) throws(DissectError) {
        try require(Self.length, captured: payload.byteCount, wire: wire, layer: .vxlan)
        bytes = payload.extracting(first: Self.length)
    }

    @inlinable public var flags: UInt8 { bytes.u8(0) }
    /// The I flag: without it the VNI field means nothing (RFC 7348 says receivers treat it as set).
    @inlinable public var hasVNI: Bool { flags & 0x08 != 0 }
    @inlinable public var vni: UInt32 { bytes.be32(4) >> 8 }
}
