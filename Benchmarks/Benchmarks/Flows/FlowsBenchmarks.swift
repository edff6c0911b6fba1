import Benchmark
import Foundation
import NetsiftCapture
import NetsiftDissect
import NetsiftFlows

let dataDirectory = ProcessInfo.processInfo.environment["NETSIFT_BENCH_DATA"]
    ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data").path

/// The first `limit` packets of a capture, dissected once and kept with a copy of the bytes their
/// ranges refer to, so that a benchmark times the flow tracker alone.
struct Dissected {
    var summaries: [PacketSummary] = []
    var times: [Int64] = []
    var wireLengths: [Int] = []
    var bytes: [UInt8] = []
    var ranges: [Range<Int>] = []

    init(path: String, limit: Int) throws {
        var reader = try CaptureReader(path: path)
        var dissector = Dissector()
        _ = reader.forEachPacket { packet in
            guard summaries.count < limit else { return }
            let time = packet.timestamp, wire = packet.originalLength
            dissector.dissect(packet) { summary, packetBytes in
                summaries.append(summary)
                times.append(time)
                wireLengths.append(wire)
                let start = bytes.count
                packetBytes.withUnsafeBytes { bytes.append(contentsOf: $0) }
                ranges.append(start..<bytes.count)
            }
        }
    }
}

/// FlowTracker.track (and drain, and finish at the end) over packets dissected beforehand: the
/// cost of following flows alone. `Malloc (total)` is for all the packets of one iteration, so a
/// figure that does not grow with them means no allocation per packet.
let benchmarks: @Sendable () -> Void = {
    let limit = 200_000
    for name in ["large.pcap", "small.pcap"] {
        let path = dataDirectory + "/" + name
        guard FileManager.default.fileExists(atPath: path), let packets = try? Dissected(path: path, limit: limit) else {
            print("skipping \(name): \(path) missing (run Benchmarks/scripts/make-*.sh)")
            continue
        }
        Benchmark(
            "FlowTracker.track: first \(packets.summaries.count) packets of \(name)",
            configuration: .init(
                metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions],
                scalingFactor: .one,
                maxDuration: .seconds(20),
                maxIterations: 10
            )
        ) { benchmark in
            var tracker = FlowTracker()
            var flows = 0
            var summaries = packets.summaries   // `track` takes each in place
            benchmark.startMeasurement()
            packets.bytes.withUnsafeBytes { all in
                let bytes = all.bytes
                for index in packets.summaries.indices {
                    _ = tracker.track(&summaries[index], bytes: bytes.extracting(packets.ranges[index]),
                                      frame: index + 1, time: packets.times[index],
                                      wireLength: packets.wireLengths[index]) { blackHole($0) }
                    tracker.drain { _ in flows += 1 }
                }
            }
            tracker.finish { _ in flows += 1 }
            benchmark.stopMeasurement()
            blackHole(flows)
        }
    }
}
