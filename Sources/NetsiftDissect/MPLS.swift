import NetsiftCapture

/// One MPLS label stack entry (RFC 3032 §2.1): a 20-bit label, 3 traffic-class bits, the
/// bottom-of-stack flag, a TTL. The stack says nothing of what follows its bottom entry: the
/// dissector guesses from the first nibble, 4 for IPv4 and 6 for IPv6, as Wireshark does.
public struct MPLSLabel: ~Escapable {
    public static let length = 4
    /// Deeper stacks than this are reported as a chain too long rather than followed.
    public static let maximumStackDepth = 8
    @usableFromInline let bytes: RawSpan

    @inlinable @_lifetime(copy payload)
    public init(_ payload: RawSpan, wire: Int) throws(DissectError) {
        try require(Self.length, captured: payload.byteCount, wire: wire, layer: .mpls)
        bytes = payload.extracting(first: Self.length)
    }

    @inlinable public var label: UInt32 { bytes.be32(0) >> 12 }
    @inlinable public var trafficClass: UInt8 { (bytes.u8(2) >> 1) & 0x07 }
    @inlinable public var isBottomOfStack: Bool { bytes.u8(2) & 0x01 != 0 }
    @inlinable public var ttl: UInt8 { bytes.u8(3) }
}
