import NetsiftCapture

/// What capinfos tells about one capture file (`netsift info`), in the shape its JSON has
/// (docs/schema/info.schema.json): format, interfaces, counts, sizes, time span, rates.
public struct CaptureReport: Sendable, Encodable {
    /// `/2`: the first, unversioned output in the one JSON convention (docs/json.md).
    public static let schema = "netsift.info/2"

    public struct Interface: Sendable, Encodable {
        public var id: Int
        public var linkType: Int
        public var linkTypeName: String
        public var snaplen: Int
        public var name: String?
        public var description: String?
        public var timestampResolution: String
        public var packets: Int
        public var droppedByInterface: UInt64?
        public var droppedByOS: UInt64?
    }

    /// The damage that stopped reading part-way.
    public struct Problem: Sendable, Encodable, CustomStringConvertible {
        public var message: String
        public var byteOffset: Int?
        public var packetsBeforeDamage: Int?
        public var description: String { message }
    }

    public var schema = CaptureReport.schema
    public var file: String
    public var format: String
    public var byteOrder: String
    public var sections: Int
    public var interfaces: [Interface]
    public var packets: Int
    public var capturedBytes: Int
    public var wireBytes: Int
    public var cutPackets: Int
    public var smallestPacket: Int?
    public var largestPacket: Int?
    public var averagePacketSize: Double?
    public var firstPacketTime: String?
    public var lastPacketTime: String?
    public var firstPacketNanoseconds: Int64?
    public var lastPacketNanoseconds: Int64?
    public var durationSeconds: Double
    public var bytesPerSecond: Double?
    public var packetsPerSecond: Double?
    public var outOfOrderTimestamps: Int
    public var comments: [String]
    public var otherBlocks: [String: Int]
    public var complete: Bool
    public var problem: Problem?

    /// Reads the whole capture at `path` (`-` for standard input), counting the packets `filter` lets through.
    /// - Throws: when the file cannot be opened or is not a capture; damage part-way is `problem`.
    public static func read(_ path: String, filter: PacketFilter?) throws(CaptureError) -> CaptureReport {
        var reader = try CaptureReader(path: path)
        var summary = CaptureSummary()
        let end: CaptureReader.End
        if let filter {
            end = reader.forEachPacket { packet in if filter.matches(packet) { summary.add(packet) } }
        } else {
            end = reader.forEachPacket { packet in summary.add(packet) }
        }
        if case .rejected(let error) = end { throw error }
        return CaptureReport(path: path, parser: reader.parser, summary: summary, end: end)
    }

    public init(path: String, parser: CaptureParser, summary: CaptureSummary, end: CaptureReader.End) {
        file = path
        format = parser.format?.name ?? "unknown"
        let orders = Set(parser.sections.map(\.bigEndian))
        byteOrder = orders.count > 1 ? "mixed" : (orders.first == true ? "big-endian" : "little-endian")
        sections = parser.sections.count
        interfaces = parser.interfaces.enumerated().map { id, interface in
            Interface(id: id, linkType: Int(interface.linkType.rawValue), linkTypeName: interface.linkType.name,
                      snaplen: interface.snaplen, name: interface.name, description: interface.description,
                      timestampResolution: Self.resolutionName(interface.ticksPerSecond),
                      packets: id < summary.packetsPerInterface.count ? summary.packetsPerInterface[id] : 0,
                      droppedByInterface: interface.statistics?.droppedByInterface,
                      droppedByOS: interface.statistics?.droppedByOS)
        }
        packets = summary.packets
        capturedBytes = summary.capturedBytes
        wireBytes = summary.wireBytes
        cutPackets = summary.cutPackets
        let seconds = Double(summary.duration) / 1e9
        durationSeconds = seconds
        if summary.packets > 0 {
            smallestPacket = summary.smallestCapturedLength
            largestPacket = summary.largestCapturedLength
            averagePacketSize = Double(summary.capturedBytes) / Double(summary.packets)
            firstPacketNanoseconds = summary.earliest
            lastPacketNanoseconds = summary.latest
            firstPacketTime = summary.earliest.map(formatUTC)
            lastPacketTime = summary.latest.map(formatUTC)
            if seconds > 0 {
                bytesPerSecond = Double(summary.capturedBytes) / seconds
                packetsPerSecond = Double(summary.packets) / seconds
            }
        }
        outOfOrderTimestamps = summary.outOfOrderTimestamps
        comments = parser.sections.flatMap(\.comments)
        let other = parser.otherBlocks
        otherBlocks = [
            "name_resolution": other.nameResolution, "interface_statistics": other.interfaceStatistics,
            "decryption_secrets": other.decryptionSecrets, "custom": other.custom, "unknown": other.unknown,
            "packet_comments": other.packetComments,
        ].filter { $0.value > 0 }
        switch end {
        case .finished, .rejected:
            complete = true
        case .damaged(let damage):
            complete = false
            problem = Problem(message: damage.description, byteOffset: damage.offset,
                              packetsBeforeDamage: damage.packetsRead)
        }
    }

    public static func resolutionName(_ ticksPerSecond: UInt64) -> String {
        switch ticksPerSecond {
        case 1: "s"
        case 1_000: "ms"
        case 1_000_000: "µs"
        case 1_000_000_000: "ns"
        default: "1/\(ticksPerSecond) s"
        }
    }
}
