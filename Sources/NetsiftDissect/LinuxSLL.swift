import NetsiftCapture

/// Linux "cooked" capture headers (tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html and _SLL2.html),
/// what `tcpdump -i any` writes. SLL: packet type, ARPHRD type, address length, 8 address bytes,
/// protocol. SLL2: protocol, reserved, interface index, ARPHRD type, packet type, address length,
/// 8 address bytes.
public struct LinuxSLLHeader: ~Escapable {
    public static let length = 16
    @usableFromInline let bytes: RawSpan

    @inlinable @_lifetime(copy frame)
    public init(_ frame: RawSpan, wire: Int) throws(DissectError) {
        try require(Self.length, captured: frame.byteCount, wire: wire, layer: .linuxSLL)
        bytes = frame.extracting(first: Self.length)
    }

    /// 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us.
    @inlinable public var packetType: UInt16 { bytes.be16(0) }
    @inlinable public var hardwareType: UInt16 { bytes.be16(2) }
    @inlinable public var addressLength: Int { Int(bytes.be16(4)) }
    /// An EtherType, or 1 (802.3), 4 (802.2 LLC) and a few other Linux values below 0x0600.
    @inlinable public var protocolType: UInt16 { bytes.be16(14) }
}

public struct LinuxSLL2Header: ~Escapable {
    public static let length = 20
    @usableFromInline let bytes: RawSpan

    @inlinable @_lifetime(copy frame)
    public init(_ frame: RawSpan, wire: Int) throws(DissectError) {
        try require(Self.length, captured: frame.byteCount, wire: wire, layer: .linuxSLL2)
        bytes = frame.extracting(first: Self.length)
    }

    @inlinable public var protocolType: UInt16 { bytes.be16(0) }
    @inlinable public var interfaceIndex: UInt32 { bytes.be32(4) }
    @inlinable public var hardwareType: UInt16 { bytes.be16(8) }
    @inlinable public var packetType: UInt8 { bytes.u8(10) }
    @inlinable public var addressLength: Int { Int(bytes.u8(11)) }
}
