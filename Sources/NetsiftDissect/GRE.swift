import NetsiftCapture

/// GRE header (RFC 2784, key and sequence number from RFC 2890; version 1 is PPTP's enhanced GRE,
/// RFC 2637): flags C (checksum), R (routing), K (key), S (sequence), version in the low 3 bits,
/// then the protocol type (an EtherType), then the optional fields in that order.
public struct GREHeader: ~Escapable {
    public static let minimumLength = 4
    @usableFromInline let bytes: RawSpan

    @inlinable @_lifetime(copy payload)
    public init(_ payload: RawSpan, wire: Int) throws(DissectError) {
        try require(Self.minimumLength, captured: payload.byteCount, wire: wire, layer: .gre)
        let flags = payload.be16(0)
        let version = Int(flags & 0x0007)
        guard version <= 1 else { throw DissectError(.gre, .wrongVersion(version)) }
        var length = Self.minimumLength
        if flags & 0xC000 != 0 { length += 4 }  // checksum and offset, present if C or R
        if flags & 0x2000 != 0 { length += 4 }  // key
        if flags & 0x1000 != 0 { length += 4 }  // sequence number
        if version == 1 && flags & 0x0080 != 0 { length += 4 }  // PPTP acknowledgment number
        try require(length, captured: payload.byteCount, wire: wire, layer: .gre)
        bytes = payload.extracting(first: length)
    }

    @inlinable var flags: UInt16 { bytes.be16(0) }
    @inlinable public var headerLength: Int { bytes.byteCount }
    @inlinable public var version: Int { Int(flags & 0x0007) }
    @inlinable public var protocolType: UInt16 { bytes.be16(2) }
    /// Source routing (obsoleted by RFC 2784): routing entries follow, which we do not walk.
    @inlinable public var hasRouting: Bool { flags & 0x4000 != 0 }
    @inlinable var keyOffset: Int { flags & 0xC000 != 0 ? 8 : 4 }
    @inlinable public var key: UInt32? { flags & 0x2000 != 0 ? bytes.be32(keyOffset) : nil }
    @inlinable public var sequenceNumber: UInt32? {
        flags & 0x1000 != 0 ? bytes.be32(keyOffset + (flags & 0x2000 != 0 ? 4 : 0)) : nil
    }

    /// Protocol types carried over GRE that the dissector follows.
    public static let transparentEthernetBridging: UInt16 = 0x6558
    public static let erspanTypeII: UInt16 = 0x88BE
    public static let erspanTypeIII: UInt16 = 0x22EB
    public static let mplsUnicast: UInt16 = 0x8847
    public static let mplsMulticast: UInt16 = 0x8848
}
