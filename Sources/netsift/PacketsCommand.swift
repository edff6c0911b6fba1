import ArgumentParser
import NetsiftCapture
import NetsiftDissect

/// `netsift packets FILE`: one line per packet in the spirit of `tcpdump -nn`, or with `--json` one
/// JSON object per packet (JSON lines) holding every decoded field, layer by layer.
struct Packets: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List packets, one line each (like tcpdump -nn), or every decoded field as JSON lines."
    )

    @Argument(help: "A capture file (pcap or pcapng); - for standard input.")
    var file: String

    @Flag(help: "One JSON object per packet with every decoded field.")
    var json = false

    @Option(help: "Stop after this many packets.")
    var limit: Int?

    @Option(help: ArgumentHelp("Only these frame numbers: 7, 10-20, 100- (from 1).", valueName: "range"))
    var frames: FrameRange?

    @OptionGroup var filter: FilterOption

    /// Thrown from the packet loop to stop reading once nothing more can be printed.
    struct Done: Error {}

    func run() throws {
        let packetFilter = try filter.compiled()
        var reader: CaptureReader
        do {
            reader = try CaptureReader(path: file)
        } catch {
            warn(error.description)
            throw ExitCode(ExitStatus.unreadable.rawValue)
        }
        var dissector = Dissector()
        var output = BufferedOutput()
        var frame = 0
        var printed = 0
        let end: CaptureReader.End
        do {
            end = try reader.forEachPacket { (packet: CapturedPacket) throws(Done) in
                frame += 1
                if let frames {
                    if frame > frames.last { throw Done() }
                    if frame < frames.first { return }
                }
                if let packetFilter, !packetFilter.matches(packet) { return }
                let time = packet.timestamp
                let hasTime = packet.hasTimestamp
                let length = packet.originalLength
                let captured = packet.capturedLength
                dissector.dissect(packet) { summary, bytes in
                    if json {
                        output.write(PacketJSON.line(frame: frame, time: time, hasTime: hasTime, length: length,
                                                     captured: captured, summary, bytes))
                    } else {
                        output.write(PacketText.line(frame: frame, time: time, length: length, summary, bytes))
                    }
                }
                printed += 1
                if let limit, printed >= limit { throw Done() }
            }
        } catch {
            end = .finished
        }
        output.flush()
        switch end {
        case .finished: break
        case .damaged(let damage):
            warn("\(file): \(damage.description)")
            throw ExitCode(ExitStatus.damaged.rawValue)
        case .rejected(let error):
            warn(error.description)
            throw ExitCode(ExitStatus.unreadable.rawValue)
        }
    }
}

/// `--frames 7`, `10-20`, `100-`.
struct FrameRange: ExpressibleByArgument {
    var first: Int
    var last: Int

    init?(argument: String) {
        let parts = argument.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let start = Int(parts[0]), start >= 1 else { return nil }
        first = start
        if parts.count == 1 {
            last = start
        } else if parts[1].isEmpty {
            last = Int.max
        } else if let stop = Int(parts[1]), stop >= start {
            last = stop
        } else {
            return nil
        }
    }
}

/// Standard output through one growing buffer, written in large pieces.
struct BufferedOutput {
    var buffer = ""
    mutating func write(_ line: String) {
        buffer += line
        buffer += "\n"
        if buffer.utf8.count > 1 << 16 { flush() }
    }
    mutating func flush() {
        print(buffer, terminator: "")
        buffer = ""
    }
}
