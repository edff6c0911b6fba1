import Benchmark
import Foundation
import NetsiftCapture
import NetsiftDissect

let dataDirectory = ProcessInfo.processInfo.environment["NETSIFT_BENCH_DATA"]
    ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data").path

/// Read and dissect every packet down to the transport layer, against reading alone, on the same
/// file: the difference is what dissection costs. `Malloc (total)` is for the whole file, so a
/// figure that does not grow with the packet count means none per packet.
let benchmarks: @Sendable () -> Void = {
    for name in ["large.pcap", "small.pcap"] {
        let path = dataDirectory + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            print("skipping \(name): \(path) missing (run Benchmarks/scripts/make-*.sh)")
            continue
        }
        let configuration = Benchmark.Configuration(
            metrics: [.wallClock, .mallocCountTotal, .peakMemoryResident, .instructions],
            maxDuration: .seconds(30), maxIterations: 5)
        Benchmark("Read only: \(name)", configuration: configuration) { benchmark in
            var reader = try CaptureReader(path: path)
            var bytes = 0
            benchmark.startMeasurement()
            _ = reader.forEachPacket { packet in bytes &+= packet.capturedLength }
            benchmark.stopMeasurement()
            blackHole(bytes)
        }
        Benchmark("Read and dissect: \(name)", configuration: configuration) { benchmark in
            var reader = try CaptureReader(path: path)
            var dissector = Dissector()
            var ports = 0
            benchmark.startMeasurement()
            _ = reader.forEachPacket { packet in
                dissector.dissect(packet) { summary, _ in ports &+= Int(summary.sourcePort) }
            }
            benchmark.stopMeasurement()
            blackHole(ports)
        }
    }
}
