import Foundation
import Testing
@testable import Netsift
import NetsiftTestSupport

/// `merge` reads each shard output a batch at a time. However small the batch, a frame's records
/// must go out together (the conversations that ended at it, sorted as one tracker ends them): the
/// report read one record at a time equals the one read whole (which, for files this small, is
/// how ShardTests' merges read them, held equal to a single run's).
@Suite struct ShardMergeBatchTests {
    /// The capture's outputs for shards 1/2 and 2/2, written in `folder`.
    static func shards(_ capture: String, in folder: URL, name: String) throws -> [String] {
        var shards: [String] = []
        for index in 0..<2 {
            var set = try CaptureSet(paths: [capture])
            var lines = ""
            let bytes = try #require(FileManager.default.attributesOfItem(atPath: capture)[.size] as? Int)
            _ = try Analysis.shard(&set, shard: FlowShard(index: index, count: 2),
                                   members: [.init(name: (capture as NSString).lastPathComponent, bytes: bytes)],
                                   options: AnalysisOptions(), line: { lines += $0 + "\n" })
            let path = folder.appendingPathComponent("\(name)-\(index).ndjson").path
            try lines.write(toFile: path, atomically: true, encoding: .utf8)
            shards.append(path)
        }
        return shards
    }

    static func mergedAlike(_ capture: String, in folder: URL, name: String) throws -> Bool {
        let shards = try shards(capture, in: folder, name: name)
        let whole = try JSONOutput.encode(Analysis.merge(paths: shards, batch: Int.max), pretty: false)
        let byRecord = try JSONOutput.encode(Analysis.merge(paths: shards, batch: 1), pretty: false)
        return byRecord == whole
    }

    static func folder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("netsift-batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// 40 UDP exchanges (a query and its answer each) from ports 40000–40039, then, 120 s later
    /// (past the 60 s UDP idle limit), one more datagram: the idle sweep ends all 40 at that
    /// frame, in both shards.
    @Test func conversationsEndedAtOneFrameInBothShardsGoOutTogether() throws {
        var bytes = Build.pcapHeader()
        for index in 0..<40 {
            let port = UInt16(40_000 + index)
            let query = Build.ethernet(0x0800, Build.ipv4(0x0A00_0001, 0x0A00_0002, protocol: 17, Build.udp(port, 9000, [1, 2, 3, 4])))
            let answer = Build.ethernet(0x0800, Build.ipv4(0x0A00_0002, 0x0A00_0001, protocol: 17, Build.udp(9000, port, [5, 6, 7, 8])))
            bytes += Build.pcapRecord(query, seconds: 1_700_000_000, microseconds: UInt32(index * 1000))
            bytes += Build.pcapRecord(answer, seconds: 1_700_000_000, microseconds: UInt32(index * 1000 + 500))
        }
        let late = Build.ethernet(0x0800, Build.ipv4(0x0A00_0003, 0x0A00_0002, protocol: 17, Build.udp(50_000, 9000, [9])))
        bytes += Build.pcapRecord(late, seconds: 1_700_000_120)
        let capture = try Build.file(bytes)
        defer { try? FileManager.default.removeItem(at: capture) }
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let shards = try Self.shards(capture.path, in: folder, name: "sweep")
        // Both shards end some of the 40 at the late frame (81): the case a batch could cut in two.
        for shard in shards {
            let text = try String(contentsOfFile: shard, encoding: .utf8)
            #expect(text.split(separator: "\n").filter { $0.contains("\"finished\"") && $0.contains("\"frame\":81") }.count >= 2,
                    "\(shard) ends conversations at the sweep's frame")
        }
        #expect(try Self.mergedAlike(capture.path, in: folder, name: "sweep-merge"))
    }
}
