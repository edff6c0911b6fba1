import Foundation
import Testing
import NetsiftTestSupport

/// Every command on captures built to break it: each must finish with its documented exit status
/// and output, never a trap.
@Suite struct HostileCLITests {
    /// Found by fuzzing (capture target; the CLI's share checked here): timestamps at both ends of
    /// Int64, which pcapng's `if_tsoffset` allows. Formatting a time near Int64.min as UTC
    /// overflowed (`nanoseconds - 999_999_999`), so `info` and `packets` trapped, and the flow
    /// sweep under every command that follows flows did too.
    @Test func timestampsAtBothEndsOfInt64() throws {
        // Interface 0 adds 9,223,372,035 s to its timestamps (near Int64.max ns), interface 1
        // subtracts 9,223,372,036 s (near Int64.min ns); packets alternate between them.
        var bytes = Build.pcapngSection() + Build.pcapngInterface(timestampOffsetSeconds: 9_223_372_035)
            + Build.pcapngInterface(timestampOffsetSeconds: -9_223_372_036)
        let frames = Build.tcpConversation(clientPort: 40000, serverPort: 80, [(true, Array("GET /".utf8))])
        for (index, frame) in frames.enumerated() {
            bytes += Build.pcapngPacket(frame, interface: UInt32(index % 2), ticks: UInt64(index))
        }
        let url = try Build.file(bytes, suffix: "pcapng")
        defer { try? FileManager.default.removeItem(at: url) }
        for command in [["info"], ["info", "--json"], ["packets"], ["packets", "--json"], ["flows"],
                        ["flows", "--format", "csv"], ["flows", "--format", "json"], ["analyze"],
                        ["analyze", "--format", "json"]] {
            let result = try CLI.run(command + [url.path])
            #expect(result.status == 0, "\(command): \(result.stderr)")
            #expect(!result.stdout.isEmpty, "\(command)")
        }
        // Int64 nanoseconds since 1970 span 1677-09-21 00:12:43.145 to 2262-04-11 23:47:16.854 UTC
        // (the bounds pandas documents for its Timestamp): 9,223,372,036 s before the epoch is
        // 0.854… s after the first, 9,223,372,035 s after it 1.854… s before the last.
        let info = try CLI.run(["info", url.path]).stdout
        #expect(info.contains("1677-09-21 00:12:44"), "\(info)")
        #expect(info.contains("2262-04-11 23:47:15"), "\(info)")
    }
}

extension HostileCLITests {
    /// The fragment reassembly's limits are flags on every command that reassembles, and
    /// reaching one is a fragment_limit finding: three first fragments of distinct datagrams
    /// (identifications 1, 2, 3; more to come, never coming) with one datagram allowed in flight
    /// evict two.
    @Test func fragmentLimitFlags() throws {
        var bytes = Build.pcapHeader()
        for id: UInt16 in 1...3 {
            let fragment = Build.ipv4(0x0A00_0001, 0x0A00_0002, protocol: 17, identification: id, moreFragments: true,
                                      [UInt8](repeating: 0, count: 8))
            bytes += Build.pcapRecord(Build.ethernet(0x0800, fragment), seconds: 1_700_000_000)
        }
        let url = try Build.file(bytes)
        defer { try? FileManager.default.removeItem(at: url) }
        func findings(_ flags: [String]) throws -> [[String: Any]] {
            let result = try CLI.run(["analyze", "--format", "json"] + flags + [url.path])
            let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            return report?["findings"] as? [[String: Any]] ?? []
        }
        #expect(try findings([]).isEmpty)
        let limited = try findings(["--max-fragmented-datagrams", "1"])
        let limit = limited.first { $0["kind"] as? String == "fragment_limit" }
        #expect((limit?["facts"] as? [String: Any])?["datagrams_evicted"] as? Int == 2)
        #expect(try CLI.run(["analyze", "--max-fragmented-datagrams", "0", url.path]).status == 64)
        #expect(try CLI.run(["flows", "--max-fragments", "9000", url.path]).status == 64)
    }
}
