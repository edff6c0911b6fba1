import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftTestSupport

/// Reads a capture through the whole pipeline (reader, dissector, flow tracker) and keeps, per
/// frame, what TCP analysis said, and every application event in the order they came.
struct PipelineRun {
    var flagsByFrame: [Int: TCPAnalysisFlags] = [:]
    var events: [ApplicationEvent] = []
    var tracker: FlowTracker

    /// `decodeAs` takes Wireshark's rules (`tcp.port==8443,http2`); by default the corpus's
    /// `decode_as.tsv` rules for this capture.
    init(path: String, decodeAs rules: [String]? = nil) throws {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard let decodeAs = DecodeAs(rules: rules ?? Corpus.decodeAs[name] ?? []) else {
            throw PipelineError.badDecodeAs
        }
        var reader = try CaptureReader(path: path)
        var dissector = Dissector()
        var tracker = FlowTracker(decodeAs: decodeAs)
        var flagsByFrame: [Int: TCPAnalysisFlags] = [:]
        var events: [ApplicationEvent] = []
        var frame = 0
        _ = reader.forEachPacket { packet in
            frame += 1
            let time = packet.timestamp, wire = packet.originalLength
            dissector.dissect(packet) { summary, bytes in
                let result = tracker.track(summary, bytes: bytes, frame: frame, time: time, wireLength: wire) {
                    events.append($0)
                }
                if let result, !result.flags.isEmpty { flagsByFrame[frame] = result.flags }
            }
        }
        self.flagsByFrame = flagsByFrame
        self.events = events
        self.tracker = tracker
    }

    func frames(_ flag: TCPAnalysisFlags) -> [Int] {
        flagsByFrame.filter { $0.value.contains(flag) }.map(\.key).sorted()
    }

    enum PipelineError: Error { case badDecodeAs }
}
