import NetsiftCapture

/// UDP header (RFC 768): ports, length (header included, at least 8), checksum.
public struct UDPHeader: ~Escapable {
    public static let length = 8
    @usableFromInline let bytes: RawSpan

    @inlinable @_lifetime(copy datagram)
    public init(_ datagram: RawSpan, wire: Int) throws(DissectError) {
        try require(Self.length, captured: datagram.byteCount, wire: wire, layer: .udp)
        bytes = datagram.extracting(first: Self.length)
        // A length of 0 is legal for IPv6 jumbograms (RFC 2675); otherwise it includes the header.
        let declared = Int(bytes.be16(4))
        if declared != 0 && declared < Self.length {
            throw DissectError(.udp, .lengthBelowMinimum(field: .udpLength, value: declared, minimum: 8))
        }
    }

    @inlinable public var sourcePort: UInt16 { bytes.be16(0) }
    @inlinable public var destinationPort: UInt16 { bytes.be16(2) }
    @inlinable public var length: Int { Int(bytes.be16(4)) }
    @inlinable public var checksum: UInt16 { bytes.be16(6) }
}
