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
        var reports: [CaptureReport] = []
        var worst = ExitStatus.success
        for file in files {
            let report: CaptureReport
            do {
                report = try CaptureReport.read(file, filter: packetFilter)
            } catch {
                warn(error.description)
                worst = max(worst, .unreadable)
                continue
            }
            if let problem = report.problem {
                warn("\(inputName(file)): \(problem.description)")
                worst = max(worst, .damaged)
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

extension CaptureReport {
    var text: String {
        var lines: [(String, String)] = [
            ("File", inputName(file)),
            ("Format", format + (format == "pcapng" ? ", \(plural(sections, "section"))" : "")),
            ("Byte order", byteOrder),
        ]
        for interface in interfaces {
            var parts = ["\(interface.linkTypeName) (\(interface.linkType))",
                         "snaplen \(interface.snaplen == 0 ? "not set" : String(interface.snaplen))",
                         "\(interface.timestampResolution) timestamps", plural(interface.packets, "packet")]
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
        lines.append(("Cut by snaplen", plural(cutPackets, "packet")))
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
