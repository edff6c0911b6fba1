import ArgumentParser
import NetsiftCapture
import NetsiftDissect
import NetsiftFlows

/// The options of every command that follows conversations.
struct FlowOptions: ParsableArguments {
    @Option(name: .customLong("decode-as"), help: ArgumentHelp(
        "Parse a port as a protocol whatever its content, as Wireshark's -d: tcp.port==8443,http2 (dns, tls, http2).",
        valueName: "rule"))
    var decodeAs: [String] = []

    @Option(help: "At most this many conversations (TCP and UDP each) followed at once; the idlest are ended early and counted.")
    var maxFlows = FlowLimits().maximumFlows

    @Option(help: "Seconds a TCP conversation may stay idle before it is over (established or midstream).")
    var tcpIdle = Double(FlowLimits().tcpIdle) / 1e9

    @Option(help: "Seconds a TCP conversation waiting for an answer to its SYN may stay idle.")
    var tcpAttemptIdle = Double(FlowLimits().tcpAttemptIdle) / 1e9

    @Option(help: "Seconds a closed or reset TCP conversation is kept for late packets.")
    var tcpClosedIdle = Double(FlowLimits().tcpClosedIdle) / 1e9

    @Option(help: "Seconds a UDP conversation may stay idle before it is over.")
    var udpIdle = Double(FlowLimits().udpIdle) / 1e9

    @Option(help: "Out-of-order bytes TCP reassembly may hold, in MiB per direction.")
    var reassemblyDirectionMiB = ReassemblyLimits().bytesPerDirection >> 20

    @Option(help: "Out-of-order bytes TCP reassembly may hold in all, in MiB.")
    var reassemblyTotalMiB = ReassemblyLimits().totalBytes >> 20

    func validate() throws {
        guard DecodeAs(rules: decodeAs) != nil else {
            throw ValidationError("--decode-as takes tcp.port==N,PROTOCOL or udp.port==N,PROTOCOL with PROTOCOL one of dns, tls, http2")
        }
        guard maxFlows > 0, reassemblyDirectionMiB >= 0, reassemblyTotalMiB >= 0 else {
            throw ValidationError("--max-flows must be positive and the reassembly limits zero or more")
        }
        guard [tcpIdle, tcpAttemptIdle, tcpClosedIdle, udpIdle].allSatisfy({ $0 > 0 && $0 < 1e9 }) else {
            throw ValidationError("idle timeouts must be positive numbers of seconds")
        }
    }

    func tracker() -> FlowTracker {
        FlowTracker(decodeAs: DecodeAs(rules: decodeAs) ?? DecodeAs(),
                    reassemblyLimits: ReassemblyLimits(bytesPerDirection: reassemblyDirectionMiB << 20,
                                                       totalBytes: reassemblyTotalMiB << 20),
                    flowLimits: FlowLimits(maximumFlows: maxFlows, tcpIdle: Int64(tcpIdle * 1e9),
                                           tcpAttemptIdle: Int64(tcpAttemptIdle * 1e9),
                                           tcpClosedIdle: Int64(tcpClosedIdle * 1e9), udpIdle: Int64(udpIdle * 1e9)))
    }
}

/// Opens a capture, or says why not (one line naming the file) and exits 2.
func openCapture(_ file: String) throws -> CaptureReader {
    do {
        return try CaptureReader(path: file)
    } catch {
        warn(error.description)
        throw ExitCode(ExitStatus.unreadable.rawValue)
    }
}

/// What reading ended with, as an exit status: a damaged capture is reported in one line (what was
/// read before the damage has been analysed) and exits 3; an unreadable one exits 2.
func status(of end: CaptureReader.End, file: String) -> ExitStatus {
    switch end {
    case .finished:
        return .success
    case .damaged(let damage):
        warn("\(file == "-" ? "standard input" : file): \(damage.description)")
        return .damaged
    case .rejected(let error):
        warn(error.description)
        return .unreadable
    }
}

/// The plain loop through the pipeline: read, filter, dissect, follow flows. Each stage's output
/// goes to the caller: every packet with its TCP analysis, every application message, every
/// conversation once it is over (the rest when the capture ends).
struct Pipeline {
    var tracker: FlowTracker
    var dissector = Dissector()
    var frame = 0
    var packets = 0
    var firstTime: Int64?
    var lastTime: Int64?

    init(options: FlowOptions) { tracker = options.tracker() }

    mutating func run(_ reader: inout CaptureReader, filter: PacketFilter?,
                      packet: (_ frame: Int, _ time: Int64, PacketSummary, TCPPacketAnalysis?) -> Void = { _, _, _, _ in },
                      event: (ApplicationEvent) -> Void = { _ in },
                      flow: (FinishedFlow) -> Void) -> CaptureReader.End {
        let end = reader.forEachPacket { captured in
            add(captured, filter: filter, packet: packet, event: event, flow: flow)
        }
        tracker.finish(flow)
        return end
    }

    /// One packet through the loop, from any source (a file above, a live capture in `netsift live`,
    /// which calls `tracker.finish` itself when it stops).
    mutating func add(_ captured: CapturedPacket, filter: PacketFilter?,
                      packet: (_ frame: Int, _ time: Int64, PacketSummary, TCPPacketAnalysis?) -> Void,
                      event: (ApplicationEvent) -> Void, flow: (FinishedFlow) -> Void) {
        frame += 1
        if let filter, !filter.matches(captured) { return }
        packets += 1
        let time = captured.timestamp, wire = captured.originalLength
        if firstTime == nil { firstTime = time }
        lastTime = time
        let number = frame
        dissector.dissect(captured) { summary, bytes in
            let analysis = tracker.track(summary, bytes: bytes, frame: number, time: time, wireLength: wire,
                                         events: event)
            packet(number, time, summary, analysis)
        }
        tracker.drain(flow)
    }
}
