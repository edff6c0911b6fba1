import NetsiftCapture

/// ERSPAN header (draft-foschiano-erspan): mirrored frames over GRE. Type I (protocol 0x88BE
/// without a GRE sequence number) has no header; type II (0x88BE) has 8 bytes, type III (0x22EB)
/// 12, plus an 8-byte platform-specific subheader when its O flag is set. Both start with a 4-bit
/// version (1 for II, 2 for III), the VLAN, and a 10-bit session (span) id.
public struct ERSPANHeader: ~Escapable {
    public static let typeIILength = 8
    public static let typeIIILength = 12
    @usableFromInline let bytes: RawSpan

    @inlinable @_lifetime(copy payload)
    public init(_ payload: RawSpan, wire: Int, typeIII: Bool) throws(DissectError) {
        var length = typeIII ? Self.typeIIILength : Self.typeIILength
        try require(length, captured: payload.byteCount, wire: wire, layer: .erspan)
        if typeIII && payload.u8(11) & 0x01 != 0 {
            length += 8
            try require(length, captured: payload.byteCount, wire: wire, layer: .erspan)
        }
        bytes = payload.extracting(first: length)
    }

    @inlinable public var headerLength: Int { bytes.byteCount }
    @inlinable public var version: UInt8 { bytes.u8(0) >> 4 }
    @inlinable public var vlan: UInt16 { bytes.be16(0) & 0x0FFF }
    @inlinable public var spanID: UInt16 { bytes.be16(2) & 0x03FF }
    /// Type III's frame type: 0 is an Ethernet frame; other types (IP, vendor formats) are not
    /// dissected further. Type II always carries Ethernet.
    @inlinable public var carriesEthernet: Bool {
        bytes.byteCount < Self.typeIIILength || (bytes.be16(10) >> 10) & 0x1F == 0
    }
}
