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
