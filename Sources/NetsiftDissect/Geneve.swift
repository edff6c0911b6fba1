import NetsiftCapture

/// Geneve header (RFC 8926 §3.4): version (2 bits, 0) and options length (6 bits, in 4-byte
/// words), O (control) and C (critical options) flags, the protocol type of what follows (an
/// EtherType: 0x6558 for Ethernet), the 24-bit VNI, then the options as TLVs.
public struct GeneveHeader: ~Escapable {
    public static let minimumLength = 8
    @usableFromInline let bytes: RawSpan

    /// Validates the fixed part, the options' total length and every option's length.
    @inlinable @_lifetime(copy payload)
    public init(_ payload: RawSpan, wire: Int) throws(DissectError) {
        try require(Self.minimumLength, captured: payload.byteCount, wire: wire, layer: .geneve)
        let version = payload.u8(0) >> 6
        guard version == 0 else { throw DissectError(.geneve, .wrongVersion(Int(version))) }
        let length = Self.minimumLength + Int(payload.u8(0) & 0x3F) * 4
        try require(length, captured: payload.byteCount, wire: wire, layer: .geneve)
        bytes = payload.extracting(first: length)
        // Each option: class (2 bytes), type (1), 3 reserved bits and a 5-bit length in words. At
        // most 63 words of options, each option at least one word: the loop is bounded.
        var offset = Self.minimumLength
        while offset < length {
            guard offset + 4 <= length else {
                throw DissectError(.geneve, .badOption(kind: Int(bytes.u8(offset)), length: length - offset))
            }
            let optionLength = 4 + Int(bytes.u8(offset + 3) & 0x1F) * 4
            guard offset + optionLength <= length else {
                throw DissectError(.geneve, .badOption(kind: Int(bytes.u8(offset + 2)), length: optionLength))
            }
            offset += optionLength
        }
    }

    @inlinable public var headerLength: Int { bytes.byteCount }
    @inlinable public var isControl: Bool { bytes.u8(1) & 0x80 != 0 }
    @inlinable public var hasCriticalOptions: Bool { bytes.u8(1) & 0x40 != 0 }
    @inlinable public var protocolType: UInt16 { bytes.be16(2) }
    @inlinable public var vni: UInt32 { bytes.be32(4) >> 8 }

    /// How many options the header holds (validated by `init`).
    @inlinable public var optionCount: Int {
        var offset = Self.minimumLength, count = 0
        while offset + 4 <= bytes.byteCount {
            offset += 4 + Int(bytes.u8(offset + 3) & 0x1F) * 4
            count += 1
        }
        return count
    }
}
