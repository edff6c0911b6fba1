import ArgumentParser
import NetsiftCapture
import NetsiftDissect
import NetsiftFlows

/// `netsift packets FILE`: one line per packet in the spirit of `tcpdump -nn`, or with `--json` one
/// JSON object per packet (JSON lines) holding every decoded field, layer by layer. The application
/// messages a packet completes (DNS, TLS, HTTP/2, over reassembled TCP streams) follow it.
struct Packets: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "packets",
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
    @OptionGroup var flowOptions: FlowOptions

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
        var dissector = flowOptions.dissector()
        // Flows are followed for every packet (even those not printed) so that streams reassemble
        // and application messages appear at the packet that completes them.
        var tracker = flowOptions.tracker()
        var messages: [ApplicationEvent] = []
        var output = BufferedOutput()
        var frame = 0
        var printed = 0
        let end: CaptureReader.End
        do {
            end = try reader.forEachPacket { (packet: CapturedPacket) throws(Done) in
                frame += 1
                if let frames, frame > frames.last { throw Done() }
                if let packetFilter, !packetFilter.matches(packet) { return }
                let shown = frames.map { frame >= $0.first } ?? true
                let time = packet.timestamp
                let hasTime = packet.hasTimestamp
                let length = packet.originalLength
                let captured = packet.capturedLength
                dissector.dissect(packet) { summary, bytes in
                    messages.removeAll(keepingCapacity: true)
                    _ = tracker.track(&summary, bytes: bytes, frame: frame, time: time, wireLength: length) {
                        messages.append($0)
                    }
                    guard shown else { return }
                    if json {
                        output.write(PacketJSON.line(frame: frame, time: time, hasTime: hasTime, length: length,
                                                     captured: captured, summary, bytes, application: messages))
                    } else {
                        output.write(PacketText.line(frame: frame, time: time, length: length, summary, bytes))
                        for message in messages { output.write("    " + message.message.summaryLine) }
                    }
                }
                tracker.drain { _ in }
                guard shown else { return }
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
