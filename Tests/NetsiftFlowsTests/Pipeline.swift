import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftTestSupport

/// Reads a capture through the whole pipeline (reader, dissector, flow tracker) and keeps, per
/// frame, what TCP analysis said, and every application event in the order they came.
struct PipelineRun {
    var flagsByFrame: [Int: TCPAnalysisFlags] = [:]
    /// Per TCP frame that has them: `tcp.analysis.ack_rtt` (ns) and `tcp.analysis.bytes_in_flight`.
    var ackRTTByFrame: [Int: Int64] = [:]
    var bytesInFlightByFrame: [Int: Int] = [:]
    var events: [ApplicationEvent] = []
    /// Every conversation, in stream order (the tracker hands them out as they end).
    var tcpConversations: [TCPConversation] = []
    var udpConversations: [UDPConversation] = []
    var counters: FlowCounters

    /// `decodeAs` takes Wireshark's rules (`tcp.port==8443,http2`); by default the corpus's
    /// `decode_as.tsv` rules for this capture.
    init(path: String, decodeAs rules: [String]? = nil, flowLimits: FlowLimits = FlowLimits()) throws {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let decodeAs = DecodeAs(rules: rules ?? Corpus.decodeAs[name] ?? []) else {
            throw PipelineError.badDecodeAs
        }
        var reader = try CaptureReader(path: path)
        var dissector = Dissector(tunnelPorts: decodeAs.tunnelPorts)
        var tracker = FlowTracker(decodeAs: decodeAs, flowLimits: flowLimits)
        var tcpConversations: [TCPConversation] = [], udpConversations: [UDPConversation] = []
        func keep(_ flow: FinishedFlow) {
            switch flow {
            case .tcp(let conversation): tcpConversations.append(conversation)
            case .udp(let conversation): udpConversations.append(conversation)
            }
        }
        var flagsByFrame: [Int: TCPAnalysisFlags] = [:]
        var ackRTTByFrame: [Int: Int64] = [:], bytesInFlightByFrame: [Int: Int] = [:]
        var events: [ApplicationEvent] = []
        var frame = 0
        _ = reader.forEachPacket { packet in
            frame += 1
            let time = packet.timestamp, wire = packet.originalLength
            dissector.dissect(packet) { summary, bytes in
                let result = tracker.track(&summary, bytes: bytes, frame: frame, time: time, wireLength: wire) {
                    events.append($0)
                }
                if let result, !result.flags.isEmpty { flagsByFrame[frame] = result.flags }
                if let result, result.ackRTT > 0 { ackRTTByFrame[frame] = result.ackRTT }
                if let inFlight = result?.bytesInFlight { bytesInFlightByFrame[frame] = inFlight }
            }
            tracker.drain(keep)
        }
        tracker.finish(keep)
        self.flagsByFrame = flagsByFrame
        self.ackRTTByFrame = ackRTTByFrame
        self.bytesInFlightByFrame = bytesInFlightByFrame
        self.events = events
        self.tcpConversations = tcpConversations.sorted { $0.stream < $1.stream }
        self.udpConversations = udpConversations.sorted { $0.stream < $1.stream }
        counters = tracker.counters
    }

    func frames(_ flag: TCPAnalysisFlags) -> [Int] {
        flagsByFrame.filter { $0.value.contains(flag) }.map(\.key).sorted()
    }

    enum PipelineError: Error { case badDecodeAs }
}
