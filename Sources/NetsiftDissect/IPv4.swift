import NetsiftCapture

/// IPv4 header (RFC 791): validated once for its header length (IHL, at least 20 bytes) and
/// total length; accessors then read fixed offsets. Options are walked by `IPv4Options`.
public struct IPv4Header: ~Escapable {
    public static let minimumLength = 20
    /// The header, options included.
    @usableFromInline let bytes: RawSpan

    @inlinable @_lifetime(copy packet)
    public init(_ packet: RawSpan, wire: Int) throws(DissectError) {
        try require(Self.minimumLength, captured: packet.byteCount, wire: wire, layer: .ipv4)
        let version = Int(packet.u8(0) >> 4)
        guard version == 4 else { throw DissectError(.ipv4, .wrongVersion(version)) }
        let headerLength = Int(packet.u8(0) & 0x0F) * 4
        guard headerLength >= Self.minimumLength else {
            throw DissectError(.ipv4, .lengthBelowMinimum(field: .headerLength, value: headerLength, minimum: 20))
        }
        let totalLength = Int(packet.be16(2))
        // 0 is left by TCP segmentation offload in captured outgoing packets (see the Dissector).
        guard totalLength >= headerLength || totalLength == 0 else {
            throw DissectError(.ipv4, .lengthBelowMinimum(field: .totalLength, value: totalLength, minimum: headerLength))
        }
        try require(headerLength, captured: packet.byteCount, wire: wire, layer: .ipv4)
        bytes = packet.extracting(first: headerLength)
    }

    @inlinable public var headerLength: Int { bytes.byteCount }
    @inlinable public var dscp: UInt8 { bytes.u8(1) >> 2 }
    @inlinable public var ecn: UInt8 { bytes.u8(1) & 0x03 }
    @inlinable public var totalLength: Int { Int(bytes.be16(2)) }
    @inlinable public var identification: UInt16 { bytes.be16(4) }
    @inlinable public var dontFragment: Bool { bytes.u8(6) & 0x40 != 0 }
    @inlinable public var moreFragments: Bool { bytes.u8(6) & 0x20 != 0 }
    /// In bytes (the field counts 8-byte units).
    @inlinable public var fragmentOffset: Int { Int(bytes.be16(6) & 0x1FFF) * 8 }
    @inlinable public var isFragment: Bool { moreFragments || fragmentOffset != 0 }
    @inlinable public var timeToLive: UInt8 { bytes.u8(8) }
    @inlinable public var protocolNumber: UInt8 { bytes.u8(9) }
    @inlinable public var headerChecksum: UInt16 { bytes.be16(10) }
    @inlinable public var source: UInt32 { bytes.be32(12) }
    @inlinable public var destination: UInt32 { bytes.be32(16) }
    @inlinable public var options: IPv4Options {
        @_lifetime(copy self) get { IPv4Options(bytes.extracting(droppingFirst: Self.minimumLength)) }
    }
}

/// Walks IPv4 options (RFC 791 §3.1): End of Option List (0) and No-Operation (1) are one byte;
/// every other option is kind, length (counting both), data. Stops at End of Option List, and at
/// the first option whose length is below 2 or runs past the header, which it reports.
public struct IPv4Options: ~Escapable {
    @usableFromInline let bytes: RawSpan
    @usableFromInline var offset = 0

    @inlinable @_lifetime(copy bytes)
    public init(_ bytes: RawSpan) { self.bytes = bytes }

    public struct Option: Sendable, Equatable {
        public var kind: UInt8
        /// The option's bytes within the options area (kind and length included).
        public var range: Range<Int>
        @usableFromInline init(kind: UInt8, range: Range<Int>) {
            self.kind = kind
            self.range = range
        }
        /// Record Route 7, Timestamp 68, Loose Source Route 131, Strict Source Route 137, ...
        public var name: String {
            switch kind {
            case 0: "EOL"
            case 1: "NOP"
            case 7: "RR"
            case 68: "TS"
            case 130: "SEC"
            case 131: "LSRR"
            case 136: "SID"
            case 137: "SSRR"
            case 148: "RTRALT"
            default: "opt-\(kind)"
            }
        }
    }

    /// Where a loose or strict source route (RFC 791 §3.1) still to be followed ends: the
    /// datagram's final destination, which the header's destination is only a hop towards.
    /// Wireshark shows it as `ip.dst` and keys conversations on it. nil for any other option, or
    /// a route already completed (pointer past its last address) or malformed.
    @inlinable
    public func finalDestination(of option: Option) -> UInt32? {
        guard option.kind == 131 || option.kind == 137 else { return nil }
        let length = option.range.count
        guard length >= 7, (length - 3) % 4 == 0 else { return nil }
        let pointer = Int(bytes.u8(option.range.lowerBound + 2))
        guard pointer >= 4, pointer <= length else { return nil }
        return bytes.be32(option.range.upperBound - 4)
    }

    /// The next option, nil at the end, or the error that stopped the walk.
    @inlinable
    public mutating func next() throws(DissectError) -> Option? {
        guard offset < bytes.byteCount else { return nil }
        let kind = bytes.u8(offset)
        if kind == 0 {
            defer { offset = bytes.byteCount }
            return Option(kind: 0, range: offset..<offset + 1)
        }
        if kind == 1 {
            defer { offset += 1 }
            return Option(kind: 1, range: offset..<offset + 1)
        }
        guard offset + 1 < bytes.byteCount else { throw DissectError(.ipv4Options, .badOption(kind: Int(kind), length: 0)) }
        let length = Int(bytes.u8(offset + 1))
        guard length >= 2, offset + length <= bytes.byteCount else {
            throw DissectError(.ipv4Options, .badOption(kind: Int(kind), length: length))
        }
        defer { offset += length }
        return Option(kind: kind, range: offset..<offset + length)
    }
}
