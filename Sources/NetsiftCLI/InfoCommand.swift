import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Netsift

/// `netsift info FILE...`: what capinfos tells about a capture — format, interfaces, counts, sizes,
/// time span, rates — as text or JSON.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Summarise capture files: format, interfaces, packet count, sizes, time span, rates.",
        discussion: "Use - to read standard input, e.g. tcpdump -w - | netsift info -"
    )

    @Argument(help: "Capture files (pcap or pcapng); - for standard input.")
    var files: [String]

    @Flag(help: "Print JSON instead of text (an array when several files are given).")
    var json = false

    @OptionGroup var filter: FilterOption

    func run() throws {
        let packetFilter = try filter.compiled()
        var reports: [InfoReport] = []
        var worst = ExitStatus.success
        for file in files {
            let report: InfoReport
            do {
                report = try InfoReport.read(file, filter: packetFilter)
            } catch {
                warn(error.description)
                worst = max(worst, .unreadable)
                continue
            }
            if let problem = report.problem {
                warn("\(file == "-" ? "standard input" : file): \(problem.description)")
                worst = max(worst, problem.status)
            }
            reports.append(report)
            if !json { print(report.text, terminator: reports.count < files.count ? "\n" : "") }
        }
        if json {
            let encoder = JSONOutput.encoder(pretty: true)
            let data = reports.count == 1 && files.count == 1
                ? try encoder.encode(reports[0]) : try encoder.encode(reports)
            print(String(decoding: data, as: UTF8.self))
        }
        if worst != .success { throw ExitCode(worst.rawValue) }
    }
}

/// One file's `info`, in the shape the JSON output has.
struct InfoReport: Encodable {
    struct Interface: Encodable {
        var id: Int
        var linkType: Int
        var linkTypeName: String
        var snaplen: Int
        var name: String?
        var description: String?
        var timestampResolution: String
        var packets: Int
        var droppedByInterface: UInt64?
        var droppedByOS: UInt64?
    }

    struct Problem: Encodable, CustomStringConvertible {
        var message: String
        var byteOffset: Int?
        var packetsBeforeDamage: Int?
        var status: ExitStatus
        var description: String { message }
        enum CodingKeys: String, CodingKey { case message, byteOffset, packetsBeforeDamage }
    }

    var file: String
    var format: String
    var byteOrder: String
    var sections: Int
    var interfaces: [Interface]
    var packets: Int
    var capturedBytes: Int
    var wireBytes: Int
    var cutPackets: Int
    var smallestPacket: Int?
    var largestPacket: Int?
    var averagePacketSize: Double?
    var firstPacketTime: String?
    var lastPacketTime: String?
    var firstPacketNanoseconds: Int64?
    var lastPacketNanoseconds: Int64?
    var durationSeconds: Double
    var bytesPerSecond: Double?
    var packetsPerSecond: Double?
    var outOfOrderTimestamps: Int
    var comments: [String]
    var otherBlocks: [String: Int]
    var complete: Bool
    var problem: Problem?

    static func read(_ path: String, filter: PacketFilter?) throws(CaptureError) -> InfoReport {
        var reader = try CaptureReader(path: path)
        var summary = CaptureSummary()
        let end: CaptureReader.End
        if let filter {
            end = reader.forEachPacket { packet in if filter.matches(packet) { summary.add(packet) } }
        } else {
            end = reader.forEachPacket { packet in summary.add(packet) }
        }
        if case .rejected(let error) = end { throw error }
        return InfoReport(path: path, parser: reader.parser, summary: summary, end: end)
    }

    init(path: String, parser: CaptureParser, summary: CaptureSummary, end: CaptureReader.End) {
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
                              packetsBeforeDamage: damage.packetsRead, status: .damaged)
        }
    }

    static func resolutionName(_ ticksPerSecond: UInt64) -> String {
        switch ticksPerSecond {
        case 1: "s"
        case 1_000: "ms"
        case 1_000_000: "µs"
        case 1_000_000_000: "ns"
        default: "1/\(ticksPerSecond) s"
        }
    }

    var text: String {
        var lines: [(String, String)] = [
            ("File", file == "-" ? "standard input" : file),
            ("Format", format + (format == "pcapng" ? ", \(plural(sections, "section"))" : "")),
            ("Byte order", byteOrder),
        ]
        for interface in interfaces {
            var parts = ["\(interface.linkTypeName) (\(interface.linkType))",
                         "snaplen \(interface.snaplen == 0 ? "not set" : String(interface.snaplen))",
                         "\(interface.timestampResolution) timestamps", counted(interface.packets, "packet")]
            if let name = interface.name { parts.insert(name, at: 0) }
            if let dropped = interface.droppedByInterface { parts.append("\(dropped) dropped by interface") }
            if let dropped = interface.droppedByOS { parts.append("\(dropped) dropped by OS") }
            lines.append(("Interface \(interface.id)", parts.joined(separator: ", ")))
        }
        lines.append(("Packets", grouped(packets)))
        lines.append(("Data", "\(grouped(capturedBytes)) bytes captured, \(grouped(wireBytes)) on the wire"))
        if let smallest = smallestPacket, let largest = largestPacket, let average = averagePacketSize {
            lines.append(("Packet size", "\(smallest) to \(largest) bytes, average \(fixed(average, 1))"))
        }
        lines.append(("Cut by snaplen", counted(cutPackets, "packet")))
        if let first = firstPacketTime, let last = lastPacketTime {
            lines.append(("First packet", first))
            lines.append(("Last packet", last))
            lines.append(("Duration", "\(fixed(durationSeconds, 6)) s"))
        }
        if let bytesPerSecond, let packetsPerSecond {
            // Past what Int holds (a gigabyte over a hostile nanosecond), the plain Double says it.
            func rate(_ value: Double) -> String { Int(exactly: value.rounded(.down)).map(grouped) ?? String(value) }
            lines.append(("Data rate", "\(rate(bytesPerSecond)) bytes/s, \(rate(bytesPerSecond * 8)) bits/s"))
            lines.append(("Packet rate", "\(fixed(packetsPerSecond, 1)) packets/s"))
        }
        if outOfOrderTimestamps > 0 {
            lines.append(("Time order", "\(outOfOrderTimestamps) packets earlier than the one before"))
        }
        for comment in comments { lines.append(("Comment", comment)) }
        if !otherBlocks.isEmpty {
            lines.append(("Other blocks", otherBlocks.sorted { $0.key < $1.key }
                .map { "\($0.value) \($0.key)" }.joined(separator: ", ")))
        }
        lines.append(("Status", problem.map { "incomplete: \($0.message)" } ?? "complete"))
        let width = lines.map(\.0.count).max() ?? 0
        return lines.map { $0.0 + ":" + String(repeating: " ", count: width - $0.0.count + 2) + $0.1 }
            .joined(separator: "\n") + "\n"
    }
}
