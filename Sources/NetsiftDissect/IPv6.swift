import NetsiftCapture

/// IPv6 fixed header (RFC 8200 §3): 40 bytes. The extension headers after it are walked by
/// `IPv6ExtensionHeaders`.
public struct IPv6Header: ~Escapable {
    public static let length = 40
    @usableFromInline let bytes: RawSpan

    @inlinable @_lifetime(copy packet)
    public init(_ packet: RawSpan, wire: Int) throws(DissectError) {
        try require(Self.length, captured: packet.byteCount, wire: wire, layer: .ipv6)
        let version = Int(packet.u8(0) >> 4)
        guard version == 6 else { throw DissectError(.ipv6, .wrongVersion(version)) }
        bytes = packet.extracting(first: Self.length)
    }

    @inlinable public var trafficClass: UInt8 { UInt8(truncatingIfNeeded: bytes.be16(0) >> 4) }
    @inlinable public var dscp: UInt8 { trafficClass >> 2 }
    @inlinable public var ecn: UInt8 { trafficClass & 0x03 }
    @inlinable public var flowLabel: UInt32 { bytes.be32(0) & 0x000F_FFFF }
    @inlinable public var payloadLength: Int { Int(bytes.be16(4)) }
    @inlinable public var nextHeader: UInt8 { bytes.u8(6) }
    @inlinable public var hopLimit: UInt8 { bytes.u8(7) }
    @inlinable public var source: IPAddress { bytes.ipv6Address(8) }
    @inlinable public var destination: IPAddress { bytes.ipv6Address(24) }
}

/// IPv6 extension header numbers (IANA "IPv6 Extension Header Types").
public enum IPv6NextHeader {
    public static let hopByHop: UInt8 = 0
    public static let routing: UInt8 = 43
    public static let fragment: UInt8 = 44
    public static let esp: UInt8 = 50
    public static let authentication: UInt8 = 51
    public static let noNextHeader: UInt8 = 59
    public static let destinationOptions: UInt8 = 60
    public static let mobility: UInt8 = 135
    public static let hip: UInt8 = 139
    public static let shim6: UInt8 = 140

    /// Headers walked as extension headers. ESP is not: its contents are encrypted, so it ends the
    /// chain as an upper-layer protocol would.
    @inlinable static func isExtension(_ value: UInt8) -> Bool {
        switch value {
        case hopByHop, routing, fragment, authentication, destinationOptions, mobility, hip, shim6: true
        default: false
        }
    }
}

/// Walks the extension header chain after an IPv6 header. Each header gives the next one's type;
/// lengths count 8-byte units beyond the first 8 (AH: 4-byte units beyond the first 8). The walk
/// stops at the first header that is not an extension (the upper layer), reports a header running
/// past the packet, and gives up after `maximumChain` headers (a chain that "never ends").
public struct IPv6ExtensionHeaders: ~Escapable {
    public static let maximumChain = 16
    @usableFromInline let bytes: RawSpan
    @usableFromInline let wire: Int
    @usableFromInline var offset: Int
    @usableFromInline var count = 0
    /// The type of the header at `offset`: after the walk, the upper-layer protocol.
    @usableFromInline var type: UInt8
    public var nextHeader: UInt8 { type }

    public struct Extension: Sendable, Equatable {
        public var type: UInt8
        /// Where the header sits in the bytes given to the walker.
        public var range: Range<Int>
        @usableFromInline init(type: UInt8, range: Range<Int>) {
            self.type = type
            self.range = range
        }
        public var name: String {
            switch type {
            case IPv6NextHeader.hopByHop: "hop-by-hop"
            case IPv6NextHeader.routing: "routing"
            case IPv6NextHeader.fragment: "fragment"
            case IPv6NextHeader.authentication: "AH"
            case IPv6NextHeader.destinationOptions: "destination options"
            case IPv6NextHeader.mobility: "mobility"
            case IPv6NextHeader.hip: "HIP"
            case IPv6NextHeader.shim6: "shim6"
            default: "ext-\(type)"
            }
        }
    }

    /// `packet` starts at the IPv6 header; `wire` is what the packet had there on the wire.
    @inlinable @_lifetime(copy packet)
    public init(_ packet: RawSpan, wire: Int, first: UInt8) {
        bytes = packet
        self.wire = wire
        offset = IPv6Header.length
        type = first
    }

    /// Where the upper layer starts, once `next()` has returned nil.
    @inlinable public var upperLayerOffset: Int { offset }

    @inlinable
    public mutating func next() throws(DissectError) -> Extension? {
        guard IPv6NextHeader.isExtension(type) else { return nil }
        guard count < Self.maximumChain else {
            throw DissectError(.ipv6Extension, .chainTooLong(limit: Self.maximumChain))
        }
        // Captured bytes past the datagram's end (trailer, padding) are not part of the chain.
        let available = min(bytes.byteCount, wire) - offset
        try require(8, captured: available, wire: wire - offset, layer: .ipv6Extension)
        let length: Int
        switch type {
        case IPv6NextHeader.fragment: length = 8
        case IPv6NextHeader.authentication: length = (Int(bytes.u8(offset + 1)) + 2) * 4
        default: length = (Int(bytes.u8(offset + 1)) + 1) * 8
        }
        try require(length, captured: available, wire: wire - offset, layer: .ipv6Extension)
        let header = Extension(type: type, range: offset..<offset + length)
        type = bytes.u8(offset)
        offset += length
        count += 1
        return header
    }
}

/// Walks the options of a Hop-by-Hop or Destination Options header (RFC 8200 §4.2): Pad1 is one
/// byte, every other option is type, length, data. An option running past its header is malformed
/// and stops the walk; a Home Address option (RFC 6275 §6.3) must hold 16 bytes.
public struct IPv6HeaderOptions: ~Escapable {
    @usableFromInline let bytes: RawSpan
    @usableFromInline var offset = 2

    /// `header` is the whole extension header, its two fixed bytes included.
    @inlinable @_lifetime(copy header)
    public init(_ header: RawSpan) { bytes = header }

    public static let homeAddress: UInt8 = 201

    /// The next option's type and data range, nil at the end.
    @inlinable
    public mutating func next() throws(DissectError) -> (type: UInt8, data: Range<Int>)? {
        guard offset < bytes.byteCount else { return nil }
        let type = bytes.u8(offset)
        if type == 0 {
            offset += 1
            return (0, offset..<offset)
        }
        guard offset + 2 <= bytes.byteCount else { throw DissectError(.ipv6Extension, .badOption(kind: Int(type), length: 0)) }
        let length = Int(bytes.u8(offset + 1))
        guard offset + 2 + length <= bytes.byteCount else {
            throw DissectError(.ipv6Extension, .badOption(kind: Int(type), length: length))
        }
        defer { offset += 2 + length }
        return (type, offset + 2..<offset + 2 + length)
    }
}

/// The IPv6 Fragment header (RFC 8200 §4.5): next header, reserved, offset + M flag, identification.
public struct IPv6FragmentHeader: ~Escapable {
    @usableFromInline let bytes: RawSpan
    @inlinable @_lifetime(copy header)
    public init(_ header: RawSpan) { bytes = header }
    @inlinable public var fragmentOffset: Int { Int(bytes.be16(2) & 0xFFF8) }
    @inlinable public var moreFragments: Bool { bytes.u8(3) & 0x01 != 0 }
    @inlinable public var identification: UInt32 { bytes.be32(4) }
}
