import Foundation
import Netsift
import NetsiftTestSupport
import Testing

/// Capture loss from what a pcapng file's recorder counted (Interface Statistics Block, RFC draft
/// pcapng §4.6: `isb_ifdrop` code 5, `isb_osdrop` code 7), as the library reads a whole file.
@Suite struct CaptureLossTests {
    func analyse(_ bytes: [UInt8]) throws -> AnalysisReport {
        let url = try Build.file(bytes, suffix: "pcapng")
        defer { try? FileManager.default.removeItem(at: url) }
        return try Analysis.analyze(path: url.path).report
    }

    var conversation: [UInt8] {
        Build.tcpConversation(clientPort: 40_000, serverPort: 80, [(true, Array("GET / HTTP/1.1\r\n\r\n".utf8)),
                                                                 (false, Array("HTTP/1.1 200 OK\r\n\r\n".utf8))])
            .enumerated().flatMap { Build.pcapngPacket($1, ticks: 1_700_000_000_000_000 + UInt64($0) * 1000) }
    }

    @Test func recorderDropsInInterfaceStatisticsAreCaptureLoss() throws {
        let report = try analyse(Build.pcapngSection() + Build.pcapngInterface() + conversation
                                 + Build.pcapngStatistics(droppedByInterface: 7, droppedByOS: 5))
        let loss = try #require(report.findings.first { $0.kind == .captureLoss })
        #expect(loss.facts["interface_drops"] == .int(12))
        #expect(loss.severity == .warning)
        #expect(loss.summary.contains("the recorder counted 12 packets dropped"))
        // The capture's loss is the verdict itself here: nothing else to doubt.
        #expect(report.verdict?.kind == .captureLoss)
        #expect(report.verdictConfidence == .high)
    }

    /// Connections refused while the recorder dropped packets: the verdict stands, its confidence lowered.
    @Test func verdictConfidenceLoweredByRecorderDrops() throws {
        let refused = [Build.tcp(40_001, 81, seq: 1000, flags: Build.syn), Build.tcp(81, 40_001, seq: 0, ack: 1001, flags: Build.rst | Build.ack)]
            .enumerated().map { index, tcp in
                Build.pcapngPacket(Build.ethernet(0x0800, index == 0 ? Build.ipv4(0x0A00_0001, 0x0A00_0002, protocol: 6, tcp)
                                                                     : Build.ipv4(0x0A00_0002, 0x0A00_0001, protocol: 6, tcp)),
                                   ticks: 1_700_000_000_000_000 + UInt64(index))
            }.flatMap { $0 }
        let report = try analyse(Build.pcapngSection() + Build.pcapngInterface() + refused
                                 + Build.pcapngStatistics(droppedByInterface: 3, droppedByOS: 0))
        #expect(report.verdict?.kind == .connectionRefused)
        #expect(report.verdictConfidence == .low)
        #expect(report.verdictCaveat?.contains("capture_loss") == true)
    }

    @Test func statisticsWithoutDropsSayNothing() throws {
        let report = try analyse(Build.pcapngSection() + Build.pcapngInterface() + conversation
                                 + Build.pcapngStatistics(droppedByInterface: 0, droppedByOS: 0))
        #expect(report.findings.first { $0.kind == .captureLoss } == nil)
        #expect(report.verdict == nil && report.verdictConfidence == nil)
    }
}
