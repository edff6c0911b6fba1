import Benchmark
import Foundation
import NetsiftCapture
import NetsiftDissect
import NetsiftFlows
import NetsiftReport

let dataDirectory = ProcessInfo.processInfo.environment["NETSIFT_BENCH_DATA"]
    ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data").path

/// The whole of `netsift analyze` on one thread but the rendering: read every packet, dissect it,
/// follow its flow, and give the diagnosis every packet and every finished flow, then its findings.
/// `Malloc (total)` is for the whole file; a figure that does not grow with the file means no
/// allocation per packet.
let benchmarks: @Sendable () -> Void = {
    for name in ["large-512m.pcap", "large-1g.pcap", "large.pcap", "small.pcap"] {
        let path = dataDirectory + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            print("skipping \(name): \(path) missing (run Benchmarks/scripts/make-*.sh)")
            continue
        }
        Benchmark(
            "Pipeline (read, dissect, track, diagnose): \(name)",
            configuration: .init(
                metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident, .instructions],
                scalingFactor: .one,
                maxDuration: .seconds(30),
                maxIterations: 5
            )
        ) { benchmark in
            var reader = try CaptureReader(path: path)
            var dissector = Dissector()
            var tracker = FlowTracker()
            var diagnosis = Diagnosis()
            var frame = 0
            benchmark.startMeasurement()
            _ = reader.forEachPacket { packet in
                frame += 1
                let number = frame, time = packet.timestamp, wire = packet.originalLength
                dissector.dissect(packet) { summary, bytes in
                    _ = tracker.track(&summary, bytes: bytes, frame: number, time: time, wireLength: wire) { blackHole($0) }
                    diagnosis.add(frame: number, summary)
                }
                tracker.drain { diagnosis.add($0) }
            }
            tracker.finish { diagnosis.add($0) }
            let findings = diagnosis.findings(start: nil, end: nil, counters: tracker.counters)
            benchmark.stopMeasurement()
            blackHole(findings)
        }
    }
}
