import Foundation
import Testing
import NetsiftFlows
import NetsiftReport
import NetsiftTestSupport

/// Findings are about a service (the server's address and port) or a host (an address, for the
/// client side whatever ports it used), one per kind and endpoint; transfers that stop are found
/// whatever the retransmission rate.
@Suite struct GroupingTests {
    /// A classic pcap with each frame at its own time (seconds from 1,700,000,000).
    func timedPcap(_ frames: [(seconds: Double, frame: [UInt8])]) -> [UInt8] {
        var bytes = Build.pcapHeader()
        for (seconds, frame) in frames {
            let whole = UInt32(seconds), micro = UInt32(((seconds - Double(whole)) * 1e6).rounded())
            bytes += Build.pcapRecord(frame, seconds: 1_700_000_000 + whole, microseconds: micro)
        }
        return bytes
    }

    /// One TCP segment of 10.0.0.1:`clientPort` ↔ 10.0.0.2:`serverPort`.
    func segment(_ fromClient: Bool, clientPort: UInt16, serverPort: UInt16 = 80, seq: UInt32, ack: UInt32,
                 flags: UInt8, window: UInt16 = 65_535, payload: Int = 0) -> [UInt8] {
        let bytes = [UInt8](repeating: 0x61, count: payload)
        let tcp = fromClient
            ? Build.tcp(clientPort, serverPort, seq: seq, ack: ack, flags: flags, window: window, bytes)
            : Build.tcp(serverPort, clientPort, seq: seq, ack: ack, flags: flags, window: window, bytes)
        return Build.ethernet(0x0800, fromClient ? Build.ipv4(0x0A00_0001, 0x0A00_0002, protocol: 6, tcp)
                                                 : Build.ipv4(0x0A00_0002, 0x0A00_0001, protocol: 6, tcp))
    }

    @Test func oneClientHostStallingManyConnectionsIsOneFinding() throws {
        // 30 connections from ephemeral ports of 10.0.0.1; in each the client announces a zero window.
        var frames: [(Double, [UInt8])] = []
        for index in 0..<30 {
            let port = UInt16(40_000 + index), t = Double(index)
            let ack = Build.ack, syn = Build.syn, psh = Build.psh
            frames += [
                (t, segment(true, clientPort: port, seq: 1000, ack: 0, flags: syn)),
                (t + 0.001, segment(false, clientPort: port, seq: 5000, ack: 1001, flags: syn | ack)),
                (t + 0.002, segment(true, clientPort: port, seq: 1001, ack: 5001, flags: ack)),
                (t + 0.003, segment(false, clientPort: port, seq: 5001, ack: 1001, flags: psh | ack, payload: 100)),
                (t + 0.004, segment(true, clientPort: port, seq: 1001, ack: 5101, flags: ack, window: 0)),
            ]
        }
        let analysis = try Analysis(timedPcap(frames))
        let zero = analysis.findings.filter { $0.kind == .zeroWindow }
        #expect(zero.count == 1)
        #expect(zero.first?.endpoint == "10.0.0.1")
        #expect(zero.first?.endpointKind == .host)
        #expect(zero.first?.facts["conversations"] == .int(30))
        #expect(zero.first?.summary.contains("30 times in 30 conversations") == true)
        let json = String(decoding: try JSONEncoder().encode(zero.first!), as: UTF8.self)
        #expect(json.contains("\"endpointKind\":\"host\""))
    }

    @Test func endpointKindsFromTheirForm() {
        #expect(EndpointKind(of: "10.0.0.2:443") == .service)
        #expect(EndpointKind(of: "[2001:db8::1]:443") == .service)
        #expect(EndpointKind(of: "10.0.0.1") == .host)
        #expect(EndpointKind(of: "2001:db8::1") == .host)
        #expect(EndpointKind(of: Finding.otherEndpoints) == nil)
    }

    /// An upload whose 152-byte head is acknowledged while the 1448-byte segments after it never
    /// are: the first retransmitted twice by timeout, backing off (1 s, then 2 s), until the end.
    @Test func uploadStalledBehindAnMTUBlackHole() throws {
        let ack = Build.ack, syn = Build.syn, psh = Build.psh, port: UInt16 = 40_100
        let frames: [(Double, [UInt8])] = [
            (0, segment(true, clientPort: port, seq: 1000, ack: 0, flags: syn)),
            (0.001, segment(false, clientPort: port, seq: 5000, ack: 1001, flags: syn | ack)),
            (0.002, segment(true, clientPort: port, seq: 1001, ack: 5001, flags: ack)),
            (0.003, segment(true, clientPort: port, seq: 1001, ack: 5001, flags: psh | ack, payload: 152)),
            (0.004, segment(false, clientPort: port, seq: 5001, ack: 1153, flags: ack)),
            (0.005, segment(true, clientPort: port, seq: 1153, ack: 5001, flags: ack, payload: 1448)),
            (0.006, segment(true, clientPort: port, seq: 2601, ack: 5001, flags: ack, payload: 1448)),
            (1.2, segment(true, clientPort: port, seq: 1153, ack: 5001, flags: ack, payload: 1448)),
            (3.2, segment(true, clientPort: port, seq: 1153, ack: 5001, flags: ack, payload: 1448)),
            (3.5, segment(false, clientPort: port, seq: 5001, ack: 1153, flags: ack)),
        ]
        let analysis = try Analysis(timedPcap(frames))
        let stalled = try #require(analysis.finding(.stalledTransfer))
        #expect(stalled.endpoint == "10.0.0.2:80")
        #expect(stalled.endpointKind == .service)
        #expect(stalled.count == 1)
        #expect(stalled.facts["bytes_outstanding"] == .int(2 * 1448))
        #expect(stalled.facts["most_retransmissions_of_one_segment"] == .int(2))
        #expect(stalled.facts["client_to_server"] == .int(1))
        #expect(stalled.facts["stalled_sender"] == .string("10.0.0.1"))
        // Nothing acknowledged after the head's ACK at 0.004 s, up to the last packet at 3.5 s.
        #expect(stalled.facts["seconds_without_acknowledgment"] == .double(3.496))
        #expect(stalled.frames == [8])
        let hole = try #require(analysis.finding(.mtuBlackHole))
        #expect(hole.endpoint == "10.0.0.1")
        #expect(hole.endpointKind == .host)
        #expect(hole.facts["largest_segment_acknowledged"] == .int(152))
        #expect(hole.facts["smallest_segment_never_acknowledged"] == .int(1448))
        #expect(hole.facts["oversize_timeout_retransmissions"] == .int(2))
        #expect(analysis.report.verdict?.kind == .mtuBlackHole)
    }

    /// Retransmissions in a capture that itself misses data: the finding says the loss may be the
    /// recorder's.
    @Test func retransmissionsInALossyCaptureAreDoubted() throws {
        let ack = Build.ack, syn = Build.syn, port: UInt16 = 40_300
        var frames: [(Double, [UInt8])] = [
            (0, segment(true, clientPort: port, seq: 1000, ack: 0, flags: syn)),
            (0.001, segment(false, clientPort: port, seq: 5000, ack: 1001, flags: syn | ack)),
            (0.002, segment(true, clientPort: port, seq: 1001, ack: 5001, flags: ack)),
        ]
        // Ten 100-byte segments, the third missing from the capture, all acknowledged; then the
        // last one sent again three times.
        for index in 0..<10 where index != 2 {
            frames.append((0.01 + Double(index) * 0.01,
                           segment(true, clientPort: port, seq: 1001 + UInt32(index) * 100, ack: 5001, flags: ack, payload: 100)))
        }
        frames.append((0.2, segment(false, clientPort: port, seq: 5001, ack: 2001, flags: ack)))
        for again in 0..<3 {
            frames.append((0.5 + Double(again), segment(true, clientPort: port, seq: 1901, ack: 5001, flags: ack, payload: 100)))
        }
        let analysis = try Analysis(timedPcap(frames))
        let loss = try #require(analysis.finding(.captureLoss))
        #expect(loss.facts["bytes_missing"] == .int(100))
        #expect(loss.facts["previous_segment_not_captured"] == .int(1))
        #expect(loss.severity == .warning)
        let retransmissions = try #require(analysis.finding(.retransmissions))
        #expect(retransmissions.facts["capture_loss"] == .string("significant"))
        #expect(retransmissions.likelyCause.hasPrefix("The capture itself misses packets"))
        #expect(analysis.report.verdictConfidence == .low)
    }

    @Test func aTransferThatResumesIsNotStalled() throws {
        let ack = Build.ack, syn = Build.syn, psh = Build.psh, port: UInt16 = 40_200
        let frames: [(Double, [UInt8])] = [
            (0, segment(true, clientPort: port, seq: 1000, ack: 0, flags: syn)),
            (0.001, segment(false, clientPort: port, seq: 5000, ack: 1001, flags: syn | ack)),
            (0.002, segment(true, clientPort: port, seq: 1001, ack: 5001, flags: ack)),
            (0.003, segment(true, clientPort: port, seq: 1001, ack: 5001, flags: psh | ack, payload: 500)),
            (1.0, segment(true, clientPort: port, seq: 1001, ack: 5001, flags: psh | ack, payload: 500)),
            (3.0, segment(true, clientPort: port, seq: 1001, ack: 5001, flags: psh | ack, payload: 500)),
            (3.1, segment(false, clientPort: port, seq: 5001, ack: 1501, flags: ack)),
        ]
        let analysis = try Analysis(timedPcap(frames))
        #expect(analysis.finding(.stalledTransfer) == nil)
        #expect(analysis.finding(.mtuBlackHole) == nil)
    }
}
