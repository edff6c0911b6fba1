import Foundation
import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftReport

/// The input is a whole capture file, read as `netsift analyze` reads it: the capture parser, the
/// dissector (IP fragment reassembly included), the flow tracker with every application parser,
/// the diagnosis, and the report encoded as JSON. Inputs of odd length run under tiny limits (4
/// flows, 4 KiB of out-of-order data, 2 fragmented datagrams), so that eviction and overflow
/// paths run too. Then the same bytes are parsed again in small windows, as a pipe delivers them:
/// the packets and the outcome must be the same, or the streaming path would read a file
/// differently from the mapped one.
enum CaptureTarget {
    static func run(_ input: UnsafeRawBufferPointer) {
        let whole = analyze(input.bytes, tight: input.count % 2 == 1)
        let step = 1 + input.count % 61
        let windowed = read(input.bytes, step: step)
        if windowed != whole {
            fatalError("windows of \(step) bytes read \(windowed), the whole input \(whole)")
        }
    }

    /// What the capture parser delivered: enough to tell two readings apart.
    struct Reading: Equatable, CustomStringConvertible {
        var packets = 0
        var checksum: UInt64 = 0xCBF2_9CE4_8422_2325
        var outcome: CaptureParser.Outcome = .finished

        mutating func add(_ packet: CapturedPacket) {
            packets += 1
            for value in [packet.bytes.byteCount, packet.originalLength, Int(truncatingIfNeeded: packet.timestamp),
                          packet.interface, Int(packet.linkType.rawValue), packet.hasTimestamp ? 1 : 0] {
                checksum = (checksum ^ UInt64(bitPattern: Int64(value))) &* 0x100_0000_01B3
            }
        }

        var description: String { "\(packets) packets (checksum \(checksum)), \(outcome)" }
    }

    /// The capture parser alone, fed windows of at least `step` bytes (more when it asks for more).
    static func read(_ bytes: RawSpan, step: Int) -> Reading {
        var parser = CaptureParser()
        var reading = Reading()
        var want = step
        while true {
            let start = parser.bytesConsumed
            let end = min(bytes.byteCount, start + max(want, step))
            let outcome = parser.parse(bytes.extracting(start..<end), isFinal: end == bytes.byteCount) { packet in
                reading.add(packet)
            }
            guard case .needMore(let needed) = outcome else {
                reading.outcome = outcome
                return reading
            }
            want = needed
        }
    }

    /// The whole pipeline and the report, as `netsift analyze` runs them.
    static func analyze(_ bytes: RawSpan, tight: Bool) -> Reading {
        var parser = CaptureParser()
        var reading = Reading()
        var fragmentLimits = FragmentLimits()
        if tight { fragmentLimits.maximumDatagrams = 2 }
        var dissector = Dissector(fragmentLimits: fragmentLimits)
        var tracker = tight
            ? FlowTracker(reassemblyLimits: ReassemblyLimits(bytesPerDirection: 4096, totalBytes: 16384),
                          flowLimits: FlowLimits(maximumFlows: 4))
            : FlowTracker()
        var diagnosis = Diagnosis()
        var topFlows = TopFlows()
        var states: [String: Int] = [:]
        var messages: [String: Int] = [:]
        var frame = 0
        var first: Int64?, last: Int64?
        func finished(_ flow: FinishedFlow) {
            diagnosis.add(flow)
            let summary = FlowSummary(flow)
            if summary.transport == "tcp" { states[summary.state.rawValue, default: 0] += 1 }
            topFlows.add(summary)
        }
        reading.outcome = parser.parse(bytes, isFinal: true) { packet in
            reading.add(packet)
            _ = Dissector.plainFlow(packet)   // how --threads shares packets out without dissecting them
            frame += 1
            let number = frame, time = packet.timestamp, wire = packet.originalLength
            if first == nil { first = time }
            last = time
            dissector.dissect(packet) { summary, bytes in
                diagnosis.add(frame: number, summary)
                _ = tracker.track(&summary, bytes: bytes, frame: number, time: time, wireLength: wire) { event in
                    let (name, line) = describe(event.message)
                    if !line.isEmpty { messages[name, default: 0] += 1 }
                    diagnosis.add(event)
                }
            }
            tracker.drain(finished)
        }
        tracker.finish(finished)
        var damage: String?
        switch reading.outcome {
        case .damaged(let d): damage = d.description
        case .rejected(let kind): damage = CaptureError(path: "fuzz", kind: kind).description
        case .finished, .needMore: break
        }
        let findings = diagnosis.findings(start: first, end: last, counters: tracker.counters,
                                          fragments: dissector.fragments.statistics, fragmentLimits: fragmentLimits,
                                          damage: damage)
        let capture = AnalysisReport.Capture(file: "fuzz", packets: frame, firstPacket: first, lastPacket: last,
                                             damage: damage, counters: tracker.counters, tcpStates: states,
                                             applicationMessages: messages)
        let report = AnalysisReport(capture: capture, findings: findings, topFlows: topFlows.top(),
                                    thresholds: DiagnosisThresholds())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            _ = try encoder.encode(report)
        } catch {
            fatalError("the report cannot be encoded as JSON: \(error)")
        }
        return reading
    }

    /// A message's protocol, and the line `netsift packets` prints for it.
    static func describe(_ message: ApplicationMessage) -> (String, String) {
        switch message {
        case .streamGap(let proto): (proto.rawValue, "gap")
        case .dns(let message): ("dns", message.summaryLine)
        case .http2(let message): ("http2", message.summaryLine)
        case .tls(let message): ("tls", message.summaryLine)
        }
    }
}
