import Foundation
import Netsift

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

    /// The whole pipeline and the report, through the library as `netsift analyze` runs them.
    static func analyze(_ bytes: RawSpan, tight: Bool) -> Reading {
        var options = AnalysisOptions()
        if tight {
            options.fragmentLimits.maximumDatagrams = 2
            options.reassemblyLimits = ReassemblyLimits(bytesPerDirection: 4096, totalBytes: 16384)
            options.flowLimits = FlowLimits(maximumFlows: 4)
        }
        var pipeline = try! Pipeline(options: options)   // no filter: nothing to fail
        var analysis = Analysis(thresholds: options.thresholds, top: options.top)
        var parser = CaptureParser()
        var reading = Reading()
        reading.outcome = parser.parse(bytes, isFinal: true) { packet in
            reading.add(packet)
            _ = Dissector.plainFlow(packet)   // how --threads shares packets out without dissecting them
            pipeline.add(packet, unusual: { analysis.add(frame: $0, $1) },
                         event: { event in
                             _ = event.message.summaryLine   // what `netsift packets` prints
                             analysis.add(event)
                         },
                         flow: { analysis.add($0) })
        }
        pipeline.finish { analysis.add($0) }
        var damage: String?
        switch reading.outcome {
        case .damaged(let d): damage = d.description
        case .rejected(let kind): damage = CaptureError(path: "fuzz", kind: kind).description
        case .finished, .needMore: break
        }
        let report = analysis.report(pipeline, source: "fuzz", damage: damage)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            _ = try encoder.encode(report)
        } catch {
            fatalError("the report cannot be encoded as JSON: \(error)")
        }
        return reading
    }
}
