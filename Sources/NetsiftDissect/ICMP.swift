import NetsiftCapture

/// ICMP for IPv4 (RFC 792, RFC 1191): type, code, checksum, then 4 bytes whose meaning depends on
/// the type. Error messages (destination unreachable 3, source quench 4, redirect 5, time exceeded
/// 11, parameter problem 12) quote the IP header and first 8 bytes of the packet that caused them.
public struct ICMPHeader: ~Escapable {
    public static let length = 8
    @usableFromInline let bytes: RawSpan

    @inlinable @_lifetime(copy message)
    public init(_ message: RawSpan, wire: Int) throws(DissectError) {
        try require(Self.length, captured: message.byteCount, wire: wire, layer: .icmp)
        bytes = message.extracting(first: Self.length)
    }

    @inlinable public var type: UInt8 { bytes.u8(0) }
    @inlinable public var code: UInt8 { bytes.u8(1) }
    /// Destination unreachable / fragmentation needed (type 3 code 4): the next-hop MTU (RFC 1191).
    @inlinable public var nextHopMTU: UInt16? { type == 3 && code == 4 ? bytes.be16(6) : nil }
    @inlinable public var isError: Bool { [3, 4, 5, 11, 12].contains(type) }
    @inlinable public var identifier: UInt16 { bytes.be16(4) }
    @inlinable public var sequenceNumber: UInt16 { bytes.be16(6) }

    public static func typeName(_ type: UInt8, code: UInt8) -> String {
        switch (type, code) {
        case (0, _): "echo reply"
        case (3, 0): "net unreachable"
        case (3, 1): "host unreachable"
        case (3, 2): "protocol unreachable"
        case (3, 3): "port unreachable"
        case (3, 4): "fragmentation needed"
        case (3, 13): "administratively prohibited"
        case (3, _): "destination unreachable"
        case (4, _): "source quench"
        case (5, _): "redirect"
        case (8, _): "echo request"
        case (11, 0): "TTL exceeded in transit"
        case (11, _): "time exceeded"
        case (12, _): "parameter problem"
        case (13, _): "timestamp request"
        case (14, _): "timestamp reply"
        default: "type \(type) code \(code)"
        }
    }
}
