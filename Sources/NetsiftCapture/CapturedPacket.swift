/// One packet as the reader hands it out: a view into the reader's bytes (the mapped file or the
/// stream buffer), valid only inside the callback that receives it. Nothing here is copied.
public struct CapturedPacket: ~Escapable {
    /// The captured bytes, starting at the link-layer header.
    public let bytes: RawSpan
    /// The length of the packet on the wire; larger than `bytes.byteCount` when the snaplen cut it.
    public let originalLength: Int
    /// Nanoseconds since the Unix epoch, with the interface's resolution and offset applied.
    /// pcapng Simple Packet Blocks carry no time: they get the previous packet's (see `hasTimestamp`).
    public let timestamp: Int64
    /// False for packets whose record has no time of its own (pcapng Simple Packet Blocks).
    public let hasTimestamp: Bool
    /// Interface index, numbered across the whole file in the order the interfaces were described
    /// (classic pcap has one, index 0), as Wireshark's `frame.interface_id` numbers them.
    public let interface: Int
    public let linkType: LinkType

    @inlinable @_lifetime(copy bytes)
    public init(bytes: RawSpan, originalLength: Int, timestamp: Int64, hasTimestamp: Bool = true,
                interface: Int, linkType: LinkType) {
        self.bytes = bytes
        self.originalLength = originalLength
        self.timestamp = timestamp
        self.hasTimestamp = hasTimestamp
        self.interface = interface
        self.linkType = linkType
    }

    @inlinable public var capturedLength: Int { bytes.byteCount }
    /// True when the capture kept fewer bytes than the packet had on the wire.
    @inlinable public var isCut: Bool { bytes.byteCount < originalLength }
}
