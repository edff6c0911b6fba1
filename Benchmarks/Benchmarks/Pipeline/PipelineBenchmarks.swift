import Benchmark
import Foundation
import Netsift

let dataDirectory = ProcessInfo.processInfo.environment["NETSIFT_BENCH_DATA"]
    ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data").path

/// The whole of `netsift analyze` on one thread but the rendering, through the library: read every
/// packet, dissect it, follow its flow, give the diagnosis every packet and every finished flow,
/// then its findings and the report. `Malloc (total)` is for the whole file; a figure that does
/// not grow with the file means no allocation per packet.
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
            benchmark.startMeasurement()
            let result = try Analysis.analyze(&reader)
            benchmark.stopMeasurement()
            blackHole(result.report)
        }
    }
}
