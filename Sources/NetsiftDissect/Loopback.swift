import NetsiftCapture

/// BSD loopback headers: a 4-byte address family. LINKTYPE_NULL (0) stores it in the byte order of
/// the machine that captured, so both orders are tried (a family fits in 16 bits); LINKTYPE_LOOP
/// (108) stores it in network byte order.
public struct LoopbackHeader: ~Escapable {
    public static let length = 4
    @usableFromInline let bytes: RawSpan
    @usableFromInline let networkOrder: Bool

    @inlinable @_lifetime(copy frame)
    public init(_ frame: RawSpan, wire: Int, networkOrder: Bool) throws(DissectError) {
        try require(Self.length, captured: frame.byteCount, wire: wire, layer: .loopback)
        bytes = frame.extracting(first: Self.length)
        self.networkOrder = networkOrder
    }

    @inlinable public var family: UInt32 {
        if networkOrder { return bytes.be32(0) }
        let little = bytes.le32(0)
        return little & 0xFFFF_0000 != 0 ? bytes.be32(0) : little
    }

    /// 4 or 6 for the families that carry IP (AF_INET 2; AF_INET6 is 10 on Linux, 24, 28 or 30 on
    /// the BSDs and macOS), nil otherwise.
    @inlinable public var ipVersion: UInt8? {
        switch family {
        case 2: 4
        case 10, 24, 28, 30: 6
        default: nil
        }
    }
}
