/// What a capture file says about itself: its format and the interfaces its packets came from.
/// Built while reading (pcapng describes interfaces as it goes), so it is complete after the last packet.

public enum CaptureFormat: Sendable, Equatable {
    /// Classic libpcap. `nanosecond`: the 0xa1b23c4d magic. `modified`: Alexey Kuznetsov's patched
    /// format (0xa1b2cd34), whose records carry 8 extra bytes.
    case pcap(nanosecond: Bool, modified: Bool)
    case pcapng

    /// The names capinfos prints for "File type".
    public var name: String {
        switch self {
        case .pcap(let nanosecond, let modified):
            modified ? "modpcap" : (nanosecond ? "nsecpcap" : "pcap")
        case .pcapng: "pcapng"
        }
    }
}

/// One capture interface: classic pcap has exactly one, pcapng one per Interface Description Block.
public struct InterfaceDescription: Sendable, Equatable {
    public var linkType: LinkType
    /// 0 means "not set" (pcapng allows it; classic pcap files sometimes store it).
    public var snaplen: Int
    /// Frame check sequence bytes at the end of each packet, when the file says so.
    public var fcsLength: Int?
    public var name: String?
    public var description: String?
    /// Timestamp ticks per second (1_000_000 unless `if_tsresol` says otherwise).
    public var ticksPerSecond: UInt64
    /// `if_tsoffset`: seconds added to every timestamp.
    public var timestampOffset: Int64
    /// Which section (Section Header Block) the interface belongs to, counting from 0.
    public var section: Int
    /// The last Interface Statistics Block seen for this interface, if any.
    public var statistics: InterfaceStatistics?

    public init(linkType: LinkType, snaplen: Int, fcsLength: Int? = nil, name: String? = nil,
                description: String? = nil, ticksPerSecond: UInt64 = 1_000_000, timestampOffset: Int64 = 0,
                section: Int = 0, statistics: InterfaceStatistics? = nil) {
        self.linkType = linkType
        self.snaplen = snaplen
        self.fcsLength = fcsLength
        self.name = name
        self.description = description
        self.ticksPerSecond = ticksPerSecond
        self.timestampOffset = timestampOffset
        self.section = section
        self.statistics = statistics
    }
}

/// Counters from a pcapng Interface Statistics Block (each `nil` when the block omits it).
public struct InterfaceStatistics: Sendable, Equatable {
    public var received: UInt64?
    public var droppedByInterface: UInt64?
    public var acceptedByFilter: UInt64?
    public var droppedByOS: UInt64?
    public var deliveredToUser: UInt64?
    public init() {}
}

/// A section of a pcapng file (classic pcap: the single header), with what it says about itself.
public struct CaptureSection: Sendable, Equatable {
    public var bigEndian: Bool
    public var version: (major: UInt16, minor: UInt16)
    public var hardware: String?
    public var operatingSystem: String?
    public var application: String?
    public var comments: [String] = []

    public static func == (a: CaptureSection, b: CaptureSection) -> Bool {
        a.bigEndian == b.bigEndian && a.version == b.version && a.hardware == b.hardware
            && a.operatingSystem == b.operatingSystem && a.application == b.application && a.comments == b.comments
    }
}

/// Blocks and records that carry no packet, counted so `info` can say what else the file held.
public struct OtherBlockCounts: Sendable, Equatable {
    public var nameResolution = 0
    public var interfaceStatistics = 0
    public var decryptionSecrets = 0
    public var custom = 0
    public var unknown = 0
    /// Packets whose block carried an `opt_comment`.
    public var packetComments = 0
    public init() {}
}

extension CaptureParser {
    /// The packets the recorder said it dropped, over every interface whose last statistics block
    /// counts them (`isb_ifdrop` and `isb_osdrop`); nil when no block counts any drops (classic pcap,
    /// or a pcapng file without statistics).
    public var interfaceDrops: Int? {
        var total: UInt64?
        for statistics in interfaces.compactMap(\.statistics) {
            for count in [statistics.droppedByInterface, statistics.droppedByOS].compactMap({ $0 }) {
                let (sum, overflow) = (total ?? 0).addingReportingOverflow(count)
                total = overflow ? .max : sum   // hostile counters saturate
            }
        }
        return total.map { Int(clamping: $0) }
    }
}
