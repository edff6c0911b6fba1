import NetsiftCapture

/// ICMPv6 (RFC 4443): type, code, checksum, 4 bytes of type-specific data. Error messages (types
/// below 128: destination unreachable 1, packet too big 2, time exceeded 3, parameter problem 4)
/// quote as much of the offending packet as fits.
public struct ICMPv6Header: ~Escapable {
    public static let length = 8
    @usableFromInline let bytes: RawSpan

    @inlinable @_lifetime(copy message)
    public init(_ message: RawSpan, wire: Int) throws(DissectError) {
        // Some ICMPv6 messages (e.g. a bare type/code/checksum) are shorter than 8 bytes; the
        // fixed part is 4, the rest is checked where it is read.
        try require(4, captured: message.byteCount, wire: wire, layer: .icmpv6)
        bytes = message.extracting(first: min(Self.length, message.byteCount))
    }

    @inlinable public var type: UInt8 { bytes.u8(0) }
    @inlinable public var code: UInt8 { bytes.u8(1) }
    /// Packet too big (type 2): the MTU of the next-hop link.
    @inlinable public var mtu: UInt32? { type == 2 && bytes.byteCount >= 8 ? bytes.be32(4) : nil }
    @inlinable public var isError: Bool { type < 128 }

    public static func typeName(_ type: UInt8, code: UInt8) -> String {
        switch type {
        case 1: code == 4 ? "port unreachable" : "destination unreachable"
        case 2: "packet too big"
        case 3: "time exceeded"
        case 4: "parameter problem"
        case 128: "echo request"
        case 129: "echo reply"
        case 130: "multicast listener query"
        case 131: "multicast listener report"
        case 133: "router solicitation"
        case 134: "router advertisement"
        case 135: "neighbor solicitation"
        case 136: "neighbor advertisement"
        case 137: "redirect"
        case 143: "multicast listener report v2"
        default: "type \(type) code \(code)"
        }
    }
}
