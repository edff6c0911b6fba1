import ArgumentParser
import Netsift

/// `netsift packets FILE`: one line per packet in the spirit of `tcpdump -nn`, or with `--json` one
/// JSON object per packet (JSON lines) holding every decoded field, layer by layer. The application
/// messages a packet completes (DNS, TLS, HTTP/2, over reassembled TCP streams) follow it.
struct Packets: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "packets",
        abstract: "List packets, one line each (like tcpdump -nn), or every decoded field as JSON lines."
    )

    @Argument(help: "Capture files (pcap or pcapng), folders of them or patterns, read as one capture merged by time (as mergecap merges them); - for standard input.")
    var files: [String]

    @Flag(help: "One JSON object per packet with every decoded field.")
    var json = false

    @Option(help: "Stop after this many packets.")
    var limit: Int?

    @Option(help: ArgumentHelp("Only these frame numbers: 7, 10-20, 100- (from 1).", valueName: "range"))
    var frames: FrameRange?

    @Option(name: [.customShort("w"), .long], help: ArgumentHelp(
        "Also write the packets shown (original bytes and times) to this file, in the input's format (pcap or pcapng).",
        valueName: "file"))
    var write: String?

    @OptionGroup var filter: FilterOption
    @OptionGroup var displayFilter: DisplayFilterOption
    @OptionGroup var flowOptions: FlowOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("Missing expected argument '<files> ...': a capture file") }
        if write == "-" { throw ValidationError("-w needs a file: standard output carries the packets' lines") }
    }

    /// Thrown from the packet loop to stop reading once nothing more can be printed.
    struct Done: Error {}

    func run() throws {
        _ = try filter.compiled()   // a bad -f or -Y is a usage error, said before anything is read
        let display = try displayFilter.compiled(.packet)
        var options = AnalysisOptions()
        options.filter = filter.filter
        flowOptions.apply(to: &options)
        var set = try openCaptures(files)
        var writer: CaptureWriter?
        if let write {
            do {
                writer = try CaptureWriter(path: write, like: &set)
            } catch {
                switch error.kind {
                case .cannotWrite:
                    warn(error.description)
                    throw ExitCode(ExitStatus.unreadable.rawValue)
                case .overwritesInput:
                    warn(error.description)
                    throw ExitCode(ExitStatus.usage.rawValue)
                default:
                    break   // the input is not a capture: reading it says so below, as without -w
                }
            }
        }
        // Flows are followed for every packet (even those not printed) so that streams reassemble
        // and application messages appear at the packet that completes them.
        var pipeline = try Pipeline(options: options)
        var output = BufferedOutput()
        var printed = 0
        let end: CaptureReader.End
        do {
            end = try set.forEachPacket { (packet: CapturedPacket, interfaces: [InterfaceDescription]) throws(Done) in
                if let frames, pipeline.frame + 1 > frames.last { throw Done() }
                let shown = frames.map { pipeline.frame + 1 >= $0.first } ?? true
                let time = packet.timestamp
                let hasTime = packet.hasTimestamp
                let length = packet.originalLength
                let captured = packet.capturedLength
                var printedThis = false
                pipeline.decode(packet) { summary, bytes, details in
                    guard shown, display?.matches(summary, bytes: bytes, details: details) ?? true else { return }
                    printedThis = true
                    if json {
                        output.write { line in
                            PacketJSON.render(frame: details.frame, time: time, hasTime: hasTime, length: length,
                                              captured: captured, summary, bytes, conversation: details.conversation,
                                              application: details.messages, into: &line)
                        }
                    } else {
                        output.write(PacketText.line(frame: details.frame, time: time, length: length, summary, bytes,
                                                     conversation: details.conversation))
                        for message in details.messages { output.write("    " + message.message.summaryLine) }
                    }
                }
                guard printedThis else { return }
                writer?.write(packet, from: interfaces)
                printed += 1
                if let limit, printed >= limit { throw Done() }
            }
        } catch {
            end = .finished
        }
        output.flush()
        var exit = status(of: set, end: end)
        if let writer {
            writer.close()
            if let error = writer.error {
                warn("\(error.description); the file holds the packets before it")
                exit = max(exit, .unreadable)
            }
        }
        if exit != .success { throw ExitCode(exit.rawValue) }
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
    var bytes: [UInt8] = []
    mutating func write(_ line: String) {
        bytes.append(contentsOf: line.utf8)
        endLine()
    }
    /// A line rendered straight into the buffer (no String of its own).
    mutating func write(_ render: (inout [UInt8]) -> Void) {
        render(&bytes)
        endLine()
    }
    mutating func endLine() {
        bytes.append(UInt8(ascii: "\n"))
        if bytes.count > 1 << 16 { flush() }
    }
    mutating func flush() {
        print(String(decoding: bytes, as: UTF8.self), terminator: "")
        bytes.removeAll(keepingCapacity: true)
    }
}
