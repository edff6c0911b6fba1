import Benchmark
import Foundation
import NetsiftCapture

/// The captures `scripts/make-large-capture.sh` and `scripts/make-small-packets.sh` write (never
/// committed). `NETSIFT_BENCH_DATA` points elsewhere.
let dataDirectory = ProcessInfo.processInfo.environment["NETSIFT_BENCH_DATA"]
    ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data").path

/// Packets in a capture, counted once up front so throughput can be given per packet.
func packetCount(_ path: String) -> Int {
    guard var reader = try? CaptureReader(path: path) else { return 0 }
    var count = 0
    _ = reader.forEachPacket { _ in count += 1 }
    return count
}

let benchmarks: @Sendable () -> Void = {
    for name in ["large.pcap", "large.pcapng", "small.pcap"] {
        let path = dataDirectory + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            print("skipping \(name): \(path) missing (run Benchmarks/scripts/make-*.sh)")
            continue
        }
        let packets = packetCount(path)
        // One iteration reads the whole file; the scaling factor turns totals into per-packet figures,
        // so `Malloc (total)` per scaled unit is allocations per packet.
        Benchmark(
            "Reader: every packet of \(name)",
            configuration: .init(
                metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident, .instructions],
                scalingFactor: .one,
                maxDuration: .seconds(20),
                maxIterations: 5
            )
        ) { benchmark in
            var reader = try CaptureReader(path: path)
            var bytes = 0
            var seen = 0
            benchmark.startMeasurement()
            _ = reader.forEachPacket { packet in
                seen += 1
                bytes &+= packet.capturedLength
            }
            benchmark.stopMeasurement()
            precondition(seen == packets)
            blackHole(bytes)
        }
    }
}
